"""The PyTorch backend's configuration objects (`_torch.objects`) filled from a resolution, as
docs/torch.md's mapping table says. torch is never imported here, so a TensorFlow-only install
can build (and log) the objects.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from ptycho_config._merge.accelerator import DEVICE_TYPE
from ptycho_config._schemas.object_policy import resolved_policy
from ptycho_config._schemas.registry import SHARED_FIELDS
from ptycho_config._schemas.sections import (
    ExecutionConfig,
    InferenceConfig,
    TorchBackendConfig,
    TrainingConfig,
)
from ptycho_config._torch.objects import (
    Mode,
    TorchDataConfig,
    TorchInferenceConfig,
    TorchModelConfig,
    TorchTrainingConfig,
    schema_default,
)

# The PyTorch backend names the training mode, swish and the GPU differently.
_MODE: dict[str, Mode] = {"pinn": "Unsupervised", "supervised": "Supervised"}
_ACTIVATION: dict[str, str] = {"swish": "silu"}


_T = TypeVar("_T")


def _trained(training: TrainingConfig | None, name: str) -> Any:
    """A trained model's value of a training field, else the schema default."""
    return getattr(training, name) if training is not None else schema_default(TrainingConfig, name)


def _filled(cls: type[_T], given: dict[str, Any], *sources: BaseModel) -> _T:
    """``cls`` with ``given``, and every other field from the first source with that name."""
    values = dict(given)
    for item in dataclasses.fields(cast(Any, cls)):
        source = next((s for s in sources if item.name in type(s).model_fields), None)
        if source is not None and item.name not in values:
            value = getattr(source, item.name)
            if isinstance(value, Path):  # the backend reads file names as plain strings
                value = str(value)
            # a frozen object shares no list with a config
            values[item.name] = list(value) if isinstance(value, list) else value
    return cls(**values)


def torch_data_config(
    config: TrainingConfig | InferenceConfig,
    training: TrainingConfig | None = None,
    nphotons: float | None = None,
) -> TorchDataConfig:
    """The data config; for inference, ``nphotons`` is the test data's own when known, else the
    trained model's (``training``), else the schema default."""
    model = config.model
    given: dict[str, Any] = {
        "grid_size": (model.gridsize, model.gridsize),
        "C": model.gridsize**2,
        "K": config.neighbor_count,
    }
    if isinstance(config, InferenceConfig):  # a training config's own nphotons is copied
        given["nphotons"] = _trained(training, "nphotons") if nphotons is None else nphotons
    return _filled(TorchDataConfig, given, config.torch, config, model)


def torch_model_config(
    config: TrainingConfig | InferenceConfig,
    training: TrainingConfig | None = None,
    execution: ExecutionConfig | None = None,
) -> TorchModelConfig:
    """The model config; inference takes intensity_scale_trainable from the trained model."""
    model = config.model
    channels = model.gridsize**2
    source = config if isinstance(config, TrainingConfig) else training
    given = {
        "mode": _MODE[model.model_type],
        "amp_activation": _ACTIVATION.get(model.amp_activation, model.amp_activation),
        "C_forward": channels,
        "C_model": channels,
        "intensity_scale_trainable": _trained(source, "intensity_scale_trainable"),
        **resolved_policy(model),
    }
    return _filled(TorchModelConfig, given, config.torch, model, execution or ExecutionConfig())


def effective(name: str, training: TrainingConfig, execution: ExecutionConfig) -> Any:
    """The value in force of a field both configs declare (scheduler, gradient clipping): a
    resolution gives both one value; for configs built directly, the execution config's value
    wins unless it is its default."""
    if name not in SHARED_FIELDS:
        raise ValueError(f"{name} is not declared by both training and execution")
    ours = getattr(execution, name)
    return getattr(training, name) if ours == schema_default(ExecutionConfig, name) else ours


def torch_training_config(
    training: TrainingConfig, execution: ExecutionConfig
) -> TorchTrainingConfig:
    """The training config; scheduler and clipping follow :func:`effective`."""
    given = {
        "epochs": training.nepochs,
        "nll": training.nll_weight > 0,
        "device": DEVICE_TYPE.get(execution.accelerator, TorchTrainingConfig.device),
        "n_devices": execution.devices,
        **{name: effective(name, training, execution) for name in SHARED_FIELDS},
    }
    return _filled(TorchTrainingConfig, given, training.torch, training, execution)


def torch_inference_config(
    execution: ExecutionConfig,
    training: TrainingConfig | None = None,
    torch: TorchBackendConfig | None = None,
) -> TorchInferenceConfig:
    """The inference config: the batch size is ``execution.inference_batch_size``, else the
    trained one, else the schema default; ``torch`` is the run's torch section."""
    batch_size = execution.inference_batch_size
    if batch_size is None:
        batch_size = _trained(training, "batch_size")
    knobs = torch if torch is not None else TorchBackendConfig()
    return _filled(TorchInferenceConfig, {"batch_size": batch_size}, knobs, execution)


def trained_knobs(training: TrainingConfig) -> dict[str, Any]:
    """The torch-section knobs the backend's model and data objects carry, by qualified key: an
    inference payload takes them from the model's snapshot, like the model section."""
    return {f"torch.{name}": getattr(training.torch, name) for name in _NETWORK_KNOBS}


_NETWORK_KNOBS = tuple(
    item.name
    for cls in (TorchDataConfig, TorchModelConfig)
    for item in dataclasses.fields(cls)
    if item.name in TorchBackendConfig.model_fields
)
