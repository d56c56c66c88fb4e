"""A .env file, read by pydantic-settings' own DotEnvSettingsSource: one layer of kind dotenv.

Its PTYCHO_* lines follow the rules of environment variables; provenance names the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from ptycho_config._errors import FileReadError
from ptycho_config._files import SETTINGS_FILE_CAP, require_file
from ptycho_config._registry import PayloadKind
from ptycho_config._sources.environment import environment_layer, ptycho_variables
from ptycho_config._sources.layer import Layer, SourceKind


@cache
def _no_fields() -> Any:
    """A settings class without fields: the dotenv source needs one, we only want its lines."""
    from pydantic_settings import BaseSettings

    return type("DotEnvLines", (BaseSettings,), {"__module__": __name__})


def read_dotenv(path: Path) -> dict[str, str | None]:
    """The PTYCHO_* variables of a .env file, as spelled there (None for a line without '=')."""
    from pydantic_settings import DotEnvSettingsSource

    require_file(path, "env file", SETTINGS_FILE_CAP)
    try:
        lines = DotEnvSettingsSource(_no_fields(), env_file=path, case_sensitive=True).env_vars
    except (OSError, UnicodeDecodeError) as error:
        raise FileReadError.of(path, "env file", str(error)) from error
    return ptycho_variables(lines)


@dataclass(frozen=True)
class DotEnvFile:
    """A .env file (``env_file=`` or PTYCHO_ENV_FILE), below the environment."""

    path: Path
    strict: bool | None = None
    kind: SourceKind = "dotenv"

    @cached_property
    def _variables(self) -> dict[str, str | None]:
        return read_dotenv(self.path)  # once, however often the layer is read

    def read(self, payload: PayloadKind) -> Layer:
        variables = self._variables
        details = dict.fromkeys(variables, str(self.path))
        return environment_layer(
            variables, payload, strict=self.strict, kind=self.kind, details=details
        )
