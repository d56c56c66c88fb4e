"""Sources that arrive as plain mappings: values inferred from data, and a checkpoint snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ptycho_config._errors import show
from ptycho_config._registry import PayloadKind, lookup
from ptycho_config._sources.layer import Layer, SourceKind

# A value, or a (value, detail) pair where the caller can say where it came from.
Sourced = Any


def mapping_layer(
    kind: SourceKind,
    values: Mapping[str, Sourced] | None,
    payload: PayloadKind,
    details: Mapping[str, str] | None = None,
) -> Layer:
    """A layer from key → value, with an optional key → detail ('probeGuess in train.npz')."""
    layer = Layer(kind, payload)
    if values is not None and not isinstance(values, Mapping):
        raise TypeError(f"{kind} values must be a mapping, got {type(values).__name__}")
    for spelling, value in (values or {}).items():
        detail = (details or {}).get(spelling, "")
        name = spelling if isinstance(spelling, str) else show(spelling)
        layer.add(lookup(name, payload), name, value, detail, foreign_is_error=False)
    return layer
