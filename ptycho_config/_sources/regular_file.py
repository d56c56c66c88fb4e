"""The checks every file a source reads passes first: it exists, is a regular file, is small.

A FIFO, a device or a socket could block or never end; a huge file could exhaust memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ptycho_config._errors import ConfigFileNotFoundError, InvalidValueError, InvalidValueProblem

# Far above any real .env file or secret, far below anything that could hurt.
MAX_BYTES = 1 << 20


def _key(what: str) -> str:
    return what.replace(" ", "_")


def unreadable(what: str, path: Path, message: str) -> InvalidValueError:
    """The error for a file or directory that exists but cannot be read."""
    text = f"cannot read {what} {path}: {message}"
    return InvalidValueError(text, [InvalidValueProblem(_key(what), text, str(path))])


def regular_file(path: Path, what: str, *, cap: int = MAX_BYTES) -> Path:
    """``path`` if it is a regular file of at most ``cap`` bytes (symbolic links followed)."""
    try:
        info = os.stat(path)
    except FileNotFoundError as error:
        problem = InvalidValueProblem(_key(what), "no such file; fix the path", str(path))
        raise ConfigFileNotFoundError(f"{what} not found: {path}", [problem]) from error
    except (OSError, ValueError) as error:  # no permission, a loop, a NUL byte in the name
        raise unreadable(what, path, str(error)) from error
    if not stat.S_ISREG(info.st_mode):
        raise unreadable(what, path, "not a regular file")
    if info.st_size > cap:
        raise unreadable(what, path, f"larger than {cap} bytes")
    return path


def directory(path: Path, what: str) -> Path:
    """``path`` if it is a directory (symbolic links followed)."""
    try:
        info = os.stat(path)
    except FileNotFoundError as error:
        problem = InvalidValueProblem(_key(what), "no such directory; fix the path", str(path))
        raise ConfigFileNotFoundError(f"{what} not found: {path}", [problem]) from error
    except (OSError, ValueError) as error:
        raise unreadable(what, path, str(error)) from error
    if not stat.S_ISDIR(info.st_mode):
        raise unreadable(what, path, "not a directory")
    return path
