"""Valid values of one field, derived from its annotation (types, choices, bounds) and put
through the field's own validation: the canonical form it stores, what a source resolves to."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import Annotated, Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from ptycho_config._errors import (
    AmbiguousKeyError,
    PtychoConfigError,
    UnknownKeyError,
    show,
    suggest,
)
from ptycho_config._schemas.base import adapter_of
from ptycho_config._schemas.registry import KEYS, PAYLOAD_SECTIONS, Match, lookup
from ptycho_config._schemas.sections import SECTIONS

# Limits for numbers whose schema gives no bound: wide, yet safe for every consumer of a config.
INT_LIMIT = 2**31 - 1
_INVALID: Any = object()


def _limits(metadata: Iterable[Any], extra: Any = None) -> dict[str, Any]:
    """The constraints a type's metadata sets (``Bounds``, ``MinLen``, ``Field(...)``, an enum)."""
    found: dict[str, Any] = {}
    if isinstance(extra, dict) and isinstance(extra.get("enum"), list):
        found["enum"] = tuple(extra["enum"])
    for item in metadata:
        if isinstance(item, FieldInfo):
            found |= _limits(item.metadata, item.json_schema_extra)
        found |= {
            name: getattr(item, name)
            for name in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern")
            if getattr(item, name, None) is not None
        }
    return found


def paths() -> SearchStrategy[Path]:
    """Simple relative or absolute paths of one to three plain segments."""
    segment = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,11}", fullmatch=True)
    drawn = st.tuples(st.sampled_from(["", "/"]), st.lists(segment, min_size=1, max_size=3))
    return drawn.map(lambda parts: Path(parts[0], *parts[1]))


def _integers(limits: dict[str, Any]) -> SearchStrategy[int]:
    low = int(limits.get("ge", limits["gt"] + 1 if "gt" in limits else -INT_LIMIT))
    high = int(limits.get("le", limits["lt"] - 1 if "lt" in limits else max(low, 0) + INT_LIMIT))
    # small values near zero (or the nearest bound) first: they satisfy more cross-field rules
    # together, and shrinking ends there
    centre = max(low, min(0, high))
    small = st.integers(max(low, centre - 16), min(high, centre + 16))
    moderate = st.integers(max(low, centre - 1024), min(high, centre + 1024))
    powers = [2**k for k in range(64) if low <= 2**k <= high]
    branches = [small, moderate, st.integers(low, high)]
    if powers:  # some validators accept only powers of two; sizes often are
        branches.append(st.sampled_from(powers))
    return st.one_of(branches)


def _floats(limits: dict[str, Any]) -> SearchStrategy[float]:
    return st.floats(
        min_value=limits.get("ge", limits.get("gt")),
        max_value=limits.get("le", limits.get("lt")),
        exclude_min="gt" in limits,
        exclude_max="lt" in limits,
        allow_nan=False,
        allow_infinity=False,
    )


def _texts(limits: dict[str, Any]) -> SearchStrategy[str]:
    if "pattern" in limits:
        return st.from_regex(limits["pattern"], fullmatch=True)
    low = max(1, limits.get("min_length", 0))
    high = limits.get("max_length", max(16, low))
    text = st.from_regex(f"[A-Za-z0-9_][A-Za-z0-9_./-]{{{low - 1},{high - 1}}}", fullmatch=True)
    return text.filter(lambda s: s.lower() not in ("none", "null"))  # what reads as None


def _of_type(annotation: Any, metadata: list[Any], extra: Any = None) -> SearchStrategy[Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return _of_type(args[0], [*metadata, *annotation.__metadata__], extra)
    limits = _limits(metadata, extra)
    if "enum" in limits:
        return st.sampled_from(limits["enum"])
    if origin is typing.Union or origin is types.UnionType:
        return st.one_of([_of_type(arg, metadata) for arg in args])
    if annotation is int:
        return _integers(limits)
    if annotation is float:
        return _floats(limits)
    if annotation is str:
        return _texts(limits)
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return paths()
    # the items' own constraints, which Hypothesis would not read from pydantic's metadata
    if origin in (list, set, frozenset, tuple) and args:
        if origin is tuple and Ellipsis not in args:
            return st.tuples(*(_of_type(arg, []) for arg in args))
        size = {"min_size": limits.get("min_length", 0), "max_size": limits.get("max_length", 4)}
        return st.lists(_of_type(args[0], []), **size).map(origin)
    # bool, None, a Literal, and whatever else an extension declares (an Enum, a dict, ...)
    return st.from_type(annotation)


def values(key: str) -> SearchStrategy[Any]:
    """Valid values of one key ('training.batch_size', or any unambiguous spelling of it), each
    in the canonical form its field stores and valid for the key alone: the config strategies
    also respect the cross-field rules."""
    return _values(key, tuple(SECTIONS.values()))


@functools.cache  # built once for each spelling and set of registered schemas
def _values(key: str, schemas: tuple[type[BaseModel], ...]) -> SearchStrategy[Any]:
    found = KEYS[qualified_key(key)]
    info = found.info
    adapter = adapter_of(SECTIONS[found.section], found.name)

    def canonical(value: Any) -> Any:
        try:
            return adapter.validate_python(value)
        except (ValidationError, PtychoConfigError):
            return _INVALID

    generated = _of_type(info.annotation, list(info.metadata), info.json_schema_extra)
    return generated.map(canonical).filter(lambda value: value is not _INVALID)


def qualified_key(key: str) -> str:
    """The qualified key a spelling names in either payload ('batch_size' → 'training...')."""
    found: set[str] = set()
    for kind in PAYLOAD_SECTIONS:
        match = lookup(key, kind)
        found.update([match.key.qualified] if isinstance(match, Match) else match.choices)
    if len(found) == 1:
        return found.pop()
    if found:
        choices = " or ".join(sorted(found))
        raise AmbiguousKeyError(f"key {key!r} is ambiguous; use {choices}")
    hints = suggest(key, [*KEYS, *(k.name for k in KEYS.values())])
    problem = UnknownKeyError.problem(show(key), "names no configuration key", suggestions=hints)
    raise UnknownKeyError(str(problem), [problem])
