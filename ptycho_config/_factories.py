"""The entry points of training and inference scripts.

Checks run in a fixed order and the first failure raises before anything is written:
files, then `n_groups`, then resolution, then (inference) agreement with the checkpoint.
Only then is the legacy dict populated, as the very last step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ptycho_config._accelerator import resolve_accelerator
from ptycho_config._errors import (
    ConfigFileNotFoundError,
    ConflictError,
    ConflictProblem,
    MissingValueError,
    ModelArchiveNotFoundError,
    Problem,
    show,
)
from ptycho_config._legacy import populate_quietly, to_legacy_dict
from ptycho_config._npz import DataFileFacts, inspect_data_file
from ptycho_config._payloads import InferencePayload, TrainingPayload
from ptycho_config._provenance import Source
from ptycho_config._registry import KEYS, MODEL_DEFINING, PayloadKind, env_spellings
from ptycho_config._resolve import (
    LazyValues,
    Resolved,
    audit_trail,
    merge,
    read_layers,
    sources_of,
)
from ptycho_config._schemas import ExecutionConfig, ModelConfig, TrainingConfig
from ptycho_config._snapshot import SNAPSHOT_NAME, load_snapshot
from ptycho_config._sources import ConfigSource, Layer
from ptycho_config._sources.mapping import MappingSource
from ptycho_config._torch_config import (
    torch_data_config,
    torch_inference_config,
    torch_model_config,
    torch_training_config,
    trained_knobs,
)

MODEL_ARCHIVE = "wts.h5.zip"
_N_GROUPS_SOURCES = ("override", "env", "file")

PathLike = str | os.PathLike[str]


def create_training_payload(
    train_data_file: PathLike,
    output_dir: PathLike,
    overrides: Mapping[str, Any] | None = None,
    execution_config: ExecutionConfig | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: PathLike | None = None,
    strict_env: bool = True,
    profile: str | None = None,
) -> TrainingPayload:
    """Resolve, validate and audit a training configuration, then populate the legacy dict."""
    train_path = Path(train_data_file)
    if not train_path.is_file():
        raise ConfigFileNotFoundError(f"Training data file not found: {train_path}")
    given = _with_paths(overrides, train_data_file=train_path, output_dir=Path(output_dir))
    sources = _explicit_sources(
        "training", given, execution_config, environ, config_file, strict_env, profile
    )
    facts = inspect_data_file(train_path)
    sources.append(_inferred_source(facts, train_path, with_nphotons=True))
    layers = read_layers("training", sources)
    resolved = _for_this_host(merge("training", layers), layers)
    config = resolved.training_config
    payload = TrainingPayload(
        training_config=config,
        pt_training_config=torch_training_config(config, resolved.execution_config),
        **_shared_fields(resolved, training=config),
    )
    populate_quietly(config, payload.legacy_params)
    return payload


def create_inference_payload(
    model_path: PathLike,
    test_data_file: PathLike,
    output_dir: PathLike,
    overrides: Mapping[str, Any] | None = None,
    execution_config: ExecutionConfig | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: PathLike | None = None,
    strict_env: bool = True,
    profile: str | None = None,
) -> InferencePayload:
    """Resolve an inference configuration against the trained model's snapshot, then populate."""
    model_dir, test_path = Path(model_path), Path(test_data_file)
    if not model_dir.is_dir():
        raise ConfigFileNotFoundError(f"Model directory not found: {model_dir}")
    if not (model_dir / MODEL_ARCHIVE).is_file():
        raise ModelArchiveNotFoundError(f"Model archive not found: {model_dir / MODEL_ARCHIVE}")
    if not test_path.is_file():
        raise ConfigFileNotFoundError(f"Test data file not found: {test_path}")
    given = _with_paths(
        overrides, model_path=model_dir, test_data_file=test_path, output_dir=Path(output_dir)
    )
    sources = _explicit_sources(
        "inference", given, execution_config, environ, config_file, strict_env, profile
    )
    snapshot = load_snapshot(model_dir)
    if snapshot is not None:
        checkpoint = {**snapshot.model_values(), **trained_knobs(snapshot.training_config)}
        details = dict.fromkeys(checkpoint, f"{SNAPSHOT_NAME} in {model_dir}")
        sources.append(MappingSource("checkpoint", checkpoint, details))
    facts = inspect_data_file(test_path)
    # a fallback probe size is no reading of the data: the trained model's N stands
    trust_fallback = snapshot is None
    sources.append(_inferred_source(facts, test_path, with_fallback=trust_fallback))
    layers = read_layers("inference", sources)
    resolved = merge("inference", layers)
    if snapshot is not None:
        _check_against_checkpoint(layers)
    resolved = _for_this_host(resolved, layers)
    training = snapshot.training_config if snapshot is not None else None
    config = resolved.inference_config
    payload = InferencePayload(
        inference_config=config, **_shared_fields(resolved, training, facts.nphotons)
    )
    populate_quietly(config, payload.legacy_params)
    return payload


def _explicit_sources(
    payload: PayloadKind,
    given: Mapping[str, Any],
    execution_config: ExecutionConfig | None,
    environ: Mapping[str, str] | None,
    config_file: PathLike | None,
    strict_env: bool,
    profile: str | None = None,
) -> list[ConfigSource]:
    """The caller's own sources, read before any data file, with n_groups required among them."""
    sources = sources_of(
        given, execution_config, environ=environ, config_file=config_file,
        strict_env=strict_env, profile=profile,
    )  # fmt: skip
    _require_n_groups(read_layers(payload, sources), payload)
    return sources


def _shared_fields(
    resolved: Resolved, training: TrainingConfig | None, nphotons: float | None = None
) -> dict[str, Any]:
    """The payload fields both kinds carry; ``training`` is the run's or the trained model's."""
    config, execution = resolved.config, resolved.execution_config
    return {
        "pt_data_config": torch_data_config(config, training, nphotons),
        "pt_model_config": torch_model_config(config, training, execution),
        "pt_inference_config": torch_inference_config(execution, training, config.torch),
        "execution_config": execution,
        "overrides_applied": resolved.applied,
        "provenance": resolved.provenance,
        "legacy_params": MappingProxyType(to_legacy_dict(config)),
        "values": LazyValues(resolved),
    }


def _with_paths(overrides: Mapping[str, Any] | None, **paths: Path) -> dict[str, Any]:
    """Paths given as arguments count as overrides; the same key given differently is an error."""
    if overrides is not None and not isinstance(overrides, Mapping):
        raise TypeError(f"overrides must be a mapping, got {type(overrides).__name__}")
    given = dict(overrides or {})
    for name, path in paths.items():
        if name in given and not _same_path(given[name], path):
            raise ConflictError(
                f"{name} is given as an argument ({path}) and as an override "
                f"({show(given[name])}); give it once"
            )
        given[name] = path
    return given


def _same_path(given: Any, path: Path) -> bool:
    try:
        return Path(str(given)) == path
    except ValueError:  # e.g. an integer too long to print, which is no path anyway
        return False


def _require_n_groups(layers: list[Layer], payload: PayloadKind) -> None:
    key = f"{payload}.n_groups"
    if any(layer.kind in _N_GROUPS_SOURCES and key in layer.entries for layer in layers):
        return
    variables = " or ".join(reversed(env_spellings(KEYS[key], payload)))
    raise MissingValueError(
        "n_groups is required and was not given: pass overrides={'n_groups': ...}, "
        f"set {variables} in the environment, "
        "or put n_groups in the config file (a default does not count)"
    )


def _inferred_source(
    facts: DataFileFacts,
    data_file: Path,
    *,
    with_nphotons: bool = False,
    with_fallback: bool = True,
) -> MappingSource:
    """The values read from a data file; a fallback probe size is recorded as such."""
    values: dict[str, Any] = {}
    details: dict[str, str] = {}
    if facts.probe_fallback is None:
        values["N"], details["N"] = facts.probe_size, f"probeGuess in {data_file.name}"
    elif with_fallback:
        values["N"] = facts.probe_size
        details["N"] = f"fallback {facts.probe_size}: {facts.probe_fallback}"
    if with_nphotons and facts.nphotons is not None:
        values["nphotons"] = facts.nphotons
        details["nphotons"] = f"_metadata in {data_file.name}"
    return MappingSource("inferred", values, details)


def _check_against_checkpoint(layers: list[Layer]) -> None:
    """No source but the defaults may contradict the trained model on a model-defining key."""
    checkpoint = next(layer for layer in layers if layer.kind == "checkpoint")
    problems: list[Problem] = []
    for name in MODEL_DEFINING:
        key = f"model.{name}"
        trained = checkpoint.entries.get(key)
        if trained is None:
            continue
        for layer in layers:
            entry = layer.entries.get(key)
            if layer is checkpoint or entry is None or _same(name, entry.value, trained.value):
                continue
            problems.append(
                ConflictProblem(
                    key,
                    f"{layer.describe(entry)} gives {show(entry.raw)} but the trained model "
                    f"({checkpoint.describe(trained)}) has {show(trained.value)}",
                )
            )
    if problems:
        raise ConflictError.from_problems(problems, "inference")


def _same(name: str, given: Any, trained: Any) -> bool:
    try:
        return bool(getattr(ModelConfig.model_validate({name: given}), name) == trained)
    except ValueError:
        return False


def _for_this_host(resolved: Resolved, layers: list[Layer]) -> Resolved:
    """Resolve accelerator='auto' for this host; provenance and audit trail say so."""
    execution = resolve_accelerator(resolved.execution_config, resolved.config.backend)
    if execution.accelerator == resolved.execution_config.accelerator:
        return resolved
    key = "execution.accelerator"
    origin = resolved.provenance[key]
    note = f"'auto' resolved to '{execution.accelerator}' on this host"
    detail = f"{origin.detail}; {note}" if origin.detail else note
    provenance = MappingProxyType({**resolved.provenance, key: Source(origin.kind, detail)})
    on_host = replace(resolved, execution_config=execution, provenance=provenance)
    return replace(on_host, applied=MappingProxyType(audit_trail(on_host, layers)))
