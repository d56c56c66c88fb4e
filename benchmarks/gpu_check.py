"""Check the torch runtime on a real CUDA device; prints one line per check.

Run from the repository root on a GPU machine:

    python benchmarks/gpu_check.py

Exit status: 0 when every check passes, 1 when one fails, 2 when there is no CUDA device.
The first checks are the ``cuda``-marked tests of tests/test_torch_runtime.py; the last fits
a model with Lightning on the GPU (bf16 autocast, 'ddp' over nccl with one rank), driven
only by the runtime's objects, and checks the ranks agree through an nccl collective.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from ptycho_config._schemas.sections import ExecutionConfig, TrainingConfig
from ptycho_config._torch.runtime import TorchRuntime, build_torch_runtime
from ptycho_config.distributed import _all_digests, verify_consistent


@dataclass(frozen=True)
class Payload:
    training_config: TrainingConfig
    execution_config: ExecutionConfig


def runtime(**execution: Any) -> TorchRuntime:
    return build_torch_runtime(Payload(TrainingConfig(), ExecutionConfig(**execution)))


def linear(device: torch.device | str = "cpu") -> torch.nn.Linear:
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2).to(device)


def auto_selects_cuda() -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rt = runtime(accelerator="auto")
    assert rt.device.type == "cuda", rt.device
    assert rt.trainer_kwargs["accelerator"] == "cuda", rt.trainer_kwargs
    return f"device {rt.device}, {torch.cuda.get_device_name()}"


def bf16_autocast() -> str:
    rt = runtime(accelerator="cuda", precision="bf16-mixed")
    model = linear(rt.device)
    with torch.autocast(device_type="cuda", dtype=rt.autocast_dtype):
        out = model(torch.ones(4, 3, device=rt.device))
    assert out.dtype == torch.bfloat16, out.dtype
    assert model.weight.dtype == rt.dtype == torch.float32, model.weight.dtype
    return f"output {out.dtype}, parameters {model.weight.dtype}"


def pinned_loader() -> str:
    rt = runtime(accelerator="cuda", pin_memory=True, num_workers=2, prefetch_factor=2)
    assert rt.dataloader_kwargs["pin_memory"] is True, rt.dataloader_kwargs
    dataset = torch.utils.data.TensorDataset(torch.arange(64.0))
    loader = torch.utils.data.DataLoader(dataset, shuffle=True, **rt.dataloader_kwargs)
    total = 0.0
    for (batch,) in loader:
        assert batch.is_pinned()
        total += float(batch.to(rt.device, non_blocking=True).sum())
    assert total == float(torch.arange(64.0).sum()), total
    return f"{len(loader)} pinned batches of {rt.dataloader_kwargs['batch_size']}"


def optimizer_step_matches_cpu() -> str:
    rt = runtime(accelerator="cuda", learning_rate=0.01)
    models = {"cpu": linear("cpu"), "cuda": linear(rt.device)}
    for device, model in models.items():
        optimizer = rt.make_optimizer(model.parameters())
        model(torch.ones(4, 3, device=device)).pow(2).sum().backward()
        optimizer.step()
    difference = float((models["cpu"].weight - models["cuda"].weight.cpu()).detach().abs().max())
    assert difference < 1e-6, difference
    return f"max weight difference {difference:.1e}"


def lightning_fit_bf16_nccl() -> str:
    import lightning  # the dev extra has it; a missing Lightning fails this check only
    import torch.distributed as dist

    with tempfile.TemporaryDirectory() as output:
        payload = Payload(
            TrainingConfig(nepochs=1, batch_size=8, output_dir=Path(output)),
            ExecutionConfig(
                accelerator="cuda",
                precision="bf16-mixed",
                strategy="ddp",
                devices=1,
                seed=0,
                scheduler="Exponential",
                logger_backend=None,
                enable_checkpointing=False,
            ),
        )
        rt = build_torch_runtime(payload, seed_globally=True)
        seen: dict[str, Any] = {}

        class Tiny(lightning.LightningModule):
            def __init__(self) -> None:
                super().__init__()
                self.layer = torch.nn.Linear(2, 1)

            def setup(self, stage: str) -> None:
                seen["backend"] = dist.get_backend()
                seen["fingerprint"] = verify_consistent(payload)
                # one rank skips the comparison; run its collective on nccl all the same
                seen["digests"] = _all_digests(seen["fingerprint"], None)

            def training_step(self, batch: Any, index: int) -> torch.Tensor:
                inputs, targets = batch
                out = self.layer(inputs)
                seen["output"] = (out.dtype, out.device.type)
                return torch.nn.functional.mse_loss(out.float(), targets)

            def configure_optimizers(self) -> Any:
                return rt.configure_optimizers(self.parameters())

            def train_dataloader(self) -> torch.utils.data.DataLoader[Any]:
                inputs = torch.linspace(-1, 1, 64).reshape(32, 2)
                dataset = torch.utils.data.TensorDataset(inputs, inputs.sum(1, keepdim=True))
                return torch.utils.data.DataLoader(dataset, shuffle=True, **rt.dataloader_kwargs)

        trainer = lightning.Trainer(**rt.trainer_kwargs)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Lightning's advice for a tiny run
                trainer.fit(Tiny())
        finally:
            if dist.is_initialized():
                dist.destroy_process_group()
    assert trainer.current_epoch == 1, trainer.current_epoch
    assert seen["backend"] == "nccl", seen
    assert seen["output"] == (torch.bfloat16, "cuda"), seen
    assert seen["digests"] == [hashlib.sha256(seen["fingerprint"].encode()).digest()], seen
    return f"1 epoch, {seen['backend']}, output {seen['output'][0]} on {seen['output'][1]}"


CHECKS: dict[str, Callable[[], str]] = {
    "accelerator 'auto' resolves to cuda": auto_selects_cuda,
    "bf16-mixed autocast on the GPU": bf16_autocast,
    "pinned-memory DataLoader": pinned_loader,
    "optimizer step on the GPU equals the CPU's": optimizer_step_matches_cpu,
    "Lightning fit: bf16 autocast, ddp over nccl, ranks verified": lightning_fit_bf16_nccl,
}


def main() -> int:
    if not torch.cuda.is_available():
        print(f"skip: no CUDA device (torch {torch.__version__})")
        return 2
    failed = 0
    for name, check in CHECKS.items():
        start = time.perf_counter()
        try:
            detail = check()
        except Exception as error:  # report every check, whatever breaks
            failed += 1
            print(f"FAIL {name}: {type(error).__name__}: {error}")
        else:
            print(f"ok   {name}: {detail} ({time.perf_counter() - start:.2f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
