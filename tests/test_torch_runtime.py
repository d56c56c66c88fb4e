"""The torch runtime: every torch object is built on the CPU and used for real."""

from __future__ import annotations

import math
import pickle
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from ptycho_config import ExecutionConfig, InferenceConfig, TrainingConfig
from ptycho_config._merge.accelerator import resolve_accelerator
from ptycho_config._merge.resolve import resolve_inference, resolve_training
from ptycho_config._torch.runtime import TorchRuntime, WarmupCosine, build_torch_runtime
from ptycho_config.testing import execution_configs, training_configs

torch = pytest.importorskip("torch")

HAS_CUDA = torch.cuda.is_available()
needs_no_cuda = pytest.mark.skipif(HAS_CUDA, reason="checks the CPU fallback of a CUDA-less host")


@dataclass(frozen=True)
class TrainingPayload:
    training_config: TrainingConfig
    execution_config: ExecutionConfig


@dataclass(frozen=True)
class InferencePayload:
    inference_config: InferenceConfig
    execution_config: ExecutionConfig


def runtime(training: TrainingConfig | None = None, **execution: Any) -> TorchRuntime:
    """A training runtime on the CPU unless the execution fields say otherwise."""
    execution.setdefault("accelerator", "cpu")
    payload = TrainingPayload(training or TrainingConfig(), ExecutionConfig(**execution))
    return build_torch_runtime(payload)


def inference_runtime(**execution: Any) -> TorchRuntime:
    execution.setdefault("accelerator", "cpu")
    config = InferenceConfig(model_path=Path("model"), test_data_file=Path("test.npz"))
    return build_torch_runtime(InferencePayload(config, ExecutionConfig(**execution)))


def linear(seed: int = 0) -> Any:
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 2)


def one_step(optimizer: Any, model: Any) -> None:
    optimizer.zero_grad()
    model(torch.ones(4, 3)).pow(2).sum().backward()
    optimizer.step()


def lr_sequence(rt: TorchRuntime, epochs: int, metrics: list[float] | None = None) -> list[float]:
    """The learning rate in force at each epoch, stepping the scheduler once per epoch."""
    optimizer = rt.make_optimizer(linear().parameters())
    scheduler = rt.make_scheduler(optimizer)
    rates = []
    for epoch in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
    return rates


@pytest.fixture(autouse=True)
def _restore_global_rng() -> Any:
    """Tests seed torch's global RNG; give the next test the state it had before."""
    with torch.random.fork_rng(devices=[]):
        yield


class TestDevice:
    @pytest.mark.parametrize(
        ("accelerator", "device"),
        [("cpu", "cpu"), ("gpu", "cuda"), ("cuda", "cuda"), ("mps", "mps")],
    )
    def test_accelerator_names_the_device(self, accelerator: str, device: str) -> None:
        """'gpu' and 'cuda' both mean a CUDA device; 'cpu' and 'mps' name theirs."""
        assert torch.device(device) == runtime(accelerator=accelerator).device

    @needs_no_cuda
    def test_auto_falls_back_to_cpu_with_a_warning(self) -> None:
        """Without a CUDA device 'auto' runs on the CPU and says why."""
        with pytest.warns(UserWarning, match="No CUDA device detected"):
            rt = runtime(accelerator="auto")
        assert torch.device("cpu") == rt.device
        assert rt.trainer_kwargs["accelerator"] == "cpu"


class TestResolveAccelerator:
    @pytest.mark.parametrize("accelerator", ["cpu", "gpu", "cuda", "mps"])
    def test_explicit_accelerator_passes_through(self, accelerator: str) -> None:
        """A non-'auto' accelerator is returned as the same object, for either backend."""
        execution = ExecutionConfig(accelerator=accelerator)
        assert resolve_accelerator(execution, "pytorch") is execution
        assert resolve_accelerator(execution, "tensorflow") is execution

    @needs_no_cuda
    def test_auto_becomes_cpu_and_keeps_the_callers_fields(self) -> None:
        """'auto' becomes 'cpu'; the other fields and the set of explicit fields are kept."""
        execution = ExecutionConfig(seed=3, num_workers=2)
        with pytest.warns(UserWarning, match="POLICY-001.*No CUDA device detected"):
            resolved = resolve_accelerator(execution, "pytorch")
        assert resolved.accelerator == "cpu"
        assert execution.model_dump() | {"accelerator": "cpu"} == resolved.model_dump()
        assert {"seed", "num_workers"} == resolved.model_fields_set

    @needs_no_cuda
    def test_explicit_auto_stays_explicit(self) -> None:
        """An accelerator the caller set to 'auto' is still counted as set after resolution."""
        with pytest.warns(UserWarning, match="No CUDA device detected"):
            resolved = resolve_accelerator(ExecutionConfig(accelerator="auto"), "pytorch")
        assert {"accelerator"} == resolved.model_fields_set

    def test_without_torch_tensorflow_gets_cpu_silently(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With torch unimportable, the TensorFlow backend resolves 'auto' to 'cpu' silently."""
        monkeypatch.setitem(sys.modules, "torch", None)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert resolve_accelerator(ExecutionConfig(), "tensorflow").accelerator == "cpu"

    def test_without_torch_pytorch_is_an_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With torch unimportable, the PyTorch backend cannot resolve 'auto' and says why."""
        monkeypatch.setitem(sys.modules, "torch", None)
        with pytest.raises(RuntimeError, match=r"pip install torch>=2\.2"):
            resolve_accelerator(ExecutionConfig(), "pytorch")

    def test_without_torch_building_a_runtime_is_an_error(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With torch unimportable, build_torch_runtime names the backend and the install."""
        monkeypatch.setitem(sys.modules, "torch", None)
        with pytest.raises(RuntimeError, match="PyTorch backend selected"):
            runtime()


class TestPrecision:
    @pytest.mark.parametrize(
        ("precision", "autocast"),
        [("32-true", None), ("16-mixed", "float16"), ("bf16-mixed", "bfloat16")],
    )
    def test_parameters_stay_float32(self, precision: str, autocast: str | None) -> None:
        """Parameters are float32 in every mode; autocast is None only for '32-true'."""
        rt = runtime(precision=precision)
        expected = getattr(torch, autocast) if autocast else None
        assert (torch.float32, expected) == (rt.dtype, rt.autocast_dtype)

    def test_bf16_autocast_runs_on_the_cpu(self) -> None:
        """A linear layer under the runtime's autocast computes in bfloat16."""
        rt = runtime(precision="bf16-mixed")
        model = linear().to(device=rt.device, dtype=rt.dtype)
        with torch.autocast(device_type=rt.device.type, dtype=rt.autocast_dtype):
            out = model(torch.ones(4, 3))
        assert torch.bfloat16 == out.dtype


class TestGenerator:
    def test_same_seed_gives_the_same_draws(self) -> None:
        """Two runtimes with one seed draw the same numbers; another seed draws others."""
        first = torch.rand(5, generator=runtime(seed=7).generator)
        second = torch.rand(5, generator=runtime(seed=7).generator)
        other = torch.rand(5, generator=runtime(seed=8).generator)
        assert torch.equal(first, second)
        assert not torch.equal(first, other)

    def test_unseeded_run_records_its_seed(self) -> None:
        """Without a seed the generator is seeded at random, and that seed replays its draws."""
        rt = runtime()
        replay = torch.Generator().manual_seed(rt.seed)
        assert torch.equal(torch.rand(5, generator=replay), torch.rand(5, generator=rt.generator))

    def test_global_rng_untouched_by_default(self) -> None:
        """Building a runtime leaves torch's global RNG state alone unless asked."""
        torch.manual_seed(123)
        before = torch.get_rng_state()
        runtime(seed=7)
        assert torch.equal(before, torch.get_rng_state())

    def test_seed_globally_seeds_torch(self) -> None:
        """seed_globally=True applies torch.manual_seed with the run's seed."""
        payload = TrainingPayload(TrainingConfig(), ExecutionConfig(accelerator="cpu", seed=7))
        build_torch_runtime(payload, seed_globally=True)
        drawn = torch.rand(3)
        torch.manual_seed(7)
        assert torch.equal(torch.rand(3), drawn)


class TestOptimizer:
    def test_sgd_step_matches_the_hand_computation(self) -> None:
        """Nesterov SGD's first step is w - lr·(1 + momentum)·(grad + weight_decay·w)."""
        training = TrainingConfig(optimizer="sgd", momentum=0.5, weight_decay=0.1)
        model = linear()
        optimizer = runtime(training, learning_rate=0.05).make_optimizer(model.parameters())
        start = model.weight.detach().clone()
        one_step(optimizer, model)
        grad = model.weight.grad + 0.1 * start
        assert torch.allclose(start - 0.05 * 1.5 * grad, model.weight.detach())

    @pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.3, True)])
    def test_sgd_is_nesterov_exactly_when_momentum_is_positive(
        self, momentum: float, nesterov: bool
    ) -> None:
        """SGD uses Nesterov momentum whenever momentum > 0, as the backend does."""
        training = TrainingConfig(optimizer="sgd", momentum=momentum)
        optimizer = runtime(training).make_optimizer(linear().parameters())
        assert nesterov == optimizer.param_groups[0]["nesterov"]

    @pytest.mark.parametrize("name", ["adam", "adamw"])
    def test_adam_first_step_matches_the_hand_computation(self, name: str) -> None:
        """Adam folds weight decay into the gradient; AdamW decays the weights directly."""
        training = TrainingConfig(optimizer=name, weight_decay=0.1)
        model = linear()
        optimizer = runtime(training, learning_rate=0.01).make_optimizer(model.parameters())
        w = model.weight.detach().clone()
        one_step(optimizer, model)
        g = model.weight.grad
        if name == "adam":
            g = g + 0.1 * w
            expected = w - 0.01 * g / (g.abs() + 1e-8)
        else:
            expected = w * (1 - 0.01 * 0.1) - 0.01 * g / (g.abs() + 1e-8)
        assert torch.allclose(expected, model.weight.detach())

    @pytest.mark.parametrize(
        ("name", "reference"),
        [
            ("adam", lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.95), weight_decay=0.01)),
            (
                "adamw",
                lambda p: torch.optim.AdamW(p, lr=0.02, betas=(0.8, 0.95), weight_decay=0.01),
            ),
            (
                "sgd",
                lambda p: torch.optim.SGD(
                    p, lr=0.02, momentum=0.3, weight_decay=0.01, nesterov=True
                ),
            ),
        ],
    )
    def test_three_steps_match_a_reference_optimizer(self, name: str, reference: Any) -> None:
        """Over three steps the weights follow torch's optimiser built with the config's values."""
        training = TrainingConfig(
            optimizer=name, adam_beta1=0.8, adam_beta2=0.95, momentum=0.3, weight_decay=0.01
        )
        ours, theirs = linear(), linear()
        optimizer = runtime(training, learning_rate=0.02).make_optimizer(ours.parameters())
        reference_optimizer = reference(theirs.parameters())
        for _ in range(3):
            one_step(optimizer, ours)
            one_step(reference_optimizer, theirs)
        assert torch.equal(theirs.weight, ours.weight)
        assert torch.equal(theirs.bias, ours.bias)


class TestScheduler:
    def test_default_has_no_scheduler(self) -> None:
        """'Default' in both configs means a constant learning rate: no scheduler."""
        rt = runtime()
        assert rt.make_scheduler(rt.make_optimizer(linear().parameters())) is None

    def test_exponential_multiplies_by_gamma_each_epoch(self) -> None:
        """'Exponential' multiplies the rate by 0.95 every epoch."""
        rt = runtime(TrainingConfig(scheduler="Exponential"), learning_rate=0.1)
        expected = [0.1 * 0.95**e for e in range(5)]
        assert pytest.approx(expected) == lr_sequence(rt, 5)

    def test_warmup_cosine_ramps_up_then_decays_to_the_floor(self) -> None:
        """Two warm-up epochs from 0.1x, then cosine decay reaching lr_min_ratio at nepochs."""
        training = TrainingConfig(
            scheduler="WarmupCosine", nepochs=6, lr_warmup_epochs=2, lr_min_ratio=0.1
        )
        cosine = [0.1 + 0.9 * (1 + math.cos(math.pi * p)) / 2 for p in (0, 0.25, 0.5, 0.75, 1)]
        expected = [0.1, 0.55, *cosine, 0.1]
        assert pytest.approx(expected) == lr_sequence(runtime(training, learning_rate=1.0), 8)

    def test_warmup_cosine_factor_values(self) -> None:
        """The factor at epochs 0..7 of a 6-epoch run with 2 warm-up epochs, held past the end."""
        expected = [0.1, 0.55, 1.0, 0.868198, 0.55, 0.231802, 0.1, 0.1]
        factor = WarmupCosine(warmup=2, epochs=6, min_ratio=0.1)
        assert pytest.approx(expected, abs=1e-6) == [factor(e) for e in range(8)]

    def test_warmup_cosine_state_survives_a_checkpoint(self) -> None:
        """The schedule pickles and its state_dict reloads into a fresh scheduler."""
        rt = runtime(TrainingConfig(scheduler="WarmupCosine", nepochs=6, lr_warmup_epochs=2))
        optimizer = rt.make_optimizer(linear().parameters())
        scheduler = rt.make_scheduler(optimizer)
        for _ in range(3):
            optimizer.step()
            scheduler.step()
        fresh = rt.make_scheduler(rt.make_optimizer(linear().parameters()))
        fresh.load_state_dict(pickle.loads(pickle.dumps(scheduler.state_dict())))
        assert scheduler.last_epoch == fresh.last_epoch == 3

    @pytest.mark.parametrize("name", ["MultiStage", "Adaptive"])
    def test_multistage_and_adaptive_keep_the_rate_constant(self, name: str) -> None:
        """MultiStage and Adaptive give no scheduler, with the backend's warning."""
        rt = runtime(TrainingConfig(scheduler=name), learning_rate=1.0)
        optimizer = rt.make_optimizer(linear().parameters())
        with pytest.warns(UserWarning, match="no longer supported in single-loss mode"):
            assert rt.make_scheduler(optimizer) is None

    def test_plateau_uses_the_plateau_fields(self) -> None:
        """A flat loss multiplies the rate by plateau_factor once plateau_patience runs out."""
        training = TrainingConfig(
            scheduler="ReduceLROnPlateau", plateau_factor=0.5, plateau_patience=2
        )
        rt = runtime(training, learning_rate=1.0)
        expected = [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
        assert pytest.approx(expected) == lr_sequence(rt, 8, metrics=[1.0] * 8)

    def test_plateau_minimises_whatever_the_checkpoint_mode(self) -> None:
        """The plateau scheduler watches the validation loss: mode 'min' even if checkpoints max."""
        training = TrainingConfig(scheduler="ReduceLROnPlateau", plateau_patience=0)
        rt = runtime(training, learning_rate=1.0, checkpoint_mode="max")
        scheduler = rt.make_scheduler(rt.make_optimizer(linear().parameters()))
        assert "min" == scheduler.mode

    def test_execution_scheduler_overrides_training(self) -> None:
        """An execution scheduler other than 'Default' replaces the training one."""
        rt = runtime(TrainingConfig(scheduler="Exponential"), scheduler="WarmupCosine")
        scheduler = rt.make_scheduler(rt.make_optimizer(linear().parameters()))
        assert isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR)


class TestDataLoader:
    def test_main_process_loader_iterates_in_batches(self) -> None:
        """Without workers the kwargs carry no worker options and the loader yields batches."""
        rt = runtime(TrainingConfig(batch_size=4))
        assert {"batch_size", "num_workers", "pin_memory", "generator"} == set(rt.dataloader_kwargs)
        dataset = torch.utils.data.TensorDataset(torch.arange(10.0))
        sizes = [len(b[0]) for b in torch.utils.data.DataLoader(dataset, **rt.dataloader_kwargs)]
        assert sizes == [4, 4, 2]

    def test_pin_memory_is_dropped_on_the_cpu(self) -> None:
        """Pinning only helps copies to a GPU, so a CPU runtime does not ask for it."""
        assert runtime(pin_memory=True).dataloader_kwargs["pin_memory"] is False

    def test_same_seed_shuffles_the_same_way(self) -> None:
        """The loader's generator makes the shuffled order a function of the seed."""
        dataset = torch.utils.data.TensorDataset(torch.arange(16))

        def order(seed: int) -> list[int]:
            kwargs = runtime(seed=seed).dataloader_kwargs
            loader = torch.utils.data.DataLoader(dataset, shuffle=True, **kwargs)
            return [int(x) for batch in loader for x in batch[0]]

        assert order(5) == order(5)
        assert sorted(order(5)) == list(range(16))
        assert order(5) != order(6)

    def test_worker_options_are_passed_with_workers(self) -> None:
        """With a worker, persistent_workers and prefetch_factor reach the DataLoader."""
        rt = runtime(num_workers=1, persistent_workers=True, prefetch_factor=3)
        kwargs = rt.dataloader_kwargs
        assert (
            kwargs["num_workers"],
            kwargs["persistent_workers"],
            kwargs["prefetch_factor"],
        ) == (1, True, 3)
        dataset = torch.utils.data.TensorDataset(torch.arange(40.0))
        loader = torch.utils.data.DataLoader(dataset, **kwargs)
        assert sum(len(b[0]) for b in loader) == 40

    def test_inference_loader_uses_the_inference_batch_size(self) -> None:
        """An inference runtime batches by inference_batch_size."""
        assert inference_runtime(inference_batch_size=64).dataloader_kwargs["batch_size"] == 64


class TestLightningKwargs:
    def test_training_trainer_kwargs(self) -> None:
        """Every Trainer argument of a training run, from the execution and training configs."""
        training = TrainingConfig(nepochs=12, output_dir=Path("runs/a"))
        rt = runtime(
            training,
            devices=2,
            strategy="ddp",
            deterministic="warn",
            precision="bf16-mixed",
            gradient_clip_val=0.5,
            gradient_clip_algorithm="value",
            accum_steps=3,
            enable_progress_bar=True,
            logger_backend="tensorboard",
        )
        expected = {
            "accelerator": "cpu",
            "devices": 2,
            "strategy": "ddp",
            "deterministic": "warn",
            "precision": "bf16-mixed",
            "enable_progress_bar": True,
            "enable_checkpointing": True,
            "logger": True,
            "max_epochs": 12,
            "gradient_clip_val": 0.5,
            "gradient_clip_algorithm": "value",
            "accumulate_grad_batches": 3,
            "default_root_dir": str(Path("runs/a")),
        }
        assert expected == rt.trainer_kwargs
        assert rt.logger_backend == "tensorboard"

    def test_no_logger(self) -> None:
        """logger_backend None turns Lightning's logger off."""
        rt = runtime(logger_backend=None)
        assert (rt.trainer_kwargs["logger"], rt.logger_backend) == (False, None)

    def test_checkpoint_and_early_stopping_kwargs(self) -> None:
        """ModelCheckpoint and EarlyStopping share the monitored metric and its direction."""
        rt = runtime(
            checkpoint_monitor_metric="train_loss",
            checkpoint_mode="max",
            checkpoint_save_top_k=-1,
            early_stop_patience=7,
        )
        assert rt.checkpoint_kwargs == {"monitor": "train_loss", "mode": "max", "save_top_k": -1}
        assert rt.early_stopping_kwargs == {"monitor": "train_loss", "mode": "max", "patience": 7}

    def test_inference_runtime_has_no_training_parts(self) -> None:
        """An inference runtime has no training config, max_epochs or optimizer."""
        rt = inference_runtime()
        assert rt.training is None
        assert "max_epochs" not in rt.trainer_kwargs
        assert rt.trainer_kwargs["enable_checkpointing"] is False
        with pytest.raises(ValueError, match="inference runtime"):
            rt.make_optimizer(linear().parameters())


class TestPayloads:
    def test_a_resolved_training_configuration_is_a_payload(self) -> None:
        """The resolver's result builds a runtime directly."""
        resolved = resolve_training(
            {"n_groups": 8, "nepochs": 3}, ExecutionConfig(accelerator="cpu"), environ={}
        )
        assert build_torch_runtime(resolved).trainer_kwargs["max_epochs"] == 3

    def test_a_resolved_inference_configuration_is_a_payload(self) -> None:
        """An inference resolution builds an inference runtime."""
        overrides = {"model_path": "m", "test_data_file": "t.npz", "accelerator": "cpu"}
        assert build_torch_runtime(resolve_inference(overrides, environ={})).training is None

    def test_an_object_without_configs_is_rejected(self) -> None:
        """A payload needs a training_config or an inference_config."""

        @dataclass
        class Bare:
            execution_config: ExecutionConfig

        with pytest.raises(TypeError, match="neither a training_config nor an inference_config"):
            build_torch_runtime(Bare(ExecutionConfig()))


class TestRuntimeProperties:
    @given(training=training_configs(), execution=execution_configs())
    def test_every_valid_configuration_builds(
        self, training: TrainingConfig, execution: ExecutionConfig
    ) -> None:
        """Every valid pair builds a runtime whose kwargs follow the configs."""
        execution = execution.model_copy(update={"accelerator": "cpu"})
        rt = build_torch_runtime(TrainingPayload(training, execution))
        expected = {
            "max_epochs": training.nepochs,
            "accumulate_grad_batches": execution.accum_steps,
            "precision": execution.precision,
        }
        assert expected == {k: rt.trainer_kwargs[k] for k in expected}
        assert training.batch_size == rt.dataloader_kwargs["batch_size"]
        assert ("prefetch_factor" in rt.dataloader_kwargs) == (
            execution.prefetch_factor is not None
        )


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
class TestCuda:
    def test_auto_selects_cuda_silently(self) -> None:
        """On a CUDA host 'auto' resolves to the GPU with no warning."""
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            rt = runtime(accelerator="auto")
        assert rt.device.type == "cuda"

    def test_bf16_autocast_on_the_gpu(self) -> None:
        """A linear layer under the runtime's bf16 autocast computes in bfloat16 on the GPU."""
        rt = runtime(accelerator="cuda", precision="bf16-mixed")
        model = linear().to(rt.device)
        with torch.autocast(device_type="cuda", dtype=rt.autocast_dtype):
            out = model(torch.ones(4, 3, device=rt.device))
        assert torch.bfloat16 == out.dtype

    def test_pinned_memory_loader(self) -> None:
        """With pin_memory the loader yields pinned host tensors."""
        rt = runtime(accelerator="cuda", pin_memory=True)
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(torch.arange(8.0)), **rt.dataloader_kwargs
        )
        assert all(batch[0].is_pinned() for batch in loader)

    def test_optimizer_step_on_the_gpu_matches_the_cpu(self) -> None:
        """One Adam step on the GPU gives the CPU's weights."""
        rt = runtime(accelerator="cuda", learning_rate=0.01)
        cpu, gpu = linear(), linear().to(rt.device)
        one_step(torch.optim.Adam(cpu.parameters(), lr=0.01), cpu)
        optimizer = rt.make_optimizer(gpu.parameters())
        optimizer.zero_grad()
        gpu(torch.ones(4, 3, device=rt.device)).pow(2).sum().backward()
        optimizer.step()
        assert torch.allclose(cpu.weight, gpu.weight.cpu(), atol=1e-6)


class TestFromFactoryPayloads:
    """Runtimes of payloads and resolutions follow every value they were resolved with."""

    def test_torch_section_of_a_resolution_reaches_the_inference_config(self) -> None:
        """A resolution's torch knobs reach the runtime's inference config."""
        resolved = resolve_inference(
            {"model_path": "/m", "test_data_file": "/t.npz", "accelerator": "cpu",
             "torch.patch_weighting": "uniform", "torch.varpro_scaling": False},
            environ={},
        )  # fmt: skip
        runtime = build_torch_runtime(resolved)
        assert ("uniform", False) == (
            runtime.inference.patch_weighting,
            runtime.inference.varpro_scaling,
        )

    def test_tensorflow_payload_asks_torch_for_the_device(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """'auto' of a TensorFlow-backend payload (set to 'cpu' without asking torch) is
        resolved again by the runtime, which uses torch: a CUDA host gets CUDA."""
        from ptycho_config import create_training_payload
        from tests.conftest import write_npz

        payload = create_training_payload(
            write_npz(tmp_path / "d.npz"), tmp_path / "o", {"n_groups": 8}, environ={}
        )
        assert "cpu" == payload.execution_config.accelerator
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        assert "cuda" == build_torch_runtime(payload).execution.accelerator

    def test_changed_payload_rebuilds_its_backend_objects(self, tmp_path: Path) -> None:
        """A payload changed with dataclasses.replace builds its backend objects from the new
        training config."""
        import dataclasses

        from ptycho_config import create_training_payload
        from tests.conftest import CPU, write_npz

        payload = create_training_payload(
            write_npz(tmp_path / "d.npz"), tmp_path / "o", {"n_groups": 8}, CPU, environ={}
        )
        bigger = payload.training_config.model_copy(update={"batch_size": 32})
        changed = dataclasses.replace(payload, training_config=bigger)
        assert (32, 32) == (
            changed.pt_training_config.batch_size,
            changed.pt_inference_config.batch_size,
        )
