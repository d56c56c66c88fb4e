"""Any pydantic-settings source (a cloud secret store, a vault, ...) as a layer of kind settings.

The source returns what it would give a settings class: sections as nested mappings, or bare
keys, read like a config file. Provenance names the source's class.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ptycho_config._errors import ArgumentTypeError, Problem, PtychoConfigError
from ptycho_config._schemas.registry import PayloadKind
from ptycho_config._sources.kinds import SourceKind
from ptycho_config._sources.layer import Layer


@dataclass(frozen=True)
class SettingsSource:
    """One pydantic-settings source, called when its layer is read."""

    source: Any
    kind: SourceKind = "settings"

    def __post_init__(self) -> None:
        from pydantic_settings import PydanticBaseSettingsSource

        if not isinstance(self.source, PydanticBaseSettingsSource):
            got = type(self.source).__name__
            raise ArgumentTypeError(
                f"settings_sources must hold PydanticBaseSettingsSource instances, got {got}"
            )

    @cached_property
    def _data(self) -> Mapping[str, Any]:
        # called once, however often the layer is read: a remote store is asked once per call
        name = type(self.source).__name__
        try:
            data = self.source()
        except Exception as error:  # third-party code (a cloud store): any failure, named
            message = f"settings source {name} failed: {type(error).__name__}: {error}"
            raise PtychoConfigError(message, [Problem("settings_sources", message)]) from error
        if not isinstance(data, Mapping):
            message = f"settings source {name} returned {type(data).__name__}, not a mapping"
            raise PtychoConfigError(message, [Problem("settings_sources", message)])
        return data

    def read(self, payload: PayloadKind) -> Layer:
        layer = Layer(self.kind, payload)
        layer.add_sections(self._data, type(self.source).__name__)
        return layer
