"""The base of every schema: frozen, strict, and raising the library's errors, never pydantic's."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import PurePath
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, Self, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from ptycho_config._errors import show
from ptycho_config._schemas.types import CrossFieldRule
from ptycho_config._schemas.validation import error_from_validation


@contextmanager
def _library_errors(schema: type[BaseModel]) -> Iterator[None]:
    """Turn pydantic's ValidationError into the library's error, naming the schema's section."""
    try:
        yield
    except ValidationError as error:
        raise error_from_validation(error, schema, getattr(schema, "section", "")) from error


class Schema(BaseModel):
    """Frozen, strict base: unknown fields are errors, NaN and infinity are rejected."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, use_attribute_docstrings=False
    )
    section: ClassVar[str] = ""
    cross_field_rules: ClassVar[tuple[CrossFieldRule, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _plain_words(cls, data: Any) -> Any:
        """Text is read one way for every field: surrounding whitespace never matters, and
        letter case does not matter for a word of a fixed set (a choice, true/false, none)."""
        if not isinstance(data, dict):
            return data
        cleaned = dict(data)
        for name, value in data.items():
            # a path is taken as written
            if isinstance(value, str) and name in cls.model_fields and name not in paths_of(cls):
                text = value.strip()
                cleaned[name] = _choices_of(cls).get(name, {}).get(text.casefold(), text)
        return cleaned

    @model_validator(mode="after")
    def _check_cross_field_rules(self) -> Self:
        broken = [rule for rule in self.cross_field_rules if not rule.holds(self)]
        if broken:
            text = "; ".join(rule.message for rule in broken)
            values = {f: show(_dotted(self, f)) for rule in broken for f in rule.fields}
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
        """Validate ``obj``; a failure raises :class:`InvalidValueError` listing every problem."""
        with _library_errors(cls):
            return super().model_validate(obj, *args, **kwargs)

    @classmethod
    def model_validate_json(cls, json_data: Any, *args: Any, **kwargs: Any) -> Self:
        """Validate JSON text; a failure raises :class:`InvalidValueError` listing every problem."""
        with _library_errors(cls):
            return super().model_validate_json(json_data, *args, **kwargs)

    @classmethod
    def model_validate_strings(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """Validate string data; a failure raises :class:`InvalidValueError` as the others do."""
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
def _choices_of(schema: type[BaseModel]) -> dict[str, dict[str, str]]:
    """Field → {folded spelling: canonical spelling} of its Literal string choices."""
    return {
        name: {leaf.casefold(): leaf for leaf in leaves(info.annotation) if isinstance(leaf, str)}
        for name, info in schema.model_fields.items()
    }


@functools.cache
def paths_of(schema: type[BaseModel]) -> frozenset[str]:
    """The fields of a schema that may hold a path."""
    return frozenset(
        name
        for name, info in schema.model_fields.items()
        if any(
            isinstance(leaf, type) and issubclass(leaf, PurePath)
            for leaf in leaves(info.annotation)
        )
    )


@functools.cache
def adapter_of(schema: type[BaseModel], name: str) -> TypeAdapter[Any]:
    """The validator of one field of ``schema`` alone, with the schema's settings."""
    return TypeAdapter(schema.model_fields[name].rebuild_annotation(), config=schema.model_config)


def _dotted(model: BaseModel, path: str) -> Any:
    value: Any = model
    for part in path.split("."):
        value = getattr(value, part)
    return value
