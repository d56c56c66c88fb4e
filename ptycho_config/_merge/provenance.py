"""Where every resolved value came from, and its rendering as a readable table."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from types import MappingProxyType
from typing import Any

from ptycho_config._errors import show, yes_or_no
from ptycho_config._sources.kinds import SourceKind


@dataclass(frozen=True)
class Source:
    """One value's origin: the kind of source and a detail (variable, file, override key...)."""

    kind: SourceKind
    detail: str = ""
    # the value was 'auto' made concrete for this host (the detail says so in words)
    host_resolved: bool = field(default=False, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.kind} ({self.detail})" if self.detail else self.kind


DEFAULT_SOURCE = Source("default", "schema default")


class ViewsPickled:
    """A frozen dataclass that pickles and copies although it holds read-only views (its
    provenance, say), which cannot be pickled: they travel as dicts and are views again after.
    What a cached_property built does not travel: it is built again when read."""

    def __getstate__(self) -> tuple[dict[str, Any], list[str]]:
        # the fields and whatever a subclass's __post_init__ set, not what a cached_property built
        state = {
            name: value
            for name, value in vars(self).items()
            if not isinstance(getattr(type(self), name, None), functools.cached_property)
        }
        views = [name for name, value in state.items() if isinstance(value, MappingProxyType)]
        return state | {name: dict(state[name]) for name in views}, views

    def __setstate__(self, pickled: tuple[dict[str, Any], list[str]]) -> None:
        state, views = pickled
        # a frozen dataclass's fields, set as its __init__ would
        self.__dict__.update(state | {name: MappingProxyType(state[name]) for name in views})


def explain(
    values: Mapping[str, Any],
    provenance: Mapping[str, Source],
    more: Iterable[tuple[str, Any, Source]] = (),
    *,
    changed_only: bool = False,
) -> str:
    """A fixed-width table of key, value, source kind and detail: the resolved values
    (qualified key → value) with their provenance, then the ``more`` rows; ``changed_only``:
    only the values that do not come from the defaults."""
    rows = [(key, values[key], provenance[key]) for key in provenance]
    if yes_or_no("changed_only", changed_only):
        rows = [row for row in rows if row[2].kind != "default"]
    lines = [("key", "value", "source", "detail")]
    for key, value, source in [*rows, *more]:
        shown = show(str(value)) if isinstance(value, PurePath) else show(value)
        lines.append((key, shown, source.kind, source.detail))
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    out = []
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line[:3], widths, strict=True)]
        out.append("  ".join([*cells, line[3]]).rstrip())
    return "\n".join(out)
