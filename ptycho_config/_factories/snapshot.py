"""Checkpoint snapshots: the resolved training configuration stored beside a trained model, as a
config document that ``--config`` reruns (the format and its guarantees: docs/factories.md)."""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from ptycho_config._errors import (
    ArgumentTypeError,
    FileReadError,
    InvalidValueError,
    OutputError,
    Problem,
    PtychoConfigError,
    SnapshotError,
    one_of,
)
from ptycho_config._files import (
    SNAPSHOT_CAP,
    as_path,
    read_capped,
    require_directory,
    unique_keys,
)
from ptycho_config._merge.provenance import Source
from ptycho_config._schemas.sections import (
    METADATA_KEY,
    NESTED_SECTIONS,
    SCHEMA_VERSION,
    SECTIONS,
    ExecutionConfig,
    InferenceConfig,
    TrainingConfig,
)
from ptycho_config._sources.config_file import metadata_problems
from ptycho_config._sources.kinds import SOURCE_KINDS

# A trained model directory holds its weights archive and, beside it, the snapshot.
MODEL_ARCHIVE = "wts.h5.zip"
SNAPSHOT_NAME = "ptycho_config.json"


def _configs(subject: Any) -> dict[str, Any]:
    """The configs a fingerprint or snapshot covers, as JSON-ready dicts."""
    configs = [subject]
    if not isinstance(subject, TrainingConfig | InferenceConfig | ExecutionConfig):
        names = ("training_config", "inference_config", "execution_config")
        found = (getattr(subject, name, None) for name in names)
        configs = [config for config in found if config is not None]
    if not configs:
        got = type(subject).__name__
        raise ArgumentTypeError(f"cannot fingerprint {got}: give a config, payload or resolution")
    return {config.section: config.model_dump(mode="json") for config in configs}


# Where outputs go, and which hardware a host found for 'auto', do not change what is trained.
NOT_RUN_DEFINING = frozenset(
    {"training.output_dir", "inference.output_dir", "execution.accelerator"}
)


def _run_defining(configs: dict[str, Any]) -> dict[str, Any]:
    return {
        section: {k: v for k, v in values.items() if f"{section}.{k}" not in NOT_RUN_DEFINING}
        for section, values in configs.items()
    }


def _placed(configs: dict[str, Any]) -> Iterator[tuple[str, tuple[str, ...], Any]]:
    """Each value of dumped configs: its qualified key ('model.N', ...), its place in them
    (model and torch nested in the training or inference section) and the value."""
    for section, values in configs.items():
        for name, value in values.items():
            if name in NESTED_SECTIONS and section != "execution":
                yield from ((f"{name}.{k}", (section, name, k), v) for k, v in value.items())
            else:
                yield f"{section}.{name}", (section, name), value


def run_values(subject: Any) -> dict[str, Any]:
    """The values a fingerprint covers, as JSON values by qualified key ('model.N', ...)."""
    return {key: value for key, _, value in _placed(_run_defining(_configs(subject)))}


def fingerprint(subject: Any) -> str:
    """A stable hash of the run-defining values: equal runs, equal hash, on any host.

    Accepts a config, a payload or a resolution. Leaves out provenance (the same value from
    another source is the same run) and the keys of ``NOT_RUN_DEFINING``.
    """
    return _digest(_configs(subject))


def _digest(configs: dict[str, Any]) -> str:
    try:
        canonical = json.dumps(_run_defining(configs), sort_keys=True, separators=(",", ":"))
    except ValueError as error:  # an integer longer than sys.get_int_max_str_digits()
        message = "cannot fingerprint this configuration: it holds an integer too long to write"
        raise InvalidValueError(f"{message}; use a smaller value ({error})") from error
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """A training configuration as it was resolved when the model was trained."""

    path: Path
    training_config: TrainingConfig
    execution_config: ExecutionConfig
    provenance: Mapping[str, Source]
    fingerprint: str
    schema_version: int


def config_document(payload: Any, *, changed_only: bool = False) -> dict[str, Any]:
    """The resolved configs as a config file holds them: one section each, model and torch
    nested as the configs dump them. Read back as the only source, it gives the same values.
    ``changed_only``: only the values that do not come from the defaults (the same run)."""
    configs = _configs(payload)
    for key, source in payload.provenance.items():
        if source.host_resolved:  # as the env export: read on another host, it resolves there
            section, name = key.split(".")
            configs[section][name] = "auto"
    if not changed_only:
        return configs
    document: dict[str, Any] = {section: {} for section in configs}
    for key, (*parents, name), value in _placed(configs):
        if payload.provenance[key].kind != "default":
            place = document
            for part in parents:
                place = place.setdefault(part, {})
            place[name] = value
    return document


def report_document(payload: Any, *, changed_only: bool = False) -> dict[str, Any]:
    """The config document and the run's record (``metadata``): snapshots, json and yaml output."""
    document = config_document(payload, changed_only=changed_only)
    document[METADATA_KEY] = {
        "schema_version": SCHEMA_VERSION,
        "kind": payload.config.section,
        "fingerprint": fingerprint(payload),
        "provenance": {
            key: {"kind": src.kind, "detail": src.detail}
            for key, src in payload.provenance.items()
            if not changed_only or src.kind != "default"
        },
        "overrides_applied": {
            key: value if isinstance(value, int | float | bool | None) else str(value)
            for key, value in payload.overrides_applied.items()
        },
    }
    return document


def save_snapshot(payload: Any, directory: str | os.PathLike[str]) -> Path:
    """Write the payload's resolved training configuration into ``directory`` atomically."""
    training = getattr(payload, "training_config", None)
    if not isinstance(training, TrainingConfig):
        raise ArgumentTypeError("save_snapshot needs a training payload (with a training_config)")
    training.checked()  # one built with model_construct is refused, not written
    folder = as_path(directory, "snapshot directory")
    try:
        require_directory(folder, "snapshot directory")
    except FileReadError as error:  # there, but no directory to write into (a file, say)
        reason = error.problems[0].message
        message = f"cannot write a checkpoint snapshot into {folder}: {reason}"
        raise OutputError(message, [Problem("directory", reason, str(folder))]) from error
    target = folder / SNAPSHOT_NAME
    try:
        _write_atomically(target, json.dumps(report_document(payload), indent=2) + "\n")
    except OSError as error:  # a read-only or full model directory
        reason = error.strerror or str(error)
        message = f"cannot write checkpoint snapshot {target}: {reason}"
        raise OutputError(message, [Problem("directory", reason, str(folder))]) from error
    return target


def _write_atomically(target: Path, text: str) -> None:
    _remove_abandoned(target)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)  # held while writing: a cleaner leaves it alone
        os.fchmod(handle, 0o644)  # mkstemp makes it private; a model directory is often shared
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    # the rename is durable only once the directory entry is on disk too
    with contextlib.suppress(OSError):
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


# A temporary file this old and unlocked is abandoned: the age covers the instants between
# creating it and locking it, and between closing it and the rename. The kernel drops a flock
# when its holder dies, whichever host or PID namespace that is.
ABANDONED_AFTER_S = 60.0


def _remove_abandoned(target: Path) -> None:
    """Delete the temporary files killed writers left beside ``target`` (old and unlocked)."""
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        with contextlib.suppress(OSError):  # locked by a live writer, or gone already
            descriptor = os.open(leftover, os.O_RDONLY | os.O_NONBLOCK)
            try:
                info = os.fstat(descriptor)
                if stat.S_ISREG(info.st_mode) and time.time() - info.st_mtime > ABANDONED_AFTER_S:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    os.unlink(leftover)
            finally:
                os.close(descriptor)


def load_snapshot(directory: str | os.PathLike[str]) -> Snapshot | None:
    """The snapshot stored in a model directory, or None when there is none; a file that cannot
    be read is a FileReadError, a corrupt, hand-edited or other-version one a SnapshotError."""
    path = as_path(directory, "snapshot directory") / SNAPSHOT_NAME  # '' is no '.'
    where = f"checkpoint snapshot {path}"
    try:
        data = read_capped(path, "checkpoint snapshot", SNAPSHOT_CAP)
    except FileNotFoundError:
        return None
    except NotADirectoryError as error:
        reason = f"{path.parent} is not a directory"
        raise FileReadError.of(path, "checkpoint snapshot", reason) from error
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=unique_keys)
    except (ValueError, RecursionError) as error:  # a UnicodeDecodeError is a ValueError
        raise SnapshotError(f"{where} is not valid UTF-8 JSON: {error}") from error
    if not isinstance(document, dict):
        raise SnapshotError(f"{where} must hold a JSON object")
    if "schema_version" in document:  # version 1 kept its record at the top level
        document = _from_version_1(document)
    metadata = document.get(METADATA_KEY)
    # as a config file's, and first: a newer version may name its sections otherwise
    problems = metadata_problems(metadata, where) if METADATA_KEY in document else []
    if problems:
        listed = "".join(f"\n  - {problem}" for problem in problems)
        raise SnapshotError(f"{where} cannot be read:{listed}", problems)
    required = (METADATA_KEY, "training", "execution")  # metadata too, unlike a config file's
    absent = [repr(name) for name in required if name not in document]
    if absent:
        raise SnapshotError(f"{where} has no {' or '.join(absent)} section")
    try:
        sections = {"training": document["training"], "execution": document["execution"]}
        stored = sections["training"]
        if metadata["schema_version"] == 1:
            stored = _moved_weighting(stored)
        # the registered schemas: a snapshot of an extended configuration holds its fields
        training = cast(TrainingConfig, SECTIONS["training"].model_validate(stored))
        execution = cast(
            ExecutionConfig, SECTIONS["execution"].model_validate(sections["execution"])
        )
        provenance = {
            key: Source(one_of("kind", item["kind"], SOURCE_KINDS), item.get("detail", ""))
            for key, item in metadata["provenance"].items()
        }
    except (KeyError, TypeError, AttributeError, PtychoConfigError) as error:
        raise SnapshotError(f"{where} is malformed: {error}") from error
    # the sections as written: a field added to the schemas later leaves them valid
    recorded, actual = metadata["fingerprint"], _digest(sections)
    if recorded != actual:
        raise SnapshotError(
            f"{where} was modified after it was written "
            f"(fingerprint {recorded} does not match its content, {actual})"
        )
    return Snapshot(path, training, execution, provenance, recorded, metadata["schema_version"])


def _from_version_1(document: dict[str, Any]) -> dict[str, Any]:
    """A version-1 snapshot (sections under training_config and execution_config, the record
    at the top level) in today's layout."""
    renamed = {"training_config": "training", "execution_config": "execution"}
    moved = {new: document[old] for old, new in renamed.items() if old in document}
    recorded = ("schema_version", "kind", "fingerprint", "provenance")
    record = {"overrides_applied": {}, **{k: document[k] for k in recorded if k in document}}
    return {**moved, METADATA_KEY: record}


def _moved_weighting(training: Any) -> Any:
    """Snapshots written before the object policy keep training_patch_weighting in torch."""
    torch = training.get("torch") if isinstance(training, dict) else None
    if not isinstance(torch, dict) or "training_patch_weighting" not in torch:
        return training
    torch = dict(torch)
    model = {
        **training.get("model", {}),
        "training_patch_weighting": torch.pop("training_patch_weighting"),
    }
    return {**training, "torch": torch, "model": model}
