"""The entry points of training and inference scripts.

Checks run in a fixed order and the first failure raises before anything is written:
files, then `n_groups`, then resolution, then (inference) agreement with the checkpoint.
Only then is the legacy dict populated, as the very last step.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ptycho_config._accelerator import ON_THIS_HOST, resolve_accelerator
from ptycho_config._errors import (
    ConfigFileNotFoundError,
    ConflictError,
    ConflictProblem,
    FileReadError,
    MissingValueError,
    MissingValueProblem,
    ModelArchiveNotFoundError,
    Problem,
    PtychoConfigError,
    show,
)
from ptycho_config._files import not_empty, require_directory, require_file
from ptycho_config._legacy import populate_quietly, to_legacy_dict
from ptycho_config._npz import DataFileFacts, inspect_data_file
from ptycho_config._payloads import InferencePayload, TrainingPayload
from ptycho_config._registry import KEYS, MODEL_DEFINING, PayloadKind, env_spellings
from ptycho_config._resolve import (
    Lazy,
    Resolved,
    merge,
    read_layers,
    sources_of,
)
from ptycho_config._schemas import ExecutionConfig, ModelConfig
from ptycho_config._snapshot import SNAPSHOT_NAME, load_snapshot
from ptycho_config._sources import ConfigSource, Layer
from ptycho_config._sources.mapping import MappingSource
from ptycho_config._torch_config import trained_knobs
from ptycho_config._torchrun import TorchrunLaunch, torchrun_launch

MODEL_ARCHIVE = "wts.h5.zip"
_N_GROUPS_SOURCES = ("override", "env", "dotenv", "secret", "settings", "file")

PathLike = str | os.PathLike[str]


def create_training_payload(
    train_data_file: PathLike,
    output_dir: PathLike,
    overrides: Mapping[str, Any] | None = None,
    execution_config: ExecutionConfig | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: PathLike | None = None,
    strict_env: bool | None = None,
    env_file: PathLike | None = None,
    secrets_dir: PathLike | None = None,
    settings_sources: Sequence[Any] = (),
    strict: bool = False,
    profile: str | None = None,
) -> TrainingPayload:
    """Resolve, validate and audit a training configuration, then populate the legacy dict.

    ``strict=True`` makes what the data file says binding: an unusable ``probeGuess`` and an
    explicit ``N`` that contradicts it are errors instead of warnings.
    """
    train_path = not_empty(train_data_file, "training data file")
    out = not_empty(output_dir, "output directory")
    require_file(train_path, "training data file")
    given = _with_paths(overrides, train_data_file=train_path, output_dir=out)
    explicit = _explicit_layers(
        "training", given, execution_config, environ=environ, config_file=config_file,
        strict_env=strict_env, env_file=env_file, secrets_dir=secrets_dir,
        settings_sources=settings_sources, profile=profile,
    )  # fmt: skip
    facts = _readable(inspect_data_file(train_path, strict=strict), "training data file")
    inferred = _inferred_source(facts, train_path, with_nphotons=True)
    layers = read_layers("training", [inferred], explicit)
    resolved = _for_this_host(_with_data_check(merge("training", layers), layers, strict))
    launch = _launch(resolved, environ)
    config = resolved.training_config
    legacy = to_legacy_dict(config)
    shared = _shared_fields(resolved, legacy)
    payload = TrainingPayload(training_config=config, launch=launch, **shared)
    populate_quietly(config, legacy)
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
    strict_env: bool | None = None,
    env_file: PathLike | None = None,
    secrets_dir: PathLike | None = None,
    settings_sources: Sequence[Any] = (),
    strict: bool = False,
    profile: str | None = None,
) -> InferencePayload:
    """Resolve an inference configuration against the trained model's snapshot, then populate.

    ``strict=True`` as for ``create_training_payload``, for the test data file.
    """
    model_dir = not_empty(model_path, "model directory")
    test_path = not_empty(test_data_file, "test data file")
    out = not_empty(output_dir, "output directory")
    require_directory(model_dir, "model directory")
    archive = model_dir / MODEL_ARCHIVE
    try:
        require_file(archive, "model archive")
    except ConfigFileNotFoundError as error:
        message = f"Model archive not found: {archive}"
        problem = Problem("model_path", f"holds no {MODEL_ARCHIVE}", str(model_dir))
        raise ModelArchiveNotFoundError(message, [problem]) from error
    require_file(test_path, "test data file")
    given = _with_paths(overrides, model_path=model_dir, test_data_file=test_path, output_dir=out)
    explicit = _explicit_layers(
        "inference", given, execution_config, environ=environ, config_file=config_file,
        strict_env=strict_env, env_file=env_file, secrets_dir=secrets_dir,
        settings_sources=settings_sources, profile=profile,
    )  # fmt: skip
    sources: list[ConfigSource] = []
    snapshot = load_snapshot(model_dir)
    if snapshot is not None:
        checkpoint = {**snapshot.model_values(), **trained_knobs(snapshot.training_config)}
        details = dict.fromkeys(checkpoint, f"{SNAPSHOT_NAME} in {model_dir}")
        sources.append(MappingSource("checkpoint", checkpoint, details))
    facts = _readable(inspect_data_file(test_path, strict=strict), "test data file")
    # a fallback probe size is no reading of the data: the trained model's N stands
    trust_fallback = snapshot is None
    sources.append(_inferred_source(facts, test_path, with_fallback=trust_fallback))
    layers = read_layers("inference", sources, explicit)
    resolved = merge("inference", layers)
    if snapshot is not None:
        _check_against_checkpoint(layers)
    resolved = _for_this_host(_with_data_check(resolved, layers, strict))
    launch = _launch(resolved, environ)
    training = snapshot.training_config if snapshot is not None else None
    config = resolved.inference_config
    legacy = to_legacy_dict(config)
    payload = InferencePayload(
        inference_config=config,
        launch=launch,
        trained=training,
        data_nphotons=facts.nphotons,
        **_shared_fields(resolved, legacy),
    )
    populate_quietly(config, legacy)
    return payload


def _readable(facts: DataFileFacts, what: str) -> DataFileFacts:
    """The facts of a data file that is a readable NPZ; FileReadError for any other file."""
    if facts.file_problem is not None:
        message = f"{what} is not a readable NPZ file: {facts.file_problem}; {facts.probe_fix}"
        raise FileReadError(message, [Problem(what, facts.file_problem)]) from facts.probe_cause
    return facts


def _with_data_check(resolved: Resolved, layers: list[Layer], strict: bool) -> Resolved:
    """An explicit N that contradicts the data's probe size: a warning, noted in provenance
    (strict: a ConflictError)."""
    key = "model.N"
    inferred = next((layer.entries.get(key) for layer in layers if layer.kind == "inferred"), None)
    origin = resolved.provenance[key]
    if inferred is None or origin.kind in ("inferred", "default", "checkpoint"):
        return resolved
    n = resolved.value(key)
    if n == inferred.value or "fallback" in inferred.detail:
        return resolved
    note = f"contradicts {inferred.detail} (N = {inferred.value})"
    if strict:
        message = f"{key} = {n} ({origin}) {note}; set N to {inferred.value} or leave it unset"
        raise ConflictError(message, [ConflictProblem(key, message, n, str(origin))])
    warnings.warn(
        f"{key} = {n} ({origin}) {note}; the data will be cut or padded to N = {n}",
        UserWarning,
        stacklevel=3,
    )
    return resolved.noting(key, note)


def _explicit_layers(
    payload: PayloadKind,
    given: Mapping[str, Any],
    execution_config: ExecutionConfig | None,
    **arguments: Any,
) -> list[Layer]:
    """The caller's own sources, read before any data file, with n_groups required among them."""
    layers = read_layers(payload, sources_of(given, execution_config, **arguments))
    _require_n_groups(layers, payload)
    return layers


def _shared_fields(resolved: Resolved, legacy: dict[str, Any]) -> dict[str, Any]:
    """The payload fields both kinds carry; ``legacy`` is the config's legacy dict."""
    return {
        "execution_config": resolved.execution_config,
        "overrides_applied": Lazy(lambda: resolved.applied),
        "provenance": resolved.provenance,
        "legacy_params": MappingProxyType(legacy),
        "values": Lazy(resolved.values),
    }


def _launch(resolved: Resolved, environ: Mapping[str, str] | None) -> TorchrunLaunch | None:
    """The torchrun launch of this process, if any, checked against ``execution.devices``."""
    return torchrun_launch(
        os.environ if environ is None else environ,
        resolved.execution_config.devices,
        resolved.provenance["execution.devices"],
    )


def _with_paths(overrides: Mapping[str, Any] | None, **paths: Path) -> dict[str, Any]:
    """Paths given as arguments count as overrides; the same key given differently is an error."""
    if overrides is not None and not isinstance(overrides, Mapping):
        raise TypeError(f"overrides must be a mapping, got {type(overrides).__name__}")
    given = dict(overrides or {})
    for name, path in paths.items():
        if name in given and not _same_path(given[name], path):
            message = (
                f"{name} is given as an argument ({path}) and as an override "
                f"({show(given[name])}); give it once"
            )
            raise ConflictError(message, [ConflictProblem(name, message, given[name])])
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
    message = (
        "n_groups is required and was not given: pass overrides={'n_groups': ...}, "
        f"set {variables} in the environment, "
        "or put n_groups in the config file (a default does not count)"
    )
    missing = MissingValueProblem(key, message)
    # a misspelt n_groups is reported as the typo, with its suggestion, before 'required'
    problems = [problem for layer in layers for problem in layer.problems]
    if problems:
        raise PtychoConfigError.from_problems([*problems, missing], payload)
    raise MissingValueError(message, [missing])


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


def _for_this_host(resolved: Resolved) -> Resolved:
    """Resolve accelerator='auto' for this host; provenance and audit trail say so."""
    execution = resolve_accelerator(resolved.execution_config, resolved.config.backend)
    if execution.accelerator == resolved.execution_config.accelerator:
        return resolved
    note = f"'auto' resolved to '{execution.accelerator}' {ON_THIS_HOST}"
    return resolved.noting("execution.accelerator", note, execution)
