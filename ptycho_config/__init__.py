"""ptycho-config: one strict, layered, provenance-tracking configuration for PtychoPINN."""

from ptycho_config._datafiles.npz import infer_probe_size
from ptycho_config._errors import (
    AmbiguousKeyError,
    BackendUnavailableError,
    ConfigFileNotFoundError,
    ConfigMismatchError,
    ConflictError,
    FileReadError,
    InvalidValueError,
    MissingValueError,
    ModelArchiveNotFoundError,
    OutputError,
    ProbeSizeError,
    Problem,
    PtychoConfigError,
    SnapshotError,
    UnknownKeyError,
)
from ptycho_config._factories.export import to_env
from ptycho_config._factories.factories import create_inference_payload, create_training_payload
from ptycho_config._factories.payloads import InferencePayload, TrainingPayload
from ptycho_config._factories.snapshot import Snapshot, fingerprint, load_snapshot, save_snapshot
from ptycho_config._legacy.bridge import from_legacy_dict, populate_legacy_params, to_legacy_dict
from ptycho_config._merge.provenance import Source
from ptycho_config._merge.resolve import Resolved, resolve_inference, resolve_training
from ptycho_config._schemas.registry import register_schema
from ptycho_config._schemas.sections import (
    ExecutionConfig,
    InferenceConfig,
    ModelConfig,
    PyTorchExecutionConfig,
    TorchBackendConfig,
    TrainingConfig,
)
from ptycho_config._torch.objects import (
    TorchDataConfig,
    TorchInferenceConfig,
    TorchModelConfig,
    TorchTrainingConfig,
)
from ptycho_config._torch.runtime import TorchRuntime, build_torch_runtime
from ptycho_config._torch.torchrun import TorchrunLaunch

__all__ = [
    "AmbiguousKeyError",
    "BackendUnavailableError",
    "ConfigFileNotFoundError",
    "ConfigMismatchError",
    "ConflictError",
    "ExecutionConfig",
    "FileReadError",
    "InferenceConfig",
    "InferencePayload",
    "InvalidValueError",
    "MissingValueError",
    "ModelArchiveNotFoundError",
    "ModelConfig",
    "OutputError",
    "ProbeSizeError",
    "Problem",
    "PtychoConfigError",
    "PyTorchExecutionConfig",
    "Resolved",
    "Snapshot",
    "SnapshotError",
    "Source",
    "TorchBackendConfig",
    "TorchDataConfig",
    "TorchInferenceConfig",
    "TorchModelConfig",
    "TorchRuntime",
    "TorchTrainingConfig",
    "TorchrunLaunch",
    "TrainingConfig",
    "TrainingPayload",
    "UnknownKeyError",
    "build_torch_runtime",
    "create_inference_payload",
    "create_training_payload",
    "fingerprint",
    "from_legacy_dict",
    "infer_probe_size",
    "load_snapshot",
    "populate_legacy_params",
    "register_schema",
    "resolve_inference",
    "resolve_training",
    "save_snapshot",
    "to_env",
    "to_legacy_dict",
]
