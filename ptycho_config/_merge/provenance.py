"""Where every resolved value came from, and its rendering as a readable table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
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


class Provenance(Mapping[str, Source]):
    """The source of every key of a configuration, in schema order; read-only.

    Only the sources the layers gave are stored, every other key is a schema default: a
    resolution records the handful of keys that were set, not all 160-odd.
    """

    __slots__ = ("_given", "_keys")

    def __init__(self, keys: Mapping[str, object], given: Mapping[str, Source]) -> None:
        self._keys = keys  # every key, in order (a mapping for a quick membership test)
        self._given = given

    def __getitem__(self, key: str) -> Source:
        found = self._given.get(key)
        if found is not None:
            return found
        if key in self._keys:
            return DEFAULT_SOURCE
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"Provenance({dict(self)!r})"

    def with_note(self, key: str, note: str, *, host_resolved: bool = False) -> Provenance:
        """A copy whose source of ``key`` carries ``note`` after its detail."""
        origin = self[key]
        detail = f"{origin.detail}; {note}" if origin.detail else note
        noted = Source(origin.kind, detail, host_resolved or origin.host_resolved)
        return Provenance(self._keys, {**self._given, key: noted})


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
