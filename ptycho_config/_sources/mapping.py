"""Sources that arrive as plain mappings: values inferred from data, a checkpoint, a profile."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ptycho_config._errors import ArgumentTypeError, show
from ptycho_config._schemas.registry import PayloadKind, lookup
from ptycho_config._sources.kinds import SourceKind
from ptycho_config._sources.layer import Layer


@dataclass(frozen=True)
class MappingSource:
    """Key → value of one kind, with an optional key → detail ('probeGuess in train.npz')."""

    kind: SourceKind
    values: Mapping[str, Any] | None
    details: Mapping[str, str] = field(default_factory=dict)

    def read(self, payload: PayloadKind) -> Layer:
        layer = Layer(self.kind, payload)
        if self.values is not None and not isinstance(self.values, Mapping):
            raise ArgumentTypeError(
                f"{self.kind} values must be a mapping, got {type(self.values).__name__}"
            )
        for spelling, value in (self.values or {}).items():
            detail = self.details.get(spelling, "")
            name = spelling if isinstance(spelling, str) else show(spelling)
            layer.add(lookup(name, payload), name, value, detail, foreign_is_error=False)
        return layer
