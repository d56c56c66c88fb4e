"""The one source mechanism: a source is any object with a ``kind`` and a ``read(payload)``
that returns a :class:`Layer`; the merger sorts layers by kind (docs/precedence.md).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from ptycho_config._errors import (
    MAX_LISTED,
    AmbiguousKeyError,
    ConflictError,
    InvalidValueError,
    Problem,
    UnknownKeyError,
    same_value,
    shorten,
    show,
    suggest,
)
from ptycho_config._schemas.registry import (
    PAYLOAD_SECTIONS,
    Match,
    Miss,
    PayloadKind,
    lookup,
    lookup_env,
    spellings,
)
from ptycho_config._schemas.sections import NESTED_SECTIONS, SECTIONS
from ptycho_config._sources.kinds import SourceKind


class ConfigSource(Protocol):
    """Anything that can say, key by key, what it sets for a payload."""

    @property
    def kind(self) -> SourceKind: ...

    def read(self, payload: PayloadKind) -> Layer: ...


class Entry(NamedTuple):
    """One value as a source gave it."""

    value: Any
    raw: Any
    spelling: str
    detail: str


@dataclass
class Layer:
    """Everything one source sets, keyed by qualified key, plus what went wrong reading it."""

    kind: SourceKind
    payload: PayloadKind
    entries: dict[str, Entry] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    # said once per resolution by the merger, however often the layer is read
    warnings: list[str] = field(default_factory=list)
    # keys this layer pins: a higher layer giving one of them another value is an error
    pinned: frozenset[str] = frozenset()
    # unknown names met so far: as many as a message lists get suggestions (and, for variables,
    # the edit-distance typo test); the rest are reported without, so thousands cost little
    unknown: int = 0
    # by key and by name, a mounted secret's content as given: the merger masks it in messages
    secrets: dict[str, list[str]] = field(default_factory=dict)

    def describe(self, entry: Entry) -> str:
        """Where a value came from, for messages: 'env PTYCHO_BATCH_SIZE'."""
        return f"{self.kind} {entry.detail}" if entry.detail else self.kind

    def add(
        self,
        spelling: str,
        value: Any,
        detail: str,
        *,
        found: Match | Miss | None = None,
        raw: Any = None,
        foreign_is_error: bool = True,
    ) -> None:
        """Record one value under the key it names (``found``, by default the key the spelling
        names), or the problem with its spelling."""
        found = lookup(spelling, self.payload) if found is None else found
        raw = value if raw is None else raw
        if isinstance(found, Miss):  # the name matched nothing: it may be hostile, so cut it
            where = f"{self.kind} {shorten(detail)}".strip()
            self._miss(found, shorten(spelling), raw, where, foreign_is_error)
            return
        where = f"{self.kind} {detail}".strip()
        try:
            value = found.convert(value)
        except (ValueError, TypeError) as error:
            self.problems.append(InvalidValueError.problem(spelling, str(error), raw, where))
            return
        if found.alias is not None and found.alias.deprecated:
            message = f"{spelling} ({where}) is deprecated; use {found.key.name}"
            warnings.warn(message, DeprecationWarning, stacklevel=5)
        key = found.key.qualified
        previous = self.entries.get(key)
        if previous is not None and not same_value(previous.value, value):
            pairs = sorted([(previous.spelling, previous.raw), (spelling, raw)], key=lambda p: p[0])
            both = " and ".join(f"{name}={show(given)}" for name, given in pairs)
            rule = f"given twice with different values: {both}"
            self.problems.append(ConflictError.problem(key, rule, source=self.kind))
            return
        self.entries[key] = Entry(value, raw, spelling, detail)

    def _miss(self, found: Miss, name: str, raw: Any, where: str, foreign_is_error: bool) -> None:
        if found.reason == "other_payload":
            if foreign_is_error:
                rule = f"does not apply to {self.payload} payloads"
                self.problems.append(UnknownKeyError.problem(name, rule, raw, where))
            else:
                self.ignored.append(f"{name} ({where}): does not apply to {self.payload}")
        elif found.reason == "ambiguous":
            rule = f"is ambiguous here; use {' or '.join(found.choices)}"
            self.problems.append(AmbiguousKeyError.problem(name, rule, raw, where))
        else:  # variables unknown to every payload never get here (environment.py reports them)
            self.unknown += 1
            hints: tuple[str, ...] = ()
            if self.unknown <= MAX_LISTED:
                hints = suggest(name, spellings(self.payload), same=self.key_named)
            self.problems.append(UnknownKeyError.problem(name, "unknown key", raw, where, hints))

    def key_named(self, spelling: str) -> object:
        """The key a spelling (or variable) names, so that each key is suggested once."""
        found = lookup_env(spelling, self.payload)  # only a PTYCHO_* name can match
        if not isinstance(found, Match):
            found = lookup(spelling, self.payload)
        return found.key if isinstance(found, Match) else spelling

    def add_sections(self, data: Mapping[Any, Any], detail: str) -> None:
        """Every key of a mapping of sections (or bare keys), as a config file holds them; keys
        of the other payload are skipped."""
        for top, value in data.items():
            name = str(top)
            if name not in SECTIONS:
                self.add(name, value, detail, foreign_is_error=False)
            elif not isinstance(value, dict):
                rule = "a section must be a mapping"
                self.problems.append(
                    InvalidValueError.problem(name, rule, value, f"{self.kind} {detail}")
                )
            elif name in PAYLOAD_SECTIONS:
                self._add_payload_section(name, value, detail)
            else:
                for inner, item in value.items():
                    self.add(f"{name}.{inner}", item, detail, foreign_is_error=False)

    def _add_payload_section(self, section: PayloadKind, data: dict[Any, Any], detail: str) -> None:
        # a config's own dump: training.model holds the model section; the other run's
        # (inference.model in a training run) is checked but not used
        for inner, value in data.items():
            if inner not in NESTED_SECTIONS or not isinstance(value, dict):
                self.add(f"{section}.{inner}", value, detail, foreign_is_error=False)
                continue
            for name, item in value.items():
                spelling = f"{inner}.{name}"
                if section == self.payload:
                    self.add(spelling, item, detail)
                elif not isinstance(found := lookup(spelling, section), Match):
                    self.add(f"{section}.{spelling}", item, detail, found=found)
