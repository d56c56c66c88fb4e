"""Reading a secrets directory; ``environment.py`` makes its variables a layer of kind secret.

One file per variable, named like it (``PTYCHO_WANDB_TOKEN``), as Docker and Kubernetes mount
secrets; the file's content, stripped, is the value. Provenance names the file.
"""

from __future__ import annotations

from pathlib import Path

from ptycho_config._errors import FileReadError
from ptycho_config._files import SETTINGS_FILE_CAP, read_capped, require_directory
from ptycho_config._schemas.registry import ENV_PREFIX


def read_secrets(folder: Path) -> tuple[dict[str, str | None], dict[str, str]]:
    """Each PTYCHO_* file's content, stripped, by name; and the file's path.

    Each file is read through the same guarded open as every other file: a regular file of
    at most ``SETTINGS_FILE_CAP`` bytes, checked on the descriptor that is read.
    """
    require_directory(folder, "secrets directory")
    try:
        entries = sorted(folder.iterdir())
    except OSError as error:  # e.g. no permission to list it
        raise FileReadError.of(folder, "secrets directory", str(error)) from error
    files = {e.name: e for e in entries if e.name[: len(ENV_PREFIX)].upper() == ENV_PREFIX}
    values: dict[str, str | None] = {}
    for name, path in files.items():
        data = read_capped(path, "secret file", SETTINGS_FILE_CAP)
        try:
            values[name] = data.decode("utf-8").strip()
        except UnicodeDecodeError as error:
            reason = f"its file {name} is not UTF-8 text"
            raise FileReadError.of(folder, "secrets directory", reason) from error
    return values, {name: str(path) for name, path in files.items()}
