"""The legacy ``ptycho.config`` package; everything lives in :mod:`ptycho.config.config`."""

from ptycho.config.config import (
    KEY_MAPPINGS,
    InferenceConfig,
    ModelConfig,
    PyTorchExecutionConfig,
    TrainingConfig,
    dataclass_to_legacy_dict,
    load_yaml_config,
    update_legacy_dict,
    validate_inference_config,
    validate_model_config,
    validate_training_config,
)

__all__ = [
    "KEY_MAPPINGS",
    "InferenceConfig",
    "ModelConfig",
    "PyTorchExecutionConfig",
    "TrainingConfig",
    "dataclass_to_legacy_dict",
    "load_yaml_config",
    "update_legacy_dict",
    "validate_inference_config",
    "validate_model_config",
    "validate_training_config",
]
