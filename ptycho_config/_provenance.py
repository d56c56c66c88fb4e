"""Where every resolved value came from, and its rendering as a readable table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from ptycho_config._errors import show
from ptycho_config._sources import SourceKind


@dataclass(frozen=True)
class Source:
    """One value's origin: the kind of source and a detail (variable, file, override key...)."""

    kind: SourceKind
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} ({self.detail})" if self.detail else self.kind


DEFAULT_SOURCE = Source("default", "schema default")


def _show(value: Any) -> str:
    return show(str(value)) if isinstance(value, PurePath) else show(value)


def render_table(rows: Iterable[tuple[str, Any, Source]]) -> str:
    """A fixed-width table of key, value, source kind and detail."""
    lines = [("key", "value", "source", "detail")]
    lines += [(key, _show(value), src.kind, src.detail) for key, value, src in rows]
    widths = [max(len(row[i]) for row in lines) for i in range(3)]
    out = []
    for row in lines:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        out.append("  ".join([*cells, row[3]]).rstrip())
    return "\n".join(out)


def explain(values: Mapping[str, Any], provenance: Mapping[str, Source]) -> str:
    """The table for resolved values (qualified key → value) and their provenance."""
    return render_table((key, values[key], provenance[key]) for key in provenance)
