"""PtychoPINN's simulation recipes: frozen dataclasses, their checks, loader, hash and legacy keys.

A recipe describes synthetic data generation, not a training or inference run, so it is not
part of the library's resolved configuration; its checks and messages are the reference's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DetectorSimulationConfig",
    "ProbeSimulationConfig",
    "ScanSimulationConfig",
    "SimulationConfig",
    "SyntheticObjectConfig",
    "load_simulation_config",
    "simulation_config_from_mapping",
    "simulation_config_sha256",
    "simulation_config_to_dict",
    "simulation_legacy_dict",
    "validate_simulation_compatibility",
    "validate_simulation_config",
]


@dataclass(frozen=True)
class ProbeSimulationConfig:
    source: str = "custom"
    source_path: Path | None = None
    transform_pipeline: str = "pad_preserve:64"
    mask_diameter: float | None = None


@dataclass(frozen=True)
class SyntheticObjectConfig:
    kind: str = "lines"
    image_size: tuple[int, int] = (392, 392)
    objects_per_probe: int = 4
    diffractions_per_object: int = 7000
    set_phi: bool = False


@dataclass(frozen=True)
class ScanSimulationConfig:
    kind: str = "grid"
    grid_size: tuple[int, int] = (1, 1)
    offset: int = 4
    outer_offset_train: int = 8
    outer_offset_test: int = 20
    train_groups: int = 2
    test_groups: int = 2
    buffer: int = 0


@dataclass(frozen=True)
class DetectorSimulationConfig:
    photons_per_pattern: float = 1e9
    beamstop_diameter: float | None = None


@dataclass(frozen=True)
class SimulationConfig:
    """A synthetic data recipe: probe, object, scan and detector (checked by ``validate``)."""

    N: int = 64
    probe: ProbeSimulationConfig = field(default_factory=ProbeSimulationConfig)
    object: SyntheticObjectConfig = field(default_factory=SyntheticObjectConfig)
    scan: ScanSimulationConfig = field(default_factory=ScanSimulationConfig)
    detector: DetectorSimulationConfig = field(default_factory=DetectorSimulationConfig)
    seed: int | None = None


_SECTIONS: dict[str, type] = {
    "probe": ProbeSimulationConfig,
    "object": SyntheticObjectConfig,
    "scan": ScanSimulationConfig,
    "detector": DetectorSimulationConfig,
}
_PAIRS = {("object", "image_size"), ("scan", "grid_size")}
_SIZED_OPS = (
    "pad", "pad_preserve", "interp", "pad_extrapolate", "pad_extrapolate_boundary_matched",
)  # fmt: skip
_PIPELINE = "simulation.probe.transform_pipeline"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unknown(where: str, given: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(str(k) for k in given if k not in known)
    if unknown:
        names = ", ".join(f"{where}.{name}" for name in unknown)
        raise ValueError(f"{names} is not a recognized simulation configuration field")


def _pair(where: str, value: Any) -> tuple[int, int]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"{where} must be a two-element dimension pair")
    if not all(_is_int(item) for item in value):
        raise ValueError(f"{where} dimensions must be integers")
    return (value[0], value[1])


def _section(name: str, value: Any) -> Any:
    cls = _SECTIONS[name]
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"simulation.{name} must be a mapping")
    _unknown(f"simulation.{name}", value, {f.name for f in dataclasses.fields(cls)})
    values = dict(value)
    for section, key in _PAIRS:
        if section == name and key in values:
            values[key] = _pair(f"simulation.{name}.{key}", values[key])
    if name == "probe" and values.get("source_path") is not None:
        if not isinstance(values["source_path"], str | os.PathLike):
            raise ValueError("simulation.probe.source_path must be a filesystem path")
        values["source_path"] = Path(values["source_path"])
    return cls(**values)


def simulation_config_from_mapping(values: Any) -> SimulationConfig:
    """A validated recipe from a (nested) mapping; unknown keys are errors at every level."""
    if not isinstance(values, Mapping):
        raise ValueError("simulation must be a mapping")
    _unknown("simulation", values, {f.name for f in dataclasses.fields(SimulationConfig)})
    built = {k: _section(k, v) if k in _SECTIONS else v for k, v in values.items()}
    config = SimulationConfig(**built)
    validate_simulation_config(config)
    return config


def pipeline_size(pipeline: Any) -> int:
    """The final probe size a transform pipeline produces; ValueError for a malformed one."""
    if not isinstance(pipeline, str) or not pipeline.strip():
        raise ValueError(f"{_PIPELINE} must be non-empty")
    operations = pipeline.split("|")
    size = None
    for index, segment in enumerate(operations):
        op, _, params = segment.strip().partition(":")
        if not op:
            raise ValueError(f"{_PIPELINE} contains an empty operation")
        if op == "smooth":
            if not params or not (math.isfinite(float(params)) and float(params) >= 0):
                raise ValueError("smooth requires a sigma")
        elif op in _SIZED_OPS:
            first = params.split(",")[0].strip()
            if not first:
                raise ValueError(f"{op} requires a target size")
            size = int(first)
            if size <= 0:
                raise ValueError(f"{op} target size must be positive")
            if op == _SIZED_OPS[-1] and index != len(operations) - 1:
                raise ValueError(f"{op} must be the final operation in {_PIPELINE}")
        else:
            raise ValueError(f"Unknown {_PIPELINE} operation {op!r}")
    if size is None:
        raise ValueError(f"{_PIPELINE} must resolve an explicit final size")
    return size


def _positive_number(where: str, value: Any, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{where} must be a finite positive number")
    if not (math.isfinite(value) and float(value) > 0):
        raise ValueError(f"{where} must be finite and positive")


def _square(where: str, value: Any) -> None:
    if not isinstance(value, tuple) or len(value) != 2:
        raise ValueError(f"{where} must be a two-element tuple")
    if not all(_is_int(v) and v > 0 for v in value):
        raise ValueError(f"{where} dimensions must be positive integers")
    if value[0] != value[1]:
        raise ValueError(f"{where} must be square, got {value}")


def validate_simulation_config(config: Any) -> None:
    """The reference's checks, in its order; the first failure raises ValueError."""
    if not isinstance(config, SimulationConfig):
        raise TypeError("config must be a SimulationConfig")
    probe, obj, scan, detector = config.probe, config.object, config.scan, config.detector
    if not (_is_int(config.N) and config.N > 0):
        raise ValueError(f"simulation.N must be a positive integer, got {config.N}")
    if probe.source not in ("custom", "ideal"):
        raise ValueError(
            f"simulation.probe.source must be 'custom' or 'ideal', got {probe.source!r}"
        )
    if probe.source == "ideal" and probe.source_path is not None:
        raise ValueError(
            "simulation.probe.source_path must be omitted when simulation.probe.source='ideal'"
        )
    if probe.source_path is not None and not isinstance(probe.source_path, Path):
        raise ValueError("simulation.probe.source_path must be a Path when set")
    _positive_number("simulation.probe.mask_diameter", probe.mask_diameter, optional=True)
    final = pipeline_size(probe.transform_pipeline)
    if final != config.N:
        raise ValueError(f"{_PIPELINE} final size {final} does not match simulation.N {config.N}")
    if obj.kind not in ("lines", "dead_leaves", "natural_patch"):
        raise ValueError(f"Unsupported simulation.object.kind {obj.kind!r}")
    _square("simulation.object.image_size", obj.image_size)
    for name in ("objects_per_probe", "diffractions_per_object"):
        if not (_is_int(getattr(obj, name)) and getattr(obj, name) > 0):
            raise ValueError(f"simulation.object.{name} must be positive")
    if scan.kind not in ("grid", "nongrid"):
        raise ValueError(f"Unsupported simulation.scan.kind {scan.kind!r}")
    _square("simulation.scan.grid_size", scan.grid_size)
    for name in ("offset", "outer_offset_train", "outer_offset_test", "buffer"):
        if not (_is_int(getattr(scan, name)) and getattr(scan, name) >= 0):
            raise ValueError(f"simulation.scan.{name} must be a non-negative integer")
    for name in ("train_groups", "test_groups"):
        if not (_is_int(getattr(scan, name)) and getattr(scan, name) > 0):
            raise ValueError(f"simulation.scan.{name} must be a positive integer")
    _positive_number("simulation.detector.photons_per_pattern", detector.photons_per_pattern)
    where = "simulation.detector.beamstop_diameter"
    _positive_number(where, detector.beamstop_diameter, optional=True)
    if config.seed is not None and not _is_int(config.seed):
        raise ValueError("simulation.seed must be an integer or None")


def simulation_config_to_dict(config: SimulationConfig) -> dict[str, Any]:
    """The validated recipe as a JSON-ready nested dict, in the reference's key order."""
    validate_simulation_config(config)
    probe, obj, scan, det = config.probe, config.object, config.scan, config.detector
    ints = ("offset", "outer_offset_train", "outer_offset_test", "train_groups", "test_groups")
    return {
        "N": int(config.N),
        "seed": None if config.seed is None else int(config.seed),
        "probe": {
            "source": probe.source,
            "source_path": None if probe.source_path is None else str(probe.source_path),
            "transform_pipeline": probe.transform_pipeline,
            "mask_diameter": probe.mask_diameter,  # not coerced, as in the reference
        },
        "object": {
            "kind": obj.kind,
            "image_size": list(obj.image_size),
            "objects_per_probe": int(obj.objects_per_probe),
            "diffractions_per_object": int(obj.diffractions_per_object),
            "set_phi": bool(obj.set_phi),
        },
        "scan": {
            "kind": scan.kind,
            "grid_size": list(scan.grid_size),
            **{name: int(getattr(scan, name)) for name in ints},
            "buffer": int(scan.buffer),
        },
        "detector": {
            "photons_per_pattern": float(det.photons_per_pattern),
            "beamstop_diameter": det.beamstop_diameter,
        },
    }


def simulation_config_sha256(config: SimulationConfig) -> str:
    """SHA-256 of the canonical JSON of ``simulation_config_to_dict``."""
    text = json.dumps(
        simulation_config_to_dict(config), sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_simulation_config(path: str | os.PathLike[str]) -> SimulationConfig:
    """A recipe from a .toml, .yaml/.yml or .json file, flat or under a ``simulation`` table."""
    where = Path(path)
    suffix = where.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise ValueError("simulation config path must end in .toml, .yaml, .yml, or .json")
    try:
        text = where.read_text(encoding="utf-8")
        document = _parse(text, suffix)
    except (OSError, UnicodeError, ValueError) as error:
        raise ValueError(f"could not load simulation config {where}: {error}") from error
    if not isinstance(document, Mapping):
        raise ValueError("simulation config document must contain a mapping")
    if "simulation" in document:
        extra = sorted(str(k) for k in document if k != "simulation")
        if extra:
            raise ValueError(f"simulation config document has unexpected top-level keys {extra}")
        document = document["simulation"]
        if not isinstance(document, Mapping):
            raise ValueError("simulation config document's simulation value must be a mapping")
    return simulation_config_from_mapping(document)


def _parse(text: str, suffix: str) -> Any:
    if suffix == ".toml":
        import tomllib

        return tomllib.loads(text)
    if suffix == ".json":
        return json.loads(text)
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(str(error)) from error


def validate_simulation_compatibility(simulation: SimulationConfig, model: Any) -> None:
    """The recipe must produce what the model reads: its N and its square grid."""
    validate_simulation_config(simulation)
    if simulation.N != model.N:
        raise ValueError(f"simulation.N={simulation.N} conflicts with model.N={model.N}")
    if simulation.scan.grid_size != (model.gridsize, model.gridsize):
        raise ValueError(
            f"simulation.scan.grid_size={simulation.scan.grid_size} conflicts with "
            f"model.gridsize={model.gridsize}"
        )


def simulation_legacy_dict(config: SimulationConfig) -> dict[str, Any]:
    """The 22 legacy keys of a validated recipe."""
    validate_simulation_config(config)
    probe, obj, scan, det = config.probe, config.object, config.scan, config.detector
    return {
        "N": config.N,
        "probe_source": "ideal_disk" if probe.source == "ideal" else probe.source,
        "probe_npz": None if probe.source_path is None else str(probe.source_path),
        "probe_transform_pipeline": probe.transform_pipeline,
        "probe_mask_diameter": probe.mask_diameter,
        "data_source": obj.kind,
        "object_class": obj.kind,
        "size": obj.image_size[0],
        "objects_per_probe": obj.objects_per_probe,
        "diff_per_object": obj.diffractions_per_object,
        "set_phi": obj.set_phi,
        "scan_kind": scan.kind,
        "gridsize": scan.grid_size[0],
        "offset": scan.offset,
        "outer_offset_train": scan.outer_offset_train,
        "outer_offset_test": scan.outer_offset_test,
        "nimgs_train": scan.train_groups,
        "nimgs_test": scan.test_groups,
        "max_position_jitter": scan.buffer,
        "nphotons": det.photons_per_pattern,
        "beamstop_diameter": det.beamstop_diameter,
        "npseed": config.seed,
    }


def simulation_from_datagen(datagen: Any, base: Any = None) -> SimulationConfig:
    """A DatagenConfig over ``base`` (default recipe), validated."""
    if not isinstance(datagen.object_class, str):
        raise ValueError("DatagenConfig requires a single object_class")
    if len(datagen.probe_paths) > 1:
        raise ValueError(
            "DatagenConfig can convert exactly one probe path (or none) to SimulationConfig"
        )
    if base is None:
        base = SimulationConfig()
    if not isinstance(base, SimulationConfig):
        raise TypeError("base must be a SimulationConfig")
    probe = base.probe
    if datagen.probe_paths:
        probe = dataclasses.replace(
            probe, source="custom", source_path=Path(datagen.probe_paths[0])
        )
    result = dataclasses.replace(
        base,
        probe=probe,
        object=dataclasses.replace(
            base.object,
            kind=datagen.object_class,
            image_size=tuple(datagen.image_size),
            objects_per_probe=datagen.objects_per_probe,
            diffractions_per_object=datagen.diff_per_object,
        ),
        detector=dataclasses.replace(base.detector, beamstop_diameter=datagen.beamstop_diameter),
    )
    validate_simulation_config(result)
    return result


def datagen_fields(simulation: Any) -> dict[str, Any]:
    """The DatagenConfig fields of a recipe (N, scan, photons, seed and the pipeline dropped)."""
    if not isinstance(simulation, SimulationConfig):
        raise TypeError("simulation must be a SimulationConfig")
    validate_simulation_config(simulation)
    if simulation.probe.source == "ideal":
        raise ValueError(
            "DatagenConfig cannot represent an ideal probe without losing source semantics"
        )
    path = simulation.probe.source_path
    return {
        "objects_per_probe": simulation.object.objects_per_probe,
        "diff_per_object": simulation.object.diffractions_per_object,
        "object_class": simulation.object.kind,
        "image_size": tuple(simulation.object.image_size),
        "probe_paths": [] if path is None else [str(path)],
        "beamstop_diameter": simulation.detector.beamstop_diameter,
    }
