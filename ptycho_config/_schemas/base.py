"""The base of every schema: frozen, strict, and raising the library's errors, never pydantic's."""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from operator import attrgetter
from pathlib import PurePath
from types import UnionType
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    ClassVar,
    Literal,
    Self,
    Union,
    get_args,
    get_origin,
)

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PydanticUserError,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ptycho_config._errors import (
    MAX_LISTED,
    InvalidValueError,
    MissingValueError,
    Problem,
    PtychoConfigError,
    UnknownKeyError,
    shorten,
    show,
    suggest,
)

if TYPE_CHECKING:  # the rules' type only: the schemas' base stays one import above _errors
    from ptycho_config._schemas.types import CrossFieldRule

# Maps a qualified key to (source description, raw value as given), when the caller knows them.
SourceLookup = Callable[[str], tuple[str, Any] | None]


def _field_path(
    root: type[BaseModel], loc: tuple[int | str, ...]
) -> tuple[list[str], type[BaseModel]]:
    # pydantic adds union tags and validator names to loc; keep only real field names
    path: list[str] = []
    model = root
    for part in loc:
        if not isinstance(part, str) or part not in model.model_fields:
            break
        path.append(part)
        annotation = model.model_fields[part].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return path, model


# Said wherever a word is expected: every schema reads text this way (``Schema._plain_words``).
ANY_CASE = " (letter case and surrounding spaces do not matter)"
# pydantic's error types in the library's words; {name} takes the error's context value.
_WORDING = {
    "frozen_instance": "configs are frozen; build a changed copy with model_copy(update={{...}})",
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "literal_error": "must be {expected}" + ANY_CASE,
    "enum": "must be {expected}" + ANY_CASE,
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer, without a fraction",
    "int_parsing_size": "must be an integer of at most 4300 digits",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number, not NaN or infinity",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false (also yes/no, on/off, 1/0)" + ANY_CASE,
    "string_type": "must be text",
    "path_type": "must be a path",
    "missing": "a value is required",
    "extra_forbidden": "unknown field",
    "model_type": "must be a mapping of field names to values",
    "model_attributes_type": "must be a mapping of field names to values",
    "dict_type": "must be a mapping",
    "too_long": "must hold at most {max_length} entries, got {actual_length}",
}


def message_of(error: Any) -> str:
    """One pydantic error in the library's voice: 'must be >= 1', 'must be one of ...'."""
    kind, ctx = error["type"], dict(error.get("ctx") or {})
    if isinstance(ctx.get("expected"), str):  # pydantic writes "'a', 'b' or 'c'"
        choices = ctx["expected"].replace(" or ", ", ")
        ctx["expected"] = f"one of {choices}" if "," in choices else choices
    if kind == "too_long" and ctx.get("actual_length") is None:  # an iterator is not counted
        ctx["actual_length"] = "more"
    if kind in _WORDING:  # pydantic requires each of these error types' context values
        return _WORDING[kind].format(**ctx)
    # a validator's own message as it is; anything else still speaks as the library does
    text = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return text.replace("Input should be", "must be").replace("Input should", "must")


def problems_from_validation(
    error: ValidationError, root: type[BaseModel], lookup: SourceLookup | None = None
) -> list[Problem]:
    """One problem per offending key, union alternatives merged, values and sources attached."""
    section = getattr(root, "section", "")
    grouped: dict[str, Problem] = {}
    entries: Counter[str] = Counter()  # bad entries of a list beyond the first, by key
    unknown_count = 0
    for item in error.errors():
        path, model = _field_path(root, item["loc"])
        if item["type"] == "extra_forbidden":
            unknown = str(item["loc"][len(path)])
            key = _qualified(section, [*path, unknown])
            # suggestions for as many unknown fields as a message lists: the cost stays linear
            unknown_count += 1
            hints = suggest(unknown, model.model_fields) if unknown_count <= MAX_LISTED else ()
            # the key shortened: a hostile name may be a megabyte long
            grouped[key] = UnknownKeyError.problem(
                shorten(key), "unknown field", item["input"], _source(lookup, key), hints
            )
            continue
        if item["type"] == "cross_field":
            ctx = item.get("ctx", {})
            for rule in ctx.get("rules", ()):
                keys = {_qualified(section, [*path, *f.split(".")]): f for f in rule.fields}
                values = ", ".join(f"{k}={ctx['values'][f]}" for k, f in keys.items())
                sources = sorted({s for k in keys if (s := _source(lookup, k))})
                message = f"{rule.message} (got {values})"
                key = " & ".join(keys)
                grouped[key] = InvalidValueError.problem(key, message, source=", ".join(sources))
            continue
        key = _qualified(section, path)
        if item["type"] == "missing":
            grouped[key] = MissingValueError.problem(key=key, message="a value is required")
            continue
        source, raw = (lookup(key) if lookup else None) or ("", item["input"])
        previous = grouped.get(key)
        message = message_of(item)
        entry = item["loc"][len(path) : len(path) + 1]
        if entry and isinstance(entry[0], int):  # an entry of a list: say which
            if previous is not None:  # the first bad entry is named; the others counted
                entries[key] += 1
                continue
            message = f"entry {entry[0]} = {show(item['input'])}: {message}"
        elif previous is not None and message not in previous.message:
            # union alternatives read as one sentence: "must be >= 1, or 'auto'"
            message = f"{previous.message}, or {message.removeprefix('must be ')}"
        grouped[key] = InvalidValueError.problem(key=key, message=message, value=raw, source=source)
    for key, more in entries.items():
        message = f"{grouped[key].message} (and {more} more {'entry' if more == 1 else 'entries'})"
        grouped[key] = dataclasses.replace(grouped[key], message=message)
    return list(grouped.values())


def _qualified(section: str, path: list[str]) -> str:
    # sections nested in a config (model, torch) keep their own qualified keys
    if path and path[0] in ("model", "torch") and section != path[0]:
        return ".".join(path)
    return ".".join([p for p in (section, *path) if p])


def _source(lookup: SourceLookup | None, key: str) -> str:
    found = lookup(key) if lookup else None
    return found[0] if found else ""


@contextmanager
def _library_errors(schema: type[BaseModel]) -> Iterator[None]:
    try:
        yield
    except ValidationError as error:
        problems = problems_from_validation(error, schema)
        subject = getattr(schema, "section", "") or schema.__name__
        raise PtychoConfigError.from_problems(problems, subject) from error


class Schema(BaseModel):
    """Frozen, strict base: unknown fields are errors, NaN and infinity are rejected; building,
    validating or changing a config raises the library's errors, listing every problem."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    section: ClassVar[str] = ""
    cross_field_rules: ClassVar[tuple[CrossFieldRule, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _plain_words(cls, data: Any) -> Any:
        """Text is read one way for every field: surrounding whitespace never matters, and
        letter case does not matter for a word of a fixed set (a choice, true/false, none)."""
        if not isinstance(data, dict):
            return data
        words = _words_of(cls)
        return {
            name: _plain_word(words[name], value) if name in words else value
            for name, value in data.items()
        }

    @model_validator(mode="after")
    def _check_cross_field_rules(self) -> Self:
        broken = [rule for rule in self.cross_field_rules if not rule.holds(self)]
        if broken:
            text = "; ".join(rule.message for rule in broken)
            values = {f: show(attrgetter(f)(self)) for rule in broken for f in rule.fields}
            raise PydanticCustomError(
                "cross_field", text, {"rules": tuple(broken), "values": values}
            )
        return self

    def __init__(self, /, **data: Any) -> None:
        with _library_errors(type(self)):
            super().__init__(**data)

    # marked as pydantic's own, as its RootModel does: nested models are then validated
    # without this __init__, and keep pydantic's error locations
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def __setattr__(self, name: str, value: Any) -> None:
        with _library_errors(type(self)):
            super().__setattr__(name, value)

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        with _library_errors(cls):
            return super().model_validate(obj, *args, **kwargs)

    @classmethod
    def model_validate_json(cls, json_data: Any, *args: Any, **kwargs: Any) -> Self:
        with _library_errors(cls):
            return super().model_validate_json(json_data, *args, **kwargs)

    @classmethod
    def model_validate_strings(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        with _library_errors(cls):
            return super().model_validate_strings(obj, *args, **kwargs)

    def checked(self) -> Self:
        """This config validated again, as a copy: one built with ``model_construct`` skipped
        every rule, so whatever writes a config out (the legacy dict, a snapshot) checks it."""
        return self.model_validate(self.model_dump(exclude_unset=True, warnings=False))

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update`` it is validated like a new construction (pydantic's is not)."""
        if not update:
            return super().model_copy(deep=deep)
        # the explicitly set fields plus the update: what counts as "set" stays meaningful
        return self.model_validate({**self.model_dump(exclude_unset=True), **update})


def leaves(annotation: Any) -> Iterator[Any]:
    """The plain types and Literal values inside an annotation (unions, Annotated, Optional)."""
    origin = get_origin(annotation)
    if origin is Literal:
        yield from get_args(annotation)
    elif origin is Annotated:
        yield from leaves(get_args(annotation)[0])
    elif origin in (Union, UnionType):
        for arg in get_args(annotation):
            yield from leaves(arg)
    else:
        yield annotation


@functools.cache
def _words_of(schema: type[BaseModel]) -> dict[str, dict[str, str]]:
    """Field → {folded spelling: canonical spelling} of its Literal string choices, for every
    field that cannot hold a path (a path is taken as written)."""
    words = {}
    for name, info in schema.model_fields.items():
        kinds = list(leaves(info.annotation))
        if not any(isinstance(leaf, type) and issubclass(leaf, PurePath) for leaf in kinds):
            words[name] = {leaf.casefold(): leaf for leaf in kinds if isinstance(leaf, str)}
    return words


def _plain_word(words: Mapping[str, str], value: Any) -> Any:
    """Text without its surrounding whitespace, a word of ``words`` in its own spelling."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    return words.get(text.casefold(), text)


@functools.cache
def adapter_of(schema: type[BaseModel], name: str) -> TypeAdapter[Any]:
    """The validator of one field of ``schema`` alone, with the schema's settings and its
    reading of text (``Schema._plain_words``)."""
    annotation = schema.model_fields[name].rebuild_annotation()
    words = _words_of(schema).get(name) if issubclass(schema, Schema) else None
    if words is not None:
        annotation = Annotated[annotation, BeforeValidator(functools.partial(_plain_word, words))]
    try:
        return TypeAdapter(annotation, config=schema.model_config)
    except PydanticUserError as error:
        if error.code != "type-adapter-config-unused":
            raise
        # a model (or dataclass, TypedDict) brings its own settings, as it does inside the schema
        return TypeAdapter(annotation)
