"""Rules of the merge that span layers or keys: shared fields, and keys a layer pins.

``scheduler``, ``gradient_clip_val`` and ``gradient_clip_algorithm`` are declared by both
training and execution (``SHARED_FIELDS``): they are one value, the higher source's. A layer (a
profile) may pin keys: a higher layer giving one of them another value is an error.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ptycho_config._errors import ConflictProblem, Problem, same_value, show
from ptycho_config._schemas.base import adapter_of
from ptycho_config._schemas.registry import KEYS, SHARED_FIELDS, PayloadKind
from ptycho_config._schemas.sections import SECTIONS
from ptycho_config._sources.kinds import precedence
from ptycho_config._sources.layer import Entry, Layer


def join_shared_fields(
    payload: PayloadKind, winners: dict[str, tuple[Layer, Entry]]
) -> list[Problem]:
    """Give each field that training and execution both declare the one value of the higher source.

    A tie (both set by one source) with different values is a conflict.
    """
    problems: list[Problem] = []
    if payload != "training":
        return problems
    for name in sorted(SHARED_FIELDS):
        pair = [winners.get(f"{section}.{name}") for section in ("training", "execution")]
        found = [won for won in pair if won is not None]
        if not found:
            continue
        best = min(found, key=lambda won: precedence(won[0].kind))
        rivals = [w for w in found if w is not best and w[0].kind == best[0].kind]
        if rivals and not same_value(rivals[0][1].value, best[1].value):
            (first, a), (second, b) = found
            problems.append(
                ConflictProblem(
                    f"training.{name}",
                    f"training.{name} and execution.{name} are one value but "
                    f"{first.describe(a)} gives {show(a.raw)} and "
                    f"{second.describe(b)} gives {show(b.raw)}",
                    source=best[0].kind,
                )
            )
            continue
        winners[f"training.{name}"] = winners[f"execution.{name}"] = best
    return problems


def pinned_conflicts(layers: list[Layer]) -> list[Problem]:
    """Every value a higher layer gives to a key that a lower layer (a profile) pins."""
    problems: list[Problem] = []
    for low in layers:
        for key in sorted(low.pinned):
            pinned = low.entries[key]
            for high in layers[: layers.index(low)]:
                entry = high.entries.get(key)
                if entry is None or same_field_value(key, entry.value, pinned.value):
                    continue
                problems.append(
                    ConflictProblem(
                        key,
                        f"{low.describe(pinned)} requires {key}={show(pinned.value)} but "
                        f"{high.describe(entry)} gives {show(entry.raw)}; the profile is "
                        "fail-closed: drop that value or choose no profile",
                        source=high.kind,
                    )
                )
    return problems


def same_field_value(key: str, first: Any, second: Any) -> bool:
    """Whether two values are the same once validated as the field (e.g. 'Poisson' forms)."""
    try:
        adapter = adapter_of(SECTIONS[KEYS[key].section], KEYS[key].name)
        return same_value(adapter.validate_python(first), adapter.validate_python(second))
    except (ValidationError, ValueError, TypeError):  # an invalid value is reported elsewhere
        return same_value(first, second)


def once_per_shared_field(problems: list[Problem]) -> list[Problem]:
    """A shared field's bad value is reported under its training key only, not twice."""
    reported = {p.key for p in problems}
    repeated = {f"execution.{name}" for name in SHARED_FIELDS if f"training.{name}" in reported}
    return [p for p in problems if p.key not in repeated]
