"""A secrets directory, read by pydantic-settings' own SecretsSettingsSource: kind secret.

One file per variable, named like it (``PTYCHO_WANDB_TOKEN``), as Docker and Kubernetes mount
secrets; the file's content, stripped, is the value. Provenance names the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ptycho_config._errors import FileReadError
from ptycho_config._files import SETTINGS_FILE_CAP, require_directory, require_file
from ptycho_config._registry import ENV_PREFIX, PayloadKind
from ptycho_config._sources.environment import environment_layer
from ptycho_config._sources.layer import Layer, SourceKind


def secret_files(folder: Path) -> dict[str, Path]:
    """The PTYCHO_* files of a secrets directory by name, each checked to be a small file."""
    require_directory(folder, "secrets directory")
    try:
        entries = sorted(folder.iterdir())
    except OSError as error:  # e.g. no permission to list it
        raise FileReadError.of(folder, "secrets directory", str(error)) from error
    return {
        entry.name: require_file(entry, "secret file", SETTINGS_FILE_CAP)
        for entry in entries
        if entry.name[: len(ENV_PREFIX)].upper() == ENV_PREFIX
    }


def read_secrets(folder: Path, names: list[str]) -> dict[str, str | None]:
    """The content of the named files of ``folder``, through pydantic-settings."""
    from pydantic import Field, create_model
    from pydantic_settings import BaseSettings, SecretsSettingsSource, SettingsError

    # one field per file, named by the file: the source reads exactly these
    fields: dict[str, Any] = {
        f"secret_{i}": (str | None, Field(None, validation_alias=name))
        for i, name in enumerate(names)
    }
    files = create_model("SecretFiles", __base__=BaseSettings, **fields)
    try:
        read = SecretsSettingsSource(files, secrets_dir=folder, case_sensitive=True)()
    except (OSError, UnicodeDecodeError, SettingsError) as error:  # e.g. a file not UTF-8
        raise FileReadError.of(folder, "secrets directory", str(error)) from error
    return {name: read.get(name) for name in names}


@dataclass(frozen=True)
class SecretsDirectory:
    """A secrets directory (``secrets_dir=`` or PTYCHO_SECRETS_DIR), below a .env file."""

    path: Path
    strict: bool | None = None
    kind: SourceKind = "secret"

    @cached_property
    def _read(self) -> tuple[dict[str, Path], dict[str, str | None]]:
        files = secret_files(self.path)  # once, however often the layer is read
        return files, (read_secrets(self.path, list(files)) if files else {})

    def read(self, payload: PayloadKind) -> Layer:
        files, variables = self._read
        details = {name: str(path) for name, path in files.items()}
        return environment_layer(
            variables, payload, strict=self.strict, kind=self.kind, details=details
        )
