"""The runtime's objects drive a real Lightning fit, on one process and on two."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning
import pytest
import torch
from hypothesis import assume, given
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

from ptycho_config import (
    ExecutionConfig,
    TrainingConfig,
    build_torch_runtime,
    create_inference_payload,
    create_training_payload,
)
from ptycho_config._schemas.registry import SHARED_FIELDS
from ptycho_config._torch.runtime import CONSTANT_SCHEDULERS, PLATEAU_MONITOR
from ptycho_config.testing import execution_configs, training_configs
from tests._processes import ROOT, base_environment, run_all
from tests._tiny_lightning import fit
from tests.conftest import make_model_dir, write_npz

pytestmark = [
    # Lightning's advice for small runs (more workers, a shorter logging interval) is no defect
    pytest.mark.filterwarnings("ignore::lightning.fabric.utilities.warnings.PossibleUserWarning"),
    # Lightning's own use of a torch API that newer torch deprecates
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*is deprecated:FutureWarning"),
]

DDP_WORKER = str(ROOT / "tests" / "_lightning_ddp_worker.py")
CPU = ExecutionConfig(accelerator="cpu", seed=0)


@pytest.fixture(autouse=True)
def _process_flags_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A Trainer sets torch's process-wide determinism flags and CUBLAS_WORKSPACE_CONFIG: undo."""
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", "")  # remembered, so teardown restores it
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")
    yield
    torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = cudnn


class Pair:
    """A training and an execution config: the least a runtime is built from."""

    def __init__(self, training: TrainingConfig, execution: ExecutionConfig) -> None:
        self.training_config = training
        self.execution_config = execution


def payload(tmp_path: Path, **overrides: Any) -> Any:
    data = write_npz(tmp_path / "train.npz")
    given = {"n_groups": 8, "nepochs": 2, "batch_size": 8, **overrides}
    return create_training_payload(data, tmp_path / "out", given, CPU, environ={})


class TestArguments:
    """Lightning takes the runtime's keyword arguments as they are."""

    # Lightning runs '16-mixed' as bf16 on a CPU and says so; logger=True names its choice
    @pytest.mark.filterwarnings("ignore:You passed `Trainer\\(accelerator='cpu':UserWarning")
    @pytest.mark.filterwarnings("ignore:Starting from v1.9.0:UserWarning")
    @given(training_configs(), execution_configs())
    def test_any_configuration(self, training: TrainingConfig, execution: ExecutionConfig) -> None:
        """Trainer, ModelCheckpoint and EarlyStopping accept them and hold the values given.

        On this CPU-only machine: accelerator 'cpu', one device, and no strategy that needs a
        GPU or DeepSpeed (Lightning refuses those here whatever their arguments).
        """
        assume(execution.strategy not in ("fsdp", "deepspeed"))
        # the fields both sections declare are one value in a resolved payload
        shared = {name: getattr(training, name) for name in SHARED_FIELDS}
        execution = execution.model_copy(update={"accelerator": "cpu", "devices": 1, **shared})
        runtime = build_torch_runtime(Pair(training, execution))
        trainer = lightning.Trainer(**runtime.trainer_kwargs, enable_model_summary=False)
        checkpoint = ModelCheckpoint(**runtime.checkpoint_kwargs)
        stopping = EarlyStopping(**runtime.early_stopping_kwargs)
        # Lightning has no 'agc': the runtime clips itself and the trainer gets no clipping
        agc = execution.gradient_clip_algorithm == "agc"
        clip = None if agc else execution.gradient_clip_val
        assert (training.nepochs, execution.accum_steps, clip) == (
            trainer.max_epochs,
            trainer.accumulate_grad_batches,
            trainer.gradient_clip_val,
        )
        cpu_precision = {"16-mixed": "bf16-mixed"}.get(execution.precision, execution.precision)
        assert cpu_precision == trainer.precision
        assert (execution.checkpoint_monitor_metric, execution.checkpoint_save_top_k) == (
            checkpoint.monitor,
            checkpoint.save_top_k,
        )
        assert (execution.checkpoint_monitor_metric, execution.early_stop_patience) == (
            stopping.monitor,
            stopping.patience,
        )


class TestFit:
    """A tiny model fitted with nothing but the runtime's objects."""

    def test_agc_clips_through_the_hook(self, tmp_path: Path) -> None:
        """'agc' (which Lightning lacks) clips in configure_gradient_clipping: a tiny limit
        keeps the weights near where they started; without clipping they move far."""

        def moved(folder: Path, **clipping: Any) -> float:
            folder.mkdir()
            _, module = fit(payload(folder, learning_rate=0.1, optimizer="sgd", **clipping))
            return float((module.layer.weight.detach() - module.initial).abs().max())

        free = moved(tmp_path / "free")
        clipped = moved(tmp_path / "agc", gradient_clip_val=1e-4, gradient_clip_algorithm="agc")
        assert clipped < free / 100

    def test_two_epochs_with_exponential_decay(self, tmp_path: Path) -> None:
        """Each epoch starts at 0.1·0.95^epoch; the checkpoint lands in the output folder."""
        run = payload(tmp_path, learning_rate=0.1, **{"training.scheduler": "Exponential"})
        trainer, module = fit(run)
        assert 2 == trainer.current_epoch
        assert [0.1, 0.1 * 0.95] == pytest.approx(module.learning_rates)
        final = trainer.optimizers[0].param_groups[0]["lr"]
        assert 0.1 * 0.95**2 == pytest.approx(final)
        assert isinstance(trainer.optimizers[0], torch.optim.Adam)
        saved = list((tmp_path / "out").rglob("*.ckpt"))
        assert 1 == len(saved)
        assert math.isfinite(float(trainer.callback_metrics["val_loss"]))

    @pytest.mark.parametrize(
        ("key", "scheduler"),
        [
            ("execution.scheduler", "Default"),
            ("execution.scheduler", "Exponential"),
            ("execution.scheduler", "WarmupCosine"),
            ("execution.scheduler", "MultiStage"),
            ("execution.scheduler", "ReduceLROnPlateau"),
            ("execution.scheduler", "Adaptive"),
        ],
    )
    @pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
    def test_every_optimizer_and_scheduler(
        self, tmp_path: Path, key: str, scheduler: str, optimizer: str
    ) -> None:
        """Lightning accepts what configure_optimizers returns and steps the schedule."""
        run = payload(tmp_path, optimizer=optimizer, **{key: scheduler})
        if scheduler in CONSTANT_SCHEDULERS:  # the reference keeps the rate, and says so
            with pytest.warns(UserWarning, match="no longer supported in single-loss mode"):
                trainer, _ = fit(run)
        else:
            trainer, _ = fit(run)
        assert 2 == trainer.current_epoch
        configs = trainer.lr_scheduler_configs
        if scheduler == "Default" or scheduler in CONSTANT_SCHEDULERS:
            assert [] == configs
        else:
            assert ["epoch"] == [c.interval for c in configs]
            plateau = scheduler == "ReduceLROnPlateau"
            assert [PLATEAU_MONITOR if plateau else None] == [c.monitor for c in configs]

    def test_plateau_monitors_the_validation_loss(self, tmp_path: Path) -> None:
        """ReduceLROnPlateau watches the validation loss in mode 'min', as the reference does,
        whatever metric ranks checkpoints."""
        run = payload(
            tmp_path,
            checkpoint_monitor_metric="train_loss",
            **{"execution.scheduler": "ReduceLROnPlateau"},
        )
        runtime = build_torch_runtime(run)
        returned = runtime.configure_optimizers(torch.nn.Linear(1, 1).parameters())
        schedule = returned["lr_scheduler"]
        assert (PLATEAU_MONITOR, "epoch", 1) == (
            schedule["monitor"],
            schedule["interval"],
            schedule["frequency"],
        )
        assert "min" == schedule["scheduler"].mode

    # logger=True lets Lightning choose its default logger, and it says which
    @pytest.mark.filterwarnings("ignore:Starting from v1.9.0:UserWarning")
    def test_inference_trainer(self, tmp_path: Path) -> None:
        """An inference runtime's trainer arguments build a Trainer as they are."""
        model = tmp_path / "model"
        make_model_dir(model)
        test = write_npz(tmp_path / "test.npz")
        run = create_inference_payload(model, test, tmp_path / "inf", {"n_groups": 1}, CPU)
        trainer = lightning.Trainer(**build_torch_runtime(run).trainer_kwargs)
        assert not trainer.checkpoint_callbacks


class TestDistributedDataParallel:
    """Lightning's 'ddp' strategy with two CPU processes, each building and checking its payload."""

    def test_two_ranks_fit_and_agree(self, tmp_path: Path) -> None:
        """Both ranks verify the same fingerprint, train 2 epochs, and no process outlives it."""
        data = write_npz(tmp_path / "train.npz")
        environment = base_environment(
            PTYCHO_ACCELERATOR="cpu",
            PTYCHO_DEVICES="2",
            PTYCHO_STRATEGY="ddp",
            PTYCHO_N_GROUPS="8",
            PTYCHO_NEPOCHS="2",
            PTYCHO_BATCH_SIZE="8",
            PTYCHO_SEED="0",
            PTYCHO_TRAINING__SCHEDULER="Exponential",
            PTYCHO_LEARNING_RATE="0.1",
        )
        command = [DDP_WORKER, str(data), str(tmp_path / "out"), str(tmp_path)]
        (finished,) = run_all([command], [environment], timeout=60)
        assert 0 == finished.returncode, finished.stderr[-3000:]
        assert [] == finished.leftover
        reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
        assert [2, 2] == [r["world_size"] for r in reports]
        assert reports[0]["fingerprint"] == reports[1]["fingerprint"]
        assert reports[0]["fingerprint"].startswith("sha256:")
        for report in reports:
            assert [0.1, 0.1 * 0.95] == pytest.approx(report["learning_rates"])
            assert 2 == report["epochs"]


class TestGpuCheck:
    """benchmarks/gpu_check.py, which a GPU machine runs, skips cleanly without CUDA."""

    @pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device runs the checks")
    def test_skips_without_cuda(self) -> None:
        """Exit status 2 and one 'skip' line, no traceback."""
        (finished,) = run_all(
            [[str(ROOT / "benchmarks" / "gpu_check.py")]], [base_environment()], timeout=60
        )
        assert (2, "") == (finished.returncode, finished.stderr)
        assert finished.stdout.startswith("skip: no CUDA device")


def documented_script() -> str:
    """The train.py of docs/torch.md, as written there."""
    page = (ROOT / "docs" / "torch.md").read_text(encoding="utf-8")
    found = re.search(r"### train\.py\n\n```python\n(.*?)```", page, re.DOTALL)
    assert found is not None
    return found.group(1)


class TestDocumentedScript:
    """The complete training script of docs/torch.md runs as written."""

    def test_under_torchrun(self, tmp_path: Path) -> None:
        """Two torchrun ranks: devices from LOCAL_WORLD_SIZE, DDP, one snapshot, a checkpoint."""
        (tmp_path / "train.py").write_text(documented_script(), encoding="utf-8")
        write_npz(tmp_path / "train.npz")
        command = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
        environment = base_environment(PTYCHO_ACCELERATOR="cpu", PTYCHO_NEPOCHS="2")
        (finished,) = run_all([[*command, "train.py"]], [environment], timeout=120, cwd=tmp_path)
        assert 0 == finished.returncode, finished.stderr[-3000:]
        assert [] == finished.leftover
        output = finished.stdout + finished.stderr
        assert "MEMBER: 2/2" in output  # Lightning's line: this rank is one of two processes
        assert 1 == len(list((tmp_path / "outputs").rglob("*.ckpt")))
        assert ["ptycho_config.json"] == [
            p.name for p in (tmp_path / "outputs").iterdir() if p.is_file()
        ]
