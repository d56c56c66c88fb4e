"""ptycho-config: one strict, layered, provenance-tracking configuration for PtychoPINN."""

from ptycho_config._errors import (
    AmbiguousKeyError,
    ConfigFileNotFoundError,
    ConflictError,
    InvalidValueError,
    MissingValueError,
    ProbeSizeError,
    Problem,
    PtychoConfigError,
    SnapshotError,
    UnknownKeyError,
)
from ptycho_config._resolve import Resolved, resolve_inference, resolve_training
from ptycho_config._schemas import (
    ExecutionConfig,
    InferenceConfig,
    ModelConfig,
    PyTorchExecutionConfig,
    TrainingConfig,
)

__all__ = [
    "AmbiguousKeyError",
    "ConfigFileNotFoundError",
    "ConflictError",
    "ExecutionConfig",
    "InferenceConfig",
    "InvalidValueError",
    "MissingValueError",
    "ModelConfig",
    "ProbeSizeError",
    "Problem",
    "PtychoConfigError",
    "PyTorchExecutionConfig",
    "Resolved",
    "SnapshotError",
    "TrainingConfig",
    "UnknownKeyError",
    "resolve_inference",
    "resolve_training",
]
