"""The entry points of training and inference scripts: every check of a run, in the order
docs/factories.md gives, before the legacy dict is populated as the very last step."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from pydantic import ValidationError

from ptycho_config._datafiles.npz import DataFileFacts, inspect_data_file
from ptycho_config._errors import (
    SECRET_SHOWN,
    ArgumentTypeError,
    ConfigFileNotFoundError,
    ConflictError,
    FileReadError,
    InvalidValueError,
    MissingValueError,
    ModelArchiveNotFoundError,
    Problem,
    PtychoConfigError,
    show,
    yes_or_no,
)
from ptycho_config._factories.payloads import InferencePayload, TrainingPayload
from ptycho_config._factories.snapshot import (
    MODEL_ARCHIVE,
    SNAPSHOT_NAME,
    Snapshot,
    load_snapshot,
)
from ptycho_config._files import require_directory, require_file
from ptycho_config._legacy.bridge import populate_quietly, to_legacy_dict
from ptycho_config._merge.accelerator import ON_THIS_HOST, resolve_accelerator
from ptycho_config._merge.resolve import (
    Resolved,
    SourceOptions,
    merge,
    read_layers,
    same_field_value,
    sources_of,
)
from ptycho_config._schemas.base import adapter_of, message_of
from ptycho_config._schemas.registry import KEYS, MODEL_DEFINING, PayloadKind, env_spellings
from ptycho_config._schemas.sections import SECTIONS, ExecutionConfig
from ptycho_config._sources.kinds import EXPLICIT_KINDS
from ptycho_config._sources.layer import ConfigSource, Layer
from ptycho_config._sources.mapping import MappingSource
from ptycho_config._torch.config import trained_knobs
from ptycho_config._torch.torchrun import TorchrunLaunch, torchrun_launch

# The paths of a run, keys like any other; the command line's flag of each.
RUN_PATHS: dict[PayloadKind, tuple[str, ...]] = {
    "training": ("train_data_file", "output_dir"),
    "inference": ("model_path", "test_data_file", "output_dir"),
}
# Each run's data file, by key and in words.
DATA_FILES: dict[PayloadKind, tuple[str, str]] = {
    "training": ("train_data_file", "training data file"),
    "inference": ("test_data_file", "test data file"),
}
PATH_FLAGS = {
    "train_data_file": "--train-data", "test_data_file": "--test-data",
    "model_path": "--model-path", "output_dir": "--output-dir",
}  # fmt: skip

PathLike = str | os.PathLike[str]


def create_training_payload(
    train_data_file: PathLike | None = None,
    output_dir: PathLike | None = None,
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

    A path argument left ``None`` comes from the other sources (``PTYCHO_TRAIN_DATA_FILE``, a
    config file, ...). ``strict=True`` makes what the data file says binding: an unusable
    ``probeGuess`` and an explicit ``N`` that contradicts it are errors instead of warnings.
    """
    paths = {"train_data_file": train_data_file, "output_dir": output_dir}
    options = SourceOptions(
        environ=environ, config_file=config_file, strict_env=strict_env, env_file=env_file,
        secrets_dir=secrets_dir, settings_sources=settings_sources, profile=profile,
    )  # fmt: skip
    payload = payload_of("training", paths, overrides, execution_config, options, strict)
    return cast(TrainingPayload, payload)


def create_inference_payload(
    model_path: PathLike | None = None,
    test_data_file: PathLike | None = None,
    output_dir: PathLike | None = None,
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
    """Resolve an inference configuration against the trained model's snapshot, then populate;
    path arguments and ``strict`` as for ``create_training_payload``."""
    paths = {"model_path": model_path, "test_data_file": test_data_file, "output_dir": output_dir}
    options = SourceOptions(
        environ=environ, config_file=config_file, strict_env=strict_env, env_file=env_file,
        secrets_dir=secrets_dir, settings_sources=settings_sources, profile=profile,
    )  # fmt: skip
    payload = payload_of("inference", paths, overrides, execution_config, options, strict)
    return cast(InferencePayload, payload)


def payload_of(
    kind: PayloadKind,
    paths: Mapping[str, PathLike | None],
    overrides: Mapping[str, Any] | None,
    execution_config: ExecutionConfig | None,
    options: SourceOptions,
    strict: bool,
) -> TrainingPayload | InferencePayload:
    """The payload of a run from the sources the arguments name; the legacy dict populated."""
    yes_or_no("strict", strict)
    sources = run_sources(paths, overrides, execution_config, options)
    resolved, snapshot, facts, launch = run(kind, sources, environ=options.environ, strict=strict)
    legacy = to_legacy_dict(resolved.config)
    shared: dict[str, Any] = {
        "execution_config": resolved.execution_config,
        "overrides_applied": resolved.applied,
        "provenance": resolved.provenance,
        "legacy_params": MappingProxyType(legacy),
        "launch": launch,
    }
    payload: TrainingPayload | InferencePayload
    if kind == "training":
        payload = TrainingPayload(training_config=resolved.training_config, **shared)
    else:
        payload = InferencePayload(
            inference_config=resolved.inference_config,
            trained=snapshot.training_config if snapshot is not None else None,
            data_nphotons=facts.nphotons if facts is not None else None,
            **shared,
        )
    populate_quietly(legacy)
    return payload


def run_sources(
    paths: Mapping[str, PathLike | None],
    overrides: Mapping[str, Any] | None,
    execution_config: ExecutionConfig | None,
    options: SourceOptions,
) -> list[ConfigSource]:
    """The sources a run's arguments name. Its path arguments are overrides: one left None
    leaves the key to the other sources, and the same key given differently is an error."""
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ArgumentTypeError(f"overrides must be a mapping, got {type(overrides).__name__}")
    given = dict(overrides or {})
    for name, path in paths.items():
        if path is None:
            continue
        if name in given and show(given[name]) != show(path) and str(given[name]) != str(path):
            message = (
                f"{name} is given as an argument ({show(path)}) and as an override "
                f"({show(given[name])}); give it once"
            )
            raise ConflictError(message, [ConflictError.problem(name, message, given[name])])
        given[name] = path
    return sources_of(given, execution_config, options)


def run(
    kind: PayloadKind,
    sources: Sequence[ConfigSource],
    *,
    environ: Mapping[str, str] | None = None,
    strict: bool = False,
    complete: bool = True,
) -> tuple[Resolved, Snapshot | None, DataFileFacts | None, TorchrunLaunch | None]:
    """Every rule of a run, in order, and the torchrun launch ``environ`` (default
    ``os.environ``) describes. ``complete=False`` (bare ``ptycho-config check``): paths may be
    missing; those given are checked."""
    explicit = read_layers(kind, sources)
    with _secret_paths_hidden(explicit, kind):  # the errors of files and models name paths
        paths = _paths(explicit, kind, complete)
        model_dir, data_file = paths.get("model_path"), paths.get(DATA_FILES[kind][0])
        # each file's error names the source of its path: where to fix it
        model_key, data_key = f"{kind}.model_path", f"{kind}.{DATA_FILES[kind][0]}"
        if model_dir is not None:
            with _source_named(explicit, model_key):
                _require_model(model_dir)
        if data_file is not None:
            with _source_named(explicit, data_key):
                require_file(data_file, DATA_FILES[kind][1])
        _require_n_groups(explicit, kind)
        # a path the schema requires and check leaves unset still has a value to validate against
        required = (n for n in RUN_PATHS[kind] if KEYS[f"{kind}.{n}"].info.is_required())
        unset = {name: "." for name in required if name not in paths}
        found: list[ConfigSource] = [MappingSource("default", unset, dict.fromkeys(unset, "unset"))]
        with _source_named(explicit, model_key):
            snapshot = None if model_dir is None else load_snapshot(model_dir)
        if snapshot is not None:
            model = {
                f"model.{k}": v for k, v in snapshot.training_config.model.model_dump().items()
            }
            checkpoint = {**model, **trained_knobs(snapshot.training_config)}
            details = dict.fromkeys(checkpoint, f"{SNAPSHOT_NAME} in {model_dir}")
            found.append(MappingSource("checkpoint", checkpoint, details))
        facts = None
        if data_file is not None:
            with _source_named(explicit, data_key):
                facts = inspect_data_file(data_file, strict=strict)
                if (problem := facts.file_problem) is not None:  # no readable NPZ at all
                    what = DATA_FILES[kind][1]
                    message = f"{what} is not a readable NPZ file: {problem}; {facts.probe_fix}"
                    raise FileReadError(message, [Problem(what, problem)]) from facts.probe_cause
            # a fallback probe size is no reading of the data: the trained model's N stands
            found.append(_inferred_source(facts, data_file, kind, with_fallback=snapshot is None))
        layers = read_layers(kind, found, explicit)
        resolved = merge(kind, layers)
        if snapshot is not None:
            _check_against_checkpoint(layers)
        if facts is not None:
            resolved = _with_data_check(resolved, layers, facts, strict)
    execution = resolve_accelerator(resolved.execution_config, resolved.config.backend)
    if execution.accelerator != resolved.execution_config.accelerator:  # 'auto' on this host
        note = f"'auto' resolved to '{execution.accelerator}' {ON_THIS_HOST}"
        resolved = resolved.with_note("execution.accelerator", note, execution)
    launch = torchrun_launch(  # of this process, if any, checked against execution.devices
        os.environ if environ is None else environ,
        resolved.execution_config.devices,
        resolved.provenance["execution.devices"],
    )
    return resolved, snapshot, facts, launch


@contextlib.contextmanager
def _source_named(layers: list[Layer], key: str) -> Iterator[None]:
    """An error raised inside says which source gave the path of ``key``, unless the caller
    gave it (an argument or a command-line flag)."""
    try:
        yield
    except PtychoConfigError as error:
        given = next(layer for layer in layers if key in layer.entries)
        if given.kind != "override":
            error.args = (f"{error}; {key} is from {given.describe(given.entries[key])}",)
        raise


@contextlib.contextmanager
def _secret_paths_hidden(layers: list[Layer], kind: PayloadKind) -> Iterator[None]:
    """An error that names a path a secrets directory gave shows it as no secret shows."""
    try:
        yield
    except PtychoConfigError as error:
        texts = {
            form
            for layer in layers
            if layer.kind == "secret"
            for name in RUN_PATHS[kind]
            for text in layer.secrets.get(f"{kind}.{name}", ())
            for form in (text, str(Path(text)), Path(text).name)  # as written, printed, named
            if form  # the name of '/' is ''
        }
        if not texts:
            raise
        # whole path components only: a secret 'out' leaves 'output' alone
        alternatives = "|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True))
        hide = functools.partial(
            re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w.-])").sub, SECRET_SHOWN
        )
        error.args = (hide(str(error)),)
        error.problems = tuple(
            dataclasses.replace(
                problem,
                message=hide(problem.message),
                source=hide(problem.source),
                value=hide(problem.value) if isinstance(problem.value, str) else problem.value,
            )
            for problem in error.problems
        )
        raise


def _require_model(model_dir: Path) -> None:
    """A model directory that holds a model archive."""
    require_directory(model_dir, "model directory")
    archive = model_dir / MODEL_ARCHIVE
    try:
        require_file(archive, "model archive")
    except ConfigFileNotFoundError as error:
        message = f"Model archive not found: {archive}"
        problem = Problem("model_path", f"holds no {MODEL_ARCHIVE}", str(model_dir))
        raise ModelArchiveNotFoundError(message, [problem]) from error


def _with_data_check(
    resolved: Resolved, layers: list[Layer], facts: DataFileFacts, strict: bool
) -> Resolved:
    """An explicit N that contradicts the data's probe size: a warning, noted in provenance
    (strict: a ConflictError). A fallback size is no reading of the data, and is not checked."""
    key = "model.N"
    inferred = next((layer.entries.get(key) for layer in layers if layer.kind == "inferred"), None)
    origin = resolved.provenance[key]
    if inferred is None or origin.kind not in EXPLICIT_KINDS or facts.probe_fallback is not None:
        return resolved
    n = resolved.value(key)
    if n == inferred.value:
        return resolved
    note = f"contradicts {inferred.detail} (N = {inferred.value})"
    shown = SECRET_SHOWN if origin.kind == "secret" else n  # a secret never shows
    if strict:
        message = f"{key} = {shown} ({origin}) {note}; set N to {inferred.value} or leave it unset"
        raise ConflictError(message, [ConflictError.problem(key, message, shown, str(origin))])
    message = f"{key} = {shown} ({origin}) {note}; the data will be cut or padded to N = {shown}"
    warnings.warn(message, stacklevel=3)  # a UserWarning
    return resolved.with_note(key, note)


def _paths(layers: list[Layer], payload: PayloadKind, complete: bool) -> dict[str, Path]:
    """The run's paths, each from the highest of the caller's sources that gives it, checked by
    its schema type; every path missing (if ``complete``) or wrong is one error."""
    problems: list[Problem] = []
    paths: dict[str, Path] = {}
    for name in RUN_PATHS[payload]:
        key = f"{payload}.{name}"
        given = next((layer for layer in layers if key in layer.entries), None)
        entry = given.entries[key] if given is not None else None
        try:
            # the field's own rules, so a path from any source meets the schema's
            path = entry and adapter_of(SECTIONS[payload], name).validate_python(entry.value)
        except ValidationError as error:
            where = given.describe(entry) if given and entry else ""
            message = message_of(error.errors()[0])
            problems.append(InvalidValueError.problem(key, message, entry and entry.raw, where))
            continue
        if path:
            paths[name] = path
        elif complete:
            argument = f"{name}=... ({PATH_FLAGS[name]} on the command line)"
            problems.append(MissingValueError.problem(key, _ways(key, payload, argument)))
    _raise(layers, problems, payload)
    return paths


def _require_n_groups(layers: list[Layer], payload: PayloadKind) -> None:
    """n_groups from one of the caller's sources: a default does not count."""
    key = f"{payload}.n_groups"
    if not any(layer.kind in EXPLICIT_KINDS and key in layer.entries for layer in layers):
        argument = "overrides={'n_groups': ...} (--set n_groups=... on the command line)"
        _raise(layers, [MissingValueError.problem(key, _ways(key, payload, argument))], payload)


def _raise(layers: list[Layer], problems: list[Problem], payload: PayloadKind) -> None:
    """Any ``problems`` as one error, after the sources' own (a misspelt n_groups is reported
    as the typo, with its suggestion, before 'required')."""
    if not problems:
        return
    everything = [*(p for layer in layers for p in layer.problems), *problems]
    only = everything[0]
    if len(everything) == 1 and only.error is MissingValueError:
        # one sentence: 'n_groups is required ...'
        raise MissingValueError(f"{only.key.split('.', 1)[1]} {only.message}", problems)
    raise PtychoConfigError.from_problems(everything, payload)


def _ways(key: str, payload: PayloadKind, argument: str) -> str:
    """'is required' with every way of giving ``key``."""
    variables = " or ".join(reversed(env_spellings(KEYS[key], payload)))
    name = key.split(".", 1)[1]
    return (
        f"is required and was not given: pass {argument}, set {variables} in the environment, "
        f"a .env file or a secrets directory, or put {name} in the config file "
        "(a default does not count)"
    )


def _inferred_source(
    facts: DataFileFacts, data_file: Path, kind: PayloadKind, *, with_fallback: bool
) -> MappingSource:
    """The values read from a data file (the photon count for training only, as the reference
    reads it); a fallback probe size is recorded as such."""
    values: dict[str, Any] = {}
    details: dict[str, str] = {}
    if facts.probe_fallback is None:
        values["N"], details["N"] = facts.probe_size, f"probeGuess in {data_file.name}"
    elif with_fallback:
        values["N"] = facts.probe_size
        details["N"] = f"fallback {facts.probe_size}: {facts.probe_fallback}"
    if kind == "training" and facts.nphotons is not None:
        values["nphotons"] = facts.nphotons
        details["nphotons"] = f"_metadata in {data_file.name}"
    return MappingSource("inferred", values, details)


def _check_against_checkpoint(layers: list[Layer]) -> None:
    """No source but the defaults may contradict the trained model on a model-defining key."""
    checkpoint = next(layer for layer in layers if layer.kind == "checkpoint")
    others = [layer for layer in layers if layer is not checkpoint]
    problems: list[Problem] = []
    for key in (f"model.{name}" for name in MODEL_DEFINING):
        trained = checkpoint.entries[key]  # a snapshot holds the whole model section
        for layer in others:
            entry = layer.entries.get(key)
            if entry is None or same_field_value(key, entry.value, trained.value):
                continue
            message = (
                f"{layer.describe(entry)} gives {show(entry.raw)} but the trained model "
                f"({checkpoint.describe(trained)}) has {show(trained.value)}"
            )
            problems.append(ConflictError.problem(key, message))
    if problems:
        raise ConflictError.from_problems(problems, "inference")
