"""Explicit overrides: the caller's own mapping (or the CLI's --set), the highest source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ptycho_config._errors import ArgumentTypeError, show
from ptycho_config._schemas.registry import PayloadKind, lookup
from ptycho_config._schemas.sections import SECTIONS
from ptycho_config._sources.kinds import SourceKind
from ptycho_config._sources.layer import Layer


@dataclass(frozen=True)
class Overrides:
    """Every override under its qualified key; unknown keys are problems, never dropped."""

    values: Mapping[str, Any] | None
    kind: SourceKind = "override"

    def read(self, payload: PayloadKind) -> Layer:
        layer = Layer(self.kind, payload)
        if self.values is not None and not isinstance(self.values, Mapping):
            raise ArgumentTypeError(
                f"overrides must be a mapping, got {type(self.values).__name__}"
            )
        for spelling, value in _flattened(self.values or {}):
            layer.add(lookup(spelling, payload), spelling, value, spelling)
        return layer


def _flattened(values: Mapping[Any, Any]) -> list[tuple[str, Any]]:
    """Spelling and value of every override; a section's mapping gives 'section.field' keys."""
    flat: list[tuple[str, Any]] = []
    for spelling, value in values.items():
        name = spelling if isinstance(spelling, str) else show(spelling)
        if name in SECTIONS and isinstance(value, Mapping):  # {"training": {"n_groups": 8}}
            flat += [(f"{name}.{field if isinstance(field, str) else show(field)}", item)
                     for field, item in value.items()]  # fmt: skip
        else:
            flat.append((name, value))
    return flat
