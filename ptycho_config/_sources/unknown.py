"""Unknown PTYCHO_* variables: a typo of ours, or another tool's variable sharing the prefix?

A name is typo-like when, after the prefix, it is close to a known name by edit distance,
spells one with other separators (``PTYCHO_BATCHSIZE``, ``PTYCHO_MODEL_N``) or by its initials
(``PTYCHO_LR``), cuts a switch short (``PTYCHO_CONFIG``), or puts a known field under another
section (``PTYCHO_EXECUTION__BATCH_SIZE``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from pydantic import BaseModel

from ptycho_config._schemas.registry import (
    ALIASES,
    ENV_PREFIX,
    KEYS,
    PAYLOAD_SECTIONS,
    RESERVED_ENV,
    SWITCHES,
    env_names,
)
from ptycho_config._schemas.sections import SECTIONS

_SEPARATORS = re.compile(r"[^A-Z0-9]")
# Longer names are no typo of ours (every known name is far shorter).
_LONGEST = 64


@dataclass(frozen=True)
class _Known:
    names: list[str]  # every known variable
    squeezed: dict[str, list[str]]  # the same by their letters after the prefix, no separators
    by_field: dict[str, list[str]]  # by bare field (or alias) name
    by_initials: dict[str, list[str]]  # fields of several words by initials: LR, learning_rate


@cache
def _known_variables(schemas: tuple[type[BaseModel], ...]) -> _Known:
    """The known variables of these registered schemas (they key the cache)."""
    names = sorted({n for kind in PAYLOAD_SECTIONS for n in env_names(kind)} | RESERVED_ENV)
    squeezed: dict[str, list[str]] = {}
    for name in names:
        squeezed.setdefault(_SEPARATORS.sub("", name[len(ENV_PREFIX) :]), []).append(name)
    by_field: dict[str, list[str]] = {}
    by_initials: dict[str, list[str]] = {}
    for key in KEYS.values():
        by_field.setdefault(key.name.upper(), []).append(key.env)
        words = key.name.upper().split("_")
        if len(words) > 1:
            by_initials.setdefault("".join(word[:1] for word in words), []).append(key.env)
    for alias in ALIASES.values():  # an alias names its target field's variables
        by_field.setdefault(alias.name.upper(), []).extend(by_field.get(alias.target.upper(), []))
    return _Known(names, squeezed, by_field, by_initials)


def _distance(first: str, second: str, limit: int) -> int:
    """Edit distance with transpositions, or ``limit + 1`` once it must exceed ``limit``."""
    if abs(len(first) - len(second)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(second) + 1))
    for i, char in enumerate(first, 1):
        current = [i]
        for j, other in enumerate(second, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
            if i > 1 and j > 1 and char == second[j - 2] and first[i - 2] == other:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]


def typo_suggestions(variable: str, *, edits: bool = True) -> tuple[str, ...]:
    """The known variables an unknown one looks like a typo of, if any; ``edits=False`` skips
    the edit-distance test, the one that costs more than a lookup."""
    if len(variable) > len(ENV_PREFIX) + _LONGEST:
        return ()
    known = _known_variables(tuple(SECTIONS.values()))
    rest = variable[len(ENV_PREFIX) :].upper()
    short = _SEPARATORS.sub("", rest)
    if short in known.squeezed and rest:
        return tuple(known.squeezed[short])
    cut = [n for n in SWITCHES if _SEPARATORS.sub("", n[len(ENV_PREFIX) :]).startswith(short)]
    if len(short) > 2 and cut:  # PTYCHO_CONFIG, PTYCHO_SECRETS: a switch cut short
        return tuple(cut)
    field = rest.rsplit("__", 1)[-1].strip("_")
    if "__" in rest and field in known.by_field:
        return tuple(known.by_field[field])
    if field in known.by_initials:  # PTYCHO_LR: learning_rate
        return tuple(known.by_initials[field])
    # the edits allowed grow with the length after the prefix: short names stay exact
    limit = 0 if not edits or len(rest) <= 3 else 1 if len(rest) <= 7 else 2
    if limit == 0:
        return ()
    scored = [(_distance(rest, name[len(ENV_PREFIX) :], limit), name) for name in known.names]
    return tuple(name for distance, name in sorted(scored)[:3] if distance <= limit)
