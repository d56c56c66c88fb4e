"""Explicit overrides: the caller's own mapping (or the CLI's --set), the highest source."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ptycho_config._errors import show
from ptycho_config._registry import PayloadKind, lookup
from ptycho_config._sources.layer import Layer


def overrides_layer(overrides: Mapping[str, Any] | None, payload: PayloadKind) -> Layer:
    """Every override under its qualified key; unknown keys are problems, never dropped."""
    layer = Layer("override", payload)
    if overrides is not None and not isinstance(overrides, Mapping):
        raise TypeError(f"overrides must be a mapping, got {type(overrides).__name__}")
    for spelling, value in (overrides or {}).items():
        if not isinstance(spelling, str):
            spelling = show(spelling)
        layer.add(lookup(spelling, payload), spelling, value, spelling)
    return layer
