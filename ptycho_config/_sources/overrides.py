"""Explicit overrides: the caller's own mapping (or the CLI's --set), the highest source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ptycho_config._errors import show
from ptycho_config._registry import PayloadKind, lookup
from ptycho_config._sources.layer import Layer, SourceKind


@dataclass(frozen=True)
class Overrides:
    """Every override under its qualified key; unknown keys are problems, never dropped."""

    values: Mapping[str, Any] | None
    kind: SourceKind = "override"

    def read(self, payload: PayloadKind) -> Layer:
        layer = Layer(self.kind, payload)
        if self.values is not None and not isinstance(self.values, Mapping):
            raise TypeError(f"overrides must be a mapping, got {type(self.values).__name__}")
        for spelling, value in (self.values or {}).items():
            name = spelling if isinstance(spelling, str) else show(spelling)
            layer.add(lookup(name, payload), name, value, name)
        return layer
