"""Valid values of one field, derived from its annotation: types, choices, bounds, validators.

Nothing here names a field: a field added to a schema is covered as soon as it is declared.
Every value is passed through the field's own validation, so a strategy yields only values
the field accepts, in the canonical form it stores (what a source must resolve it to).
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath
from typing import Annotated, Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from ptycho_config._errors import PtychoConfigError, suggest
from ptycho_config._schemas.registry import KEYS, PAYLOAD_SECTIONS, Match, lookup

# Limits for numbers whose schema gives no bound: wide, yet safe for every consumer of a config.
INT_LIMIT = 2**31 - 1
_INVALID: Any = object()
_TEXT = r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,15}"
# Strings an optional field reads as None: never generated as text.
_NONE_WORDS = frozenset({"none", "null"})


@dataclass(frozen=True)
class _Limits:
    """The constraints found in a type's metadata."""

    ge: Any = None
    gt: Any = None
    le: Any = None
    lt: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    enum: tuple[Any, ...] | None = None


def _limits(metadata: Iterable[Any], extra: Any = None) -> _Limits:
    found: dict[str, Any] = {}
    if isinstance(extra, dict) and isinstance(extra.get("enum"), list):
        found["enum"] = tuple(extra["enum"])
    for item in metadata:
        if isinstance(item, FieldInfo):
            inner = _limits(item.metadata, item.json_schema_extra)
            found.update({k: v for k, v in vars(inner).items() if v is not None})
            continue
        for name in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern"):
            value = getattr(item, name, None)
            if value is not None:
                found[name] = value
    return _Limits(**found)


def paths() -> SearchStrategy[Path]:
    """Simple relative or absolute paths of one to three plain segments."""
    segment = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,11}", fullmatch=True)
    return st.builds(
        lambda absolute, names: Path(str(PurePosixPath("/" if absolute else "", *names))),
        st.booleans(),
        st.lists(segment, min_size=1, max_size=3),
    )


def _integers(limits: _Limits) -> SearchStrategy[int]:
    low = limits.ge if limits.ge is not None else (limits.gt + 1 if limits.gt is not None else None)
    high = (
        limits.le if limits.le is not None else (limits.lt - 1 if limits.lt is not None else None)
    )
    low = -INT_LIMIT if low is None else int(low)
    high = max(low, 0) + INT_LIMIT if high is None else int(high)
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


def _floats(limits: _Limits) -> SearchStrategy[float]:
    low = limits.ge if limits.ge is not None else limits.gt
    high = limits.le if limits.le is not None else limits.lt
    return st.floats(
        min_value=None if low is None else float(low),
        max_value=None if high is None else float(high),
        exclude_min=limits.gt is not None,
        exclude_max=limits.lt is not None,
        allow_nan=False,
        allow_infinity=False,
    )


def _texts(limits: _Limits) -> SearchStrategy[str]:
    if limits.pattern is not None:
        return st.from_regex(limits.pattern, fullmatch=True)
    low = max(1, limits.min_length or 0)
    high = limits.max_length if limits.max_length is not None else max(16, low)
    text = st.from_regex(_TEXT, fullmatch=True) if low == 1 and high >= 16 else st.nothing()
    plain = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=low, max_size=high)
    both = text.filter(lambda s: len(s) <= high) | plain
    return both.filter(lambda s: s.lower() not in _NONE_WORDS)


def _models(model: type[BaseModel]) -> SearchStrategy[BaseModel]:
    fields = {name: field_strategy(info) for name, info in model.model_fields.items()}
    required = {n: s for n, s in fields.items() if model.model_fields[n].is_required()}
    optional = {n: s for n, s in fields.items() if n not in required}
    return st.fixed_dictionaries(required, optional=optional).map(lambda kw: model(**kw))


def _of_type(annotation: Any, metadata: list[Any], extra: Any = None) -> SearchStrategy[Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return _of_type(args[0], [*metadata, *annotation.__metadata__], extra)
    limits = _limits(metadata, extra)
    if limits.enum is not None:
        return st.sampled_from(limits.enum)
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is typing.Union or origin is types.UnionType:
        return st.one_of([_of_type(arg, metadata) for arg in args])
    if annotation is type(None):
        return st.none()
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return _integers(limits)
    if annotation is float:
        return _floats(limits)
    if annotation is str:
        return _texts(limits)
    if isinstance(annotation, type):
        if issubclass(annotation, PurePath):
            return paths()
        if issubclass(annotation, enum.Enum):
            return st.sampled_from(list(annotation))
        if issubclass(annotation, BaseModel):
            return _models(annotation)
    if origin in (list, set, frozenset, tuple) and args:
        if origin is tuple and Ellipsis not in args:
            return st.tuples(*(_of_type(arg, []) for arg in args))
        items = st.lists(
            _of_type(args[0], []), min_size=limits.min_length or 0, max_size=limits.max_length or 4
        )
        return items.map(origin)
    if origin is dict and len(args) == 2:
        return st.dictionaries(_of_type(args[0], []), _of_type(args[1], []), max_size=4)
    return st.from_type(annotation)


def _adapter(info: FieldInfo) -> TypeAdapter[Any]:
    annotation: Any = info.annotation
    if info.metadata:
        annotation = Annotated[(annotation, *info.metadata)]
    config = None if _is_model(info.annotation) else ConfigDict(allow_inf_nan=False)
    return TypeAdapter(annotation, config=config)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def field_strategy(info: FieldInfo) -> SearchStrategy[Any]:
    """Values one field accepts, each in the canonical form the field stores."""
    adapter = _adapter(info)

    def canonical(value: Any) -> Any:
        try:
            return adapter.validate_python(value)
        except (ValidationError, PtychoConfigError):
            return _INVALID

    generated = _of_type(info.annotation, list(info.metadata), info.json_schema_extra)
    return generated.map(canonical).filter(lambda value: value is not _INVALID)


@functools.cache
def _key_values(qualified: str) -> SearchStrategy[Any]:
    return field_strategy(KEYS[qualified].info)


def qualified_key(key: str) -> str:
    """The qualified key a spelling names in either payload ('batch_size' → 'training...')."""
    if key in KEYS:
        return key
    found: set[str] = set()
    for kind in PAYLOAD_SECTIONS:
        match = lookup(key, kind)
        found.update([match.key.qualified] if isinstance(match, Match) else match.choices)
    if len(found) == 1:
        return found.pop()
    if found:
        choices = " or ".join(sorted(found))
        raise ValueError(f"key {key!r} is ambiguous; use {choices}")
    hints = suggest(key, [*KEYS, *(k.name for k in KEYS.values())])
    tip = f"; did you mean {' or '.join(repr(h) for h in hints)}?" if hints else ""
    raise ValueError(f"unknown key {key!r}{tip}")


def values(key: str) -> SearchStrategy[Any]:
    """Valid values of one key ('training.batch_size', or any unambiguous spelling of it).

    Each value is valid for the key alone; a cross-field rule may still reject a combination,
    which the config strategies and ``source_assignments`` take care of.
    """
    return _key_values(qualified_key(key))
