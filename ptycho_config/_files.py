"""Opening the files a configuration names: regular files only, read with a size cap. A path is
opened without blocking and judged by ``fstat`` of the descriptor, so a FIFO, a device, a socket
or a directory is refused before a byte is read, and a path swapped after a check cannot slip
through. Every failure is one of the library's errors, never a bare ``OSError``."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import IO, Any

from ptycho_config._errors import (
    ConfigFileNotFoundError,
    FileReadError,
    InvalidValueError,
    Problem,
    show,
)

# Size caps, documented in docs/errors.md: far above any real file of each kind.
CONFIG_FILE_CAP = 1024 * 1024  # YAML, TOML or JSON config files
SNAPSHOT_CAP = 4 * 1024 * 1024  # ptycho_config.json beside a trained model
SETTINGS_FILE_CAP = 1024 * 1024  # a .env file, or one file of a secrets directory


def as_path(path: object, what: str) -> Path:
    """The path as a Path; anything that is no path of text is the library's error: an int,
    bytes, a NUL byte (which no system call takes), or an empty string (which Path would
    read as '.', the working directory)."""
    text = os.fspath(path) if isinstance(path, os.PathLike) else path
    if not isinstance(text, str):
        reason = f"must be a path (text or a Path), got {type(path).__name__}"
    elif "\0" in text:
        reason = "must be a path without NUL bytes"
    elif not text.strip():
        reason = "must be a path, not an empty string"
    else:
        return path if isinstance(path, Path) else Path(text)
    message = f"{what} {reason}: {show(path)}; give a file or directory"
    raise InvalidValueError(message, [Problem(what, reason, path)])


def _not_a_file(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "it is a directory, not a file"
    kinds = {"p": "a FIFO", "c": "a device", "b": "a device", "s": "a socket"}
    kind = kinds.get(stat.filemode(mode)[0], "a special file")  # its first letter: the kind
    return f"it is {kind}, not a regular file"


def _reason(error: Exception) -> str:
    if isinstance(error, PermissionError):
        return "permission denied"
    return str(getattr(error, "strerror", None) or error)


def open_regular(path: str | os.PathLike[str], what: str) -> tuple[int, int]:
    """A read-only descriptor of a regular file, and the file's size; the built-in
    FileNotFoundError when nothing is there, FileReadError for anything else."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError):
        raise
    except (OSError, ValueError) as error:  # ValueError: a NUL byte in the path
        raise FileReadError.of(path, what, _reason(error)) from error
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise FileReadError.of(path, what, _not_a_file(info.st_mode))
    except BaseException:
        os.close(descriptor)
        raise
    # left non-blocking: O_NONBLOCK changes nothing for reads of a regular file (Linux, macOS)
    return descriptor, info.st_size


def read_ready(stream: IO[bytes], size: int) -> bytes:
    """At most ``size`` bytes; a regular file with nothing ready to read now (a kernel file such
    as /proc/kmsg, opened non-blocking: Python's read returns None) is an OSError."""
    data = stream.read(size)
    if data is None:
        raise BlockingIOError(errno.EAGAIN, "nothing is ready to be read from it")
    return data


def read_capped(path: str | os.PathLike[str], what: str, cap: int) -> bytes:
    descriptor, _ = open_regular(path, what)
    try:
        with os.fdopen(descriptor, "rb") as stream:
            data = read_ready(stream, cap + 1)
    except OSError as error:
        raise FileReadError.of(path, what, _reason(error)) from error
    if len(data) > cap:
        raise FileReadError.of(
            path, what, f"it is larger than {cap // 1024} KiB, the limit for a {what}"
        )
    return data


def missing(path: str | os.PathLike[str], what: str) -> ConfigFileNotFoundError:
    message = f"{what.capitalize()} not found: {path}"
    return ConfigFileNotFoundError(message, [Problem(what, "not found", str(path))])


def require_file(path: Path, what: str) -> None:
    """A readable regular file: '<What> not found' when absent, FileReadError for the rest."""
    try:
        descriptor, _ = open_regular(path, what)
    except (FileNotFoundError, NotADirectoryError) as error:
        raise missing(path, what) from error
    os.close(descriptor)


def require_directory(path: Path, what: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError) as error:
        raise missing(path, what) from error
    except (OSError, ValueError) as error:  # a loop of symlinks, no permission, a lone surrogate
        raise FileReadError.of(path, what, _reason(error)) from error
    if not stat.S_ISDIR(mode):
        raise FileReadError.of(path, what, "it is not a directory")
    if not os.access(path, os.R_OK | os.X_OK):
        raise FileReadError.of(path, what, "permission denied")


class DuplicateKeyError(ValueError):
    """A key given twice in one mapping of a JSON or YAML document."""


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for json.loads: a key given twice is an error, not last-wins."""
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise DuplicateKeyError(f"key {key!r} twice")
        mapping[key] = value
    return mapping
