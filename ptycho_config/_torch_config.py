"""The PyTorch backend's configuration objects, built from the canonical configs.

Every rule that maps a canonical field onto a field of the PtychoPINN PyTorch backend
lives in this module; the objects are plain frozen dataclasses and torch is never
imported here, so a TensorFlow-only install can build (and log) them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ptycho_config._schemas import ExecutionConfig, InferenceConfig, TrainingConfig
from ptycho_config._types import ClipAlgorithm, LossMode, Optimizer, RuntimeScheduler

Mode = Literal["Unsupervised", "Supervised"]
Scheduler = RuntimeScheduler

# The PyTorch backend names the training mode and the swish activation differently.
_MODE: dict[str, Mode] = {"pinn": "Unsupervised", "supervised": "Supervised"}
_ACTIVATION: dict[str, str] = {"swish": "silu"}


def _schema_default(name: str) -> Any:
    """A TrainingConfig default, read from the schema so it is never restated."""
    return TrainingConfig.model_fields[name].default


@dataclass(frozen=True)
class TorchDataConfig:
    """What the PyTorch data pipeline reads: patch size, grouping and photon scale."""

    N: int
    grid_size: tuple[int, int]
    C: int
    K: int
    nphotons: float
    probe_scale: float
    subsample_seed: int | None


@dataclass(frozen=True)
class TorchModelConfig:
    """What the PyTorch network and forward model read."""

    mode: Mode
    amp_activation: str
    n_filters_scale: int
    object_big: bool
    probe_big: bool
    probe_mask: bool
    C_forward: int
    C_model: int
    pad_object: bool
    gaussian_smoothing_sigma: float
    intensity_scale_trainable: bool
    architecture: str


@dataclass(frozen=True)
class TorchTrainingConfig:
    """What the PyTorch training loop reads: epochs, loss, optimiser, schedule, data."""

    epochs: int
    batch_size: int
    learning_rate: float
    nll: bool
    torch_loss_mode: LossMode
    optimizer: Optimizer
    momentum: float
    weight_decay: float
    adam_beta1: float
    adam_beta2: float
    scheduler: Scheduler
    lr_warmup_epochs: int
    lr_min_ratio: float
    num_workers: int
    accum_steps: int
    gradient_clip_val: float | None
    gradient_clip_algorithm: ClipAlgorithm
    train_data_file: str | None
    test_data_file: str | None
    output_dir: str
    n_groups: int


@dataclass(frozen=True)
class TorchInferenceConfig:
    """What PyTorch reconstruction reads: batch size and stitching options."""

    batch_size: int
    middle_trim: int
    pad_eval: bool


def torch_data_config(
    config: TrainingConfig | InferenceConfig,
    training: TrainingConfig | None = None,
    nphotons: float | None = None,
) -> TorchDataConfig:
    """The data config.

    An inference config has no nphotons: it is the data's own (``nphotons``, read from the
    test file) when known, else the trained model's (``training``), else the schema default.
    """
    model = config.model
    if isinstance(config, TrainingConfig):
        nphotons = config.nphotons
    elif nphotons is None:
        nphotons = training.nphotons if training is not None else _schema_default("nphotons")
    return TorchDataConfig(
        N=model.N,
        grid_size=(model.gridsize, model.gridsize),
        C=model.gridsize**2,
        K=config.neighbor_count,
        nphotons=nphotons,
        probe_scale=model.probe_scale,
        subsample_seed=config.subsample_seed,
    )


def torch_model_config(
    config: TrainingConfig | InferenceConfig, training: TrainingConfig | None = None
) -> TorchModelConfig:
    """The model config; inference takes intensity_scale_trainable from the trained model."""
    model = config.model
    channels = model.gridsize**2
    source = config if isinstance(config, TrainingConfig) else training
    trainable = (
        source.intensity_scale_trainable
        if source is not None
        else _schema_default("intensity_scale_trainable")
    )
    return TorchModelConfig(
        mode=_MODE[model.model_type],
        amp_activation=_ACTIVATION.get(model.amp_activation, model.amp_activation),
        n_filters_scale=model.n_filters_scale,
        object_big=model.object_big,
        probe_big=model.probe_big,
        probe_mask=model.probe_mask,
        C_forward=channels,
        C_model=channels,
        pad_object=model.pad_object,
        gaussian_smoothing_sigma=model.gaussian_smoothing_sigma,
        intensity_scale_trainable=trainable,
        architecture=model.architecture,
    )


def effective_scheduler(training: TrainingConfig, execution: ExecutionConfig) -> Scheduler:
    """The learning-rate schedule in force.

    Both configs name one: the execution config's wins unless it is 'Default', in which
    case the training config's applies (so a runtime choice can replace the trained
    recipe, and leaving the runtime alone keeps it).
    """
    return training.scheduler if execution.scheduler == "Default" else execution.scheduler


def torch_training_config(
    training: TrainingConfig, execution: ExecutionConfig
) -> TorchTrainingConfig:
    """The training config; the scheduler follows :func:`effective_scheduler`."""
    return TorchTrainingConfig(
        epochs=training.nepochs,
        batch_size=training.batch_size,
        learning_rate=execution.learning_rate,
        nll=training.nll_weight > 0,
        torch_loss_mode=training.torch_loss_mode,
        optimizer=training.optimizer,
        momentum=training.momentum,
        weight_decay=training.weight_decay,
        adam_beta1=training.adam_beta1,
        adam_beta2=training.adam_beta2,
        scheduler=effective_scheduler(training, execution),
        lr_warmup_epochs=training.lr_warmup_epochs,
        lr_min_ratio=training.lr_min_ratio,
        num_workers=execution.num_workers,
        accum_steps=execution.accum_steps,
        gradient_clip_val=execution.gradient_clip_val,
        gradient_clip_algorithm=execution.gradient_clip_algorithm,
        train_data_file=_optional_str(training.train_data_file),
        test_data_file=_optional_str(training.test_data_file),
        output_dir=str(training.output_dir),
        n_groups=training.n_groups,
    )


def torch_inference_config(
    execution: ExecutionConfig, training: TrainingConfig | None = None
) -> TorchInferenceConfig:
    """The inference config.

    The batch size is ``execution.inference_batch_size`` when set, else the training
    batch size when a training config is given, else the schema's default batch size.
    """
    if execution.inference_batch_size is not None:
        batch_size: int = execution.inference_batch_size
    elif training is not None:
        batch_size = training.batch_size
    else:
        batch_size = _schema_default("batch_size")
    return TorchInferenceConfig(
        batch_size=batch_size, middle_trim=execution.middle_trim, pad_eval=execution.pad_eval
    )


def _optional_str(value: object | None) -> str | None:
    # the PyTorch backend reads file names as plain strings
    return None if value is None else str(value)
