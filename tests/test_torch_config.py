"""The PyTorch-side config objects: the SPEC §6 mapping, with and without torch installed."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given

from ptycho_config import ExecutionConfig, InferenceConfig, ModelConfig, TrainingConfig
from ptycho_config._torch.config import (
    TorchDataConfig,
    TorchInferenceConfig,
    TorchModelConfig,
    TorchTrainingConfig,
    effective,
    torch_data_config,
    torch_inference_config,
    torch_model_config,
    torch_training_config,
)
from ptycho_config.testing import execution_configs, inference_configs, training_configs

REPO = Path(__file__).resolve().parents[1]


def _inference(**model: object) -> InferenceConfig:
    return InferenceConfig(
        model=ModelConfig(**model), model_path=Path("model"), test_data_file=Path("test.npz")
    )


class TestDataConfig:
    def test_training_config_maps_every_field(self) -> None:
        """A training config gives the grid as a square pair, C = gridsize², K and nphotons."""
        config = TrainingConfig(
            model=ModelConfig(N=128, gridsize=3, probe_scale=2.5),
            neighbor_count=7,
            nphotons=1e6,
            subsample_seed=11,
        )
        expected = TorchDataConfig(
            N=128, grid_size=(3, 3), C=9, K=7, nphotons=1e6, probe_scale=2.5, subsample_seed=11
        )
        assert expected == torch_data_config(config)

    def test_inference_config_uses_the_schema_default_nphotons(self) -> None:
        """An inference config has no nphotons, so TrainingConfig's default is used."""
        assert TrainingConfig().nphotons == torch_data_config(_inference()).nphotons

    def test_objects_are_frozen(self) -> None:
        """A built config cannot be changed after the fact."""
        data = torch_data_config(TrainingConfig())
        with pytest.raises(dataclasses.FrozenInstanceError):
            data.N = 256  # type: ignore[misc]


class TestModelConfig:
    @pytest.mark.parametrize(
        ("model_type", "mode"), [("pinn", "Unsupervised"), ("supervised", "Supervised")]
    )
    def test_model_type_becomes_the_backend_mode(self, model_type: str, mode: str) -> None:
        """'pinn' trains unsupervised and 'supervised' supervised."""
        config = TrainingConfig(model=ModelConfig(model_type=model_type))
        assert mode == torch_model_config(config).mode

    @pytest.mark.parametrize(
        ("activation", "expected"),
        [("swish", "silu"), ("sigmoid", "sigmoid"), ("softplus", "softplus"), ("relu", "relu")],
    )
    def test_swish_is_called_silu(self, activation: str, expected: str) -> None:
        """The backend calls swish 'silu'; other activations keep their names."""
        config = TrainingConfig(model=ModelConfig(amp_activation=activation))
        assert expected == torch_model_config(config).amp_activation

    def test_training_config_maps_every_field(self) -> None:
        """Both channel counts are gridsize² and the model flags are copied."""
        model = ModelConfig(
            gridsize=2,
            n_filters_scale=3,
            object_big=False,
            probe_big=False,
            probe_mask=True,
            pad_object=False,
            gaussian_smoothing_sigma=0.5,
            architecture="fno",
        )
        config = TrainingConfig(model=model, intensity_scale_trainable=False)
        expected = TorchModelConfig(
            mode="Unsupervised",
            amp_activation="sigmoid",
            n_filters_scale=3,
            object_big=False,
            object_layout="single_patch",  # the policy resolved (reference-next.md §8)
            training_canvas="independent",
            training_patch_weighting="central_mask",
            probe_big=False,
            probe_mask=True,
            C_forward=4,
            C_model=4,
            pad_object=False,
            gaussian_smoothing_sigma=0.5,
            intensity_scale_trainable=False,
            architecture="fno",
        )
        assert expected == torch_model_config(config)

    def test_inference_uses_the_schema_default_intensity_scale_trainable(self) -> None:
        """An inference config has no intensity_scale_trainable; the training default applies."""
        expected = TrainingConfig().intensity_scale_trainable
        assert expected == torch_model_config(_inference()).intensity_scale_trainable


class TestTrainingConfig:
    def test_training_and_execution_fields_are_combined(self) -> None:
        """Epochs, loss and optimiser come from training; rate, workers, clipping from execution."""
        training = TrainingConfig(
            nepochs=7,
            batch_size=8,
            nll_weight=0.0,
            mae_weight=1.0,
            torch_loss_mode="mae",
            optimizer="sgd",
            momentum=0.5,
            weight_decay=0.01,
            adam_beta1=0.8,
            adam_beta2=0.9,
            scheduler="WarmupCosine",
            lr_warmup_epochs=2,
            lr_min_ratio=0.2,
            train_data_file=Path("train.npz"),
            output_dir=Path("out/run"),
            n_groups=64,
        )
        execution = ExecutionConfig(
            learning_rate=0.01,
            num_workers=2,
            accum_steps=4,
            gradient_clip_val=1.5,
            gradient_clip_algorithm="value",
        )
        expected = TorchTrainingConfig(
            epochs=7,
            batch_size=8,
            learning_rate=0.01,
            nll=False,
            torch_loss_mode="mae",
            optimizer="sgd",
            momentum=0.5,
            weight_decay=0.01,
            adam_beta1=0.8,
            adam_beta2=0.9,
            scheduler="WarmupCosine",
            lr_warmup_epochs=2,
            lr_min_ratio=0.2,
            num_workers=2,
            accum_steps=4,
            gradient_clip_val=1.5,
            gradient_clip_algorithm="value",
            train_data_file="train.npz",
            test_data_file=None,
            output_dir=str(Path("out/run")),
            n_groups=64,
            strategy="auto",
        )
        assert expected == torch_training_config(training, execution)

    @pytest.mark.parametrize(
        ("training", "execution", "expected"),
        [
            ("Default", "Default", "Default"),
            ("Exponential", "Default", "Exponential"),
            ("Default", "MultiStage", "MultiStage"),
            ("Exponential", "WarmupCosine", "WarmupCosine"),
            ("ReduceLROnPlateau", "Adaptive", "Adaptive"),
        ],
    )
    def test_execution_scheduler_wins_unless_default(
        self, training: str, execution: str, expected: str
    ) -> None:
        """The execution config's scheduler applies unless it is 'Default'."""
        train = TrainingConfig(scheduler=training)
        run = ExecutionConfig(scheduler=execution)
        assert expected == effective("scheduler", train, run)
        assert expected == torch_training_config(train, run).scheduler


class TestInferenceConfig:
    def test_explicit_inference_batch_size_wins(self) -> None:
        """inference_batch_size is used even when a training config is given."""
        execution = ExecutionConfig(inference_batch_size=100, middle_trim=8, pad_eval=True)
        expected = TorchInferenceConfig(batch_size=100, middle_trim=8, pad_eval=True)
        assert expected == torch_inference_config(execution, TrainingConfig(batch_size=32))

    def test_training_batch_size_is_the_fallback(self) -> None:
        """Without inference_batch_size the training batch size is used."""
        config = torch_inference_config(ExecutionConfig(), TrainingConfig(batch_size=32))
        assert config.batch_size == 32

    def test_schema_default_without_a_training_config(self) -> None:
        """With neither, the batch size is TrainingConfig's default (16)."""
        assert torch_inference_config(ExecutionConfig()).batch_size == 16


def _fields(obj: object, names: dict[str, object]) -> dict[str, object]:
    return {name: getattr(obj, name) for name in names}


class TestMappingProperties:
    @given(training=training_configs(), execution=execution_configs())
    def test_training_payload_objects_follow_the_mapping(
        self, training: TrainingConfig, execution: ExecutionConfig
    ) -> None:
        """For every valid training and execution config the objects' fields follow SPEC §6."""
        model, side = training.model, training.model.gridsize
        data = {
            "N": model.N,
            "grid_size": (side, side),
            "C": side**2,
            "K": training.neighbor_count,
            "nphotons": training.nphotons,
            "subsample_seed": training.subsample_seed,
        }
        assert data == _fields(torch_data_config(training), data)
        net = {
            "C_forward": side**2,
            "C_model": side**2,
            "mode": {"pinn": "Unsupervised", "supervised": "Supervised"}[model.model_type],
            "intensity_scale_trainable": training.intensity_scale_trainable,
        }
        assert net == _fields(torch_model_config(training), net)
        runtime_choice = execution.scheduler != "Default"
        train = {
            "epochs": training.nepochs,
            "batch_size": training.batch_size,
            "nll": training.nll_weight > 0,
            "learning_rate": execution.learning_rate,
            "optimizer": training.optimizer,
            "momentum": training.momentum,
            "scheduler": execution.scheduler if runtime_choice else training.scheduler,
            "accum_steps": execution.accum_steps,
            "num_workers": execution.num_workers,
            "output_dir": str(training.output_dir),
            "n_groups": training.n_groups,
        }
        assert train == _fields(torch_training_config(training, execution), train)
        infer = {
            "batch_size": execution.inference_batch_size or training.batch_size,
            "middle_trim": execution.middle_trim,
            "pad_eval": execution.pad_eval,
        }
        assert infer == _fields(torch_inference_config(execution, training), infer)

    @given(inference=inference_configs(), execution=execution_configs())
    def test_inference_payload_objects_follow_the_mapping(
        self, inference: InferenceConfig, execution: ExecutionConfig
    ) -> None:
        """For every valid inference config the data and model objects follow SPEC §6."""
        model, side = inference.model, inference.model.gridsize
        data = {
            "grid_size": (side, side),
            "C": side**2,
            "K": inference.neighbor_count,
            "nphotons": TrainingConfig().nphotons,
        }
        assert data == _fields(torch_data_config(inference), data)
        net = {
            "amp_activation": "silu" if model.amp_activation == "swish" else model.amp_activation,
            "architecture": model.architecture,
            "probe_mask": model.probe_mask,
        }
        assert net == _fields(torch_model_config(inference), net)
        batch = execution.inference_batch_size or TrainingConfig().batch_size
        assert batch == torch_inference_config(execution).batch_size


def _run_without_torch(code: str) -> subprocess.CompletedProcess[str]:
    # torch is made unimportable before the library is imported, as on a TensorFlow-only host
    prelude = "import sys, warnings\nsys.modules['torch'] = None\nwarnings.simplefilter('error')\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


class TestWithoutTorch:
    def test_config_objects_build_and_runtime_explains_the_install(self) -> None:
        """Without torch the config objects build, and building a runtime names the fix."""
        result = _run_without_torch(
            """
            from dataclasses import dataclass
            from ptycho_config import ExecutionConfig, TrainingConfig
            from ptycho_config._torch.config import (
                torch_data_config, torch_inference_config, torch_model_config,
                torch_training_config,
            )
            from ptycho_config._torch.runtime import build_torch_runtime

            training, execution = TrainingConfig(), ExecutionConfig(accelerator="cpu")
            print(torch_data_config(training).C, torch_model_config(training).mode,
                  torch_training_config(training, execution).epochs,
                  torch_inference_config(execution, training).batch_size)

            @dataclass
            class Payload:
                training_config: TrainingConfig
                execution_config: ExecutionConfig

            try:
                build_torch_runtime(Payload(training, execution))
            except RuntimeError as error:
                print(error)
            """
        )
        assert result.returncode == 0, result.stderr
        first, message = result.stdout.splitlines()
        assert first == "1 Unsupervised 50 16"
        assert "PyTorch backend selected" in message
        assert "pip install torch>=2.2" in message

    def test_auto_accelerator_is_cpu_silently_for_tensorflow(self) -> None:
        """Without torch, 'auto' becomes 'cpu' with no warning for the TensorFlow backend."""
        result = _run_without_torch(
            """
            from ptycho_config import ExecutionConfig
            from ptycho_config._merge.accelerator import resolve_accelerator

            print(resolve_accelerator(ExecutionConfig(), "tensorflow").accelerator)
            try:
                resolve_accelerator(ExecutionConfig(), "pytorch")
            except RuntimeError as error:
                print(error)
            """
        )
        assert result.returncode == 0, result.stderr
        accelerator, message = result.stdout.splitlines()
        assert accelerator == "cpu"
        assert "PyTorch backend selected" in message

    def test_a_broken_torch_is_named_with_its_error(self, tmp_path: Path) -> None:
        """A torch whose import fails with another error than ImportError (a shared library
        that will not load) is the library's error naming that error, not "not installed"."""
        (tmp_path / "torch").mkdir()
        broken = "raise OSError('libfake.so: cannot open shared object file')\n"
        (tmp_path / "torch" / "__init__.py").write_text(broken)
        code = textwrap.dedent(
            """
            from ptycho_config import BackendUnavailableError, create_training_payload
            from ptycho_config._factories.example import EXAMPLE_DIR

            try:
                create_training_payload(
                    EXAMPLE_DIR / "train_data.npz", "out",
                    {"n_groups": 4, "backend": "pytorch", "accelerator": "auto"}, environ={},
                )
            except BackendUnavailableError as error:
                print(error)
            """
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={"PATH": "", "PYTHONPATH": f"{tmp_path}:{REPO}"},
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert (
            "PyTorch backend selected but importing torch failed (OSError: libfake.so: cannot "
            "open shared object file); reinstall it with: pip install torch>=2.2"
        ) in result.stdout

    def test_importing_the_bridge_does_not_import_torch(self) -> None:
        """Importing both bridge modules leaves torch out of sys.modules."""
        code = (
            "import sys\nimport ptycho_config._torch.config, ptycho_config._torch.runtime\n"
            "print('torch' in sys.modules)"
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "False"
