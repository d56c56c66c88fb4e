"""Sources the caller hands over as Python values: overrides, an ExecutionConfig, a profile's
name, mappings (values inferred from data, a checkpoint's) and pydantic-settings sources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ptycho_config._errors import ArgumentTypeError, Problem, PtychoConfigError, show
from ptycho_config._schemas.profiles import get_profile
from ptycho_config._schemas.registry import PAYLOAD_SECTIONS, PayloadKind, lookup
from ptycho_config._schemas.sections import SECTIONS, ExecutionConfig
from ptycho_config._sources.kinds import SourceKind
from ptycho_config._sources.layer import Layer


@dataclass(frozen=True)
class Overrides:
    """Explicit overrides: the caller's own mapping (or the CLI's --set), the highest source.
    Unknown keys are problems, never dropped."""

    values: Mapping[str, Any] | None
    kind: SourceKind = "override"

    def read(self, payload: PayloadKind) -> Layer:
        layer = Layer(self.kind, payload)
        if self.values is not None and not isinstance(self.values, Mapping):
            got = type(self.values).__name__
            raise ArgumentTypeError(f"overrides must be a mapping, got {got}")
        for spelling, value in (self.values or {}).items():
            name = spelling if isinstance(spelling, str) else show(spelling)
            if name in SECTIONS and isinstance(value, Mapping):  # {"training": {"n_groups": 8}}
                for field, item in value.items():
                    qualified = f"{name}.{field if isinstance(field, str) else show(field)}"
                    layer.add(qualified, item, qualified)
            else:
                layer.add(name, value, name)
        return layer


@dataclass(frozen=True)
class ExecutionSource:
    """The fields explicitly set on an ExecutionConfig passed to a factory: a field left at its
    default does not outrank the environment."""

    config: ExecutionConfig | None
    kind: SourceKind = "execution_config"

    def read(self, payload: PayloadKind) -> Layer:
        layer = Layer(self.kind, payload)
        if self.config is None:
            return layer
        if not isinstance(self.config, ExecutionConfig):
            got = type(self.config).__name__
            raise ArgumentTypeError(f"execution_config must be an ExecutionConfig, got {got}")
        for name in sorted(self.config.model_fields_set):  # the audit trail shows bare names
            found = lookup(f"execution.{name}", payload)
            layer.add(name, getattr(self.config, name), name, found=found)
        return layer


@dataclass(frozen=True)
class ProfileSource:
    """A named profile (e.g. 'ci'): its values below the file, its contract keys pinned; keys
    of sections the payload lacks are left out."""

    name: str
    kind: SourceKind = "profile"

    def read(self, payload: PayloadKind) -> Layer:
        profile = get_profile(self.name)
        layer = Layer(self.kind, payload)
        for key, value in profile.values.items():
            if key.split(".", 1)[0] in PAYLOAD_SECTIONS[payload]:
                layer.add(key, value, profile.name)
        layer.pinned = frozenset(k for k in profile.pinned if k in layer.entries)
        return layer


@dataclass(frozen=True)
class MappingSource:
    """Key → value of one kind, with an optional key → detail ('probeGuess in train.npz')."""

    kind: SourceKind
    values: Mapping[str, Any] | None
    details: Mapping[str, str] = field(default_factory=dict)

    def read(self, payload: PayloadKind) -> Layer:
        layer = Layer(self.kind, payload)
        if self.values is not None and not isinstance(self.values, Mapping):
            got = type(self.values).__name__
            raise ArgumentTypeError(f"{self.kind} values must be a mapping, got {got}")
        for spelling, value in (self.values or {}).items():
            name = spelling if isinstance(spelling, str) else show(spelling)
            layer.add(name, value, self.details.get(spelling, ""), foreign_is_error=False)
        return layer


@dataclass(frozen=True)
class SettingsSource:
    """Any pydantic-settings source (a cloud secret store, a vault, ...), called when its layer
    is read: what it would give a settings class is read like a config file's sections."""

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
