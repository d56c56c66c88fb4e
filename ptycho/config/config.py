"""The legacy ``ptycho.config.config`` API (docs/legacy.md), backed by the ptycho-config schemas."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from ptycho.config.simulation import (
    DetectorSimulationConfig,
    ProbeSimulationConfig,
    ScanSimulationConfig,
    SimulationConfig,
    SyntheticObjectConfig,
    load_simulation_config,
    simulation_config_from_mapping,
    simulation_config_sha256,
    simulation_config_to_dict,
    simulation_legacy_dict,
    validate_simulation_compatibility,
    validate_simulation_config,
)
from ptycho.object_compatibility import resolve_public_object_policy
from ptycho_config._errors import ConfigFileNotFoundError, ModelArchiveNotFoundError
from ptycho_config._factories.snapshot import MODEL_ARCHIVE
from ptycho_config._files import CONFIG_FILE_CAP, as_path, read_capped
from ptycho_config._legacy.bridge import to_legacy_dict
from ptycho_config._schemas.object_policy import resolved_policy
from ptycho_config._schemas.registry import LEGACY_RENAMES
from ptycho_config._schemas.sections import (
    InferenceConfig,
    ModelConfig,
    PyTorchExecutionConfig,
    TrainingConfig,
)
from ptycho_config._sources.config_file import load_yaml

__all__ = [
    "DetectorSimulationConfig",
    "InferenceConfig",
    "ModelConfig",
    "ProbeSimulationConfig",
    "PyTorchExecutionConfig",
    "ScanSimulationConfig",
    "SimulationConfig",
    "SyntheticObjectConfig",
    "TrainingConfig",
    "dataclass_to_legacy_dict",
    "load_simulation_config",
    "load_yaml_config",
    "resolve_model_object_policy",
    "simulation_config_from_mapping",
    "simulation_config_sha256",
    "simulation_config_to_dict",
    "update_legacy_dict",
    "validate_inference_config",
    "validate_model_config",
    "validate_simulation_compatibility",
    "validate_simulation_config",
    "validate_training_config",
]

# Field name -> legacy dict name, for the fields whose legacy name differs (read-only).
KEY_MAPPINGS: Mapping[str, str] = LEGACY_RENAMES

AnyConfig = TrainingConfig | InferenceConfig | ModelConfig


def resolve_model_object_policy(
    config: ModelConfig, *, backend: str | None = None, warn_deprecated: bool = True
) -> ModelConfig:
    """A new ModelConfig with object_big, object_layout, training_canvas and
    training_patch_weighting resolved; an explicitly set object_big warns (deprecated)."""
    if not isinstance(config, ModelConfig):
        raise TypeError("config must be ModelConfig")
    explicit = config.object_big if "object_big" in config.model_fields_set else None
    resolve_public_object_policy(  # checks and warns as the reference does
        object_big=explicit,
        object_layout=config.object_layout,
        training_canvas=config.training_canvas,
        training_patch_weighting=config.training_patch_weighting,
        pad_object=config.pad_object,
        probe_big=config.probe_big,
        backend=backend,
        warn_deprecated=warn_deprecated,
    )
    return config.model_copy(update=resolved_policy(config))


def _check_object_policy(config: AnyConfig) -> None:
    """The reference resolves (and warns about) the object policy before writing legacy keys."""
    resolve_model_object_policy(config if isinstance(config, ModelConfig) else config.model)


def dataclass_to_legacy_dict(config: AnyConfig | SimulationConfig) -> dict[str, Any]:
    """Every legacy key of ``config`` and its nested model (or of a simulation recipe), None
    values included."""
    if isinstance(config, SimulationConfig):
        return simulation_legacy_dict(config)
    legacy = to_legacy_dict(config)  # first: no config at all is its ArgumentTypeError
    _check_object_policy(config)
    return legacy


def update_legacy_dict(cfg: MutableMapping[str, Any], config: AnyConfig | SimulationConfig) -> None:
    """Write the legacy keys of ``config`` into ``cfg`` in place, skipping None values."""
    cfg.update({k: v for k, v in dataclass_to_legacy_dict(config).items() if v is not None})


def _revalidate(config: Any, schema: type[AnyConfig]) -> None:
    if not isinstance(config, schema):
        raise TypeError(f"expected a {schema.__name__}, got {type(config).__name__}")
    _check_object_policy(config)
    config.checked()


def validate_model_config(config: ModelConfig) -> None:
    """Re-check a ModelConfig; ValueError (a PtychoConfigError) lists every problem."""
    _revalidate(config, ModelConfig)


def validate_training_config(config: TrainingConfig) -> None:
    """Re-check a TrainingConfig and its model; ValueError lists every problem."""
    _revalidate(config, TrainingConfig)


def validate_inference_config(config: InferenceConfig) -> None:
    """Re-check an InferenceConfig and its model, and, as the reference does, that the model
    exists on disk (the paths tried: docs/legacy.md)."""
    _revalidate(config, InferenceConfig)
    path = Path(config.model_path)
    if path.is_dir():
        archive = path / MODEL_ARCHIVE
        if not archive.exists():
            raise ModelArchiveNotFoundError(
                f"Model archive not found: {archive}. "
                f"Expected {MODEL_ARCHIVE} in model_path directory."
            )
        return
    others = [path.with_suffix(".zip")]
    if path.name == "wts.h5":
        others.append(path.with_name(MODEL_ARCHIVE))
    if not any(candidate.exists() for candidate in (path, *others)):
        checked = ", ".join(str(candidate) for candidate in others)
        raise ConfigFileNotFoundError(f"model_path does not exist: {path} (also checked {checked})")


def load_yaml_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The mapping in a YAML file (empty file: ``{}``), read as config files are (size cap, YAML
    1.2 numbers, no key twice, bounded aliases); an error keeps its type and names the file."""
    import yaml  # only this function needs it

    where = as_path(path, "config file")  # "" is no path, not "."
    text = read_capped(where, "config file", CONFIG_FILE_CAP)  # its errors name the file
    try:
        data = load_yaml(text)
    except (yaml.YAMLError, ValueError) as error:  # ValueError: a key twice, too many values
        message = f"invalid YAML in config file {where}: {error}"
        try:
            renamed = type(error)(message)
        except TypeError:  # some YAML errors (ReaderError) take structured arguments only
            renamed = yaml.YAMLError(message)
        raise renamed from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(
            f"config file {where} must hold a mapping at the top level, got {type(data).__name__}"
        )
    return data
