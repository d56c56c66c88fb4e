"""Turn pydantic's ValidationError into the library's errors, so it never escapes the public API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from ptycho_config._errors import (
    MAX_LISTED,
    InvalidValueProblem,
    MissingValueProblem,
    Problem,
    PtychoConfigError,
    UnknownKeyProblem,
    shorten,
    suggest,
)

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


# Said wherever a word is expected: every schema reads text this way (see _schema_base).
_ANY_CASE = " (letter case and surrounding spaces do not matter)"
# pydantic's error types in the library's words; {name} takes the error's context value.
_WORDING = {
    "frozen_instance": "configs are frozen; build a changed copy with model_copy(update={...})",
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "literal_error": "must be {expected}" + _ANY_CASE,
    "enum": "must be {expected}" + _ANY_CASE,
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer, without a fraction",
    "int_parsing_size": "must be an integer of at most 4300 digits",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number, not NaN or infinity",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false (also yes/no, on/off, 1/0)" + _ANY_CASE,
    "string_type": "must be text",
    "path_type": "must be a path",
    "missing": "a value is required",
    "extra_forbidden": "unknown field",
    "model_type": "must be a mapping of field names to values",
    "model_attributes_type": "must be a mapping of field names to values",
    "dict_type": "must be a mapping",
    "none_required": "must be None",
}


def message_of(error: Any) -> str:
    """One pydantic error in the library's voice: 'must be >= 1', 'must be one of ...'."""
    kind, ctx = error["type"], dict(error.get("ctx") or {})
    if isinstance(ctx.get("expected"), str):  # pydantic writes "'a', 'b' or 'c'"
        choices = ctx["expected"].replace(" or ", ", ")
        ctx["expected"] = f"one of {choices}" if "," in choices else choices
    wording = _WORDING.get(kind)
    if wording is not None:
        try:
            return wording.format(**ctx)
        except (KeyError, IndexError, ValueError):  # a context this wording does not expect
            pass
    text = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    # anything left still speaks as the library does
    return text.replace("Input should be", "must be").replace("Input should", "must")


def problems_from_validation(
    error: ValidationError,
    root: type[BaseModel],
    section: str,
    lookup: SourceLookup | None = None,
) -> list[Problem]:
    """One problem per offending key, union alternatives merged, values and sources attached."""
    grouped: dict[str, Problem] = {}
    unknown_count = 0
    for item in error.errors():
        path, model = _field_path(root, item["loc"])
        if item["type"] == "extra_forbidden":
            unknown = str(item["loc"][len(path)])
            key = _qualified(section, [*path, unknown])
            unknown_count += 1  # suggestions for as many as a message lists: cost stays linear
            examine = unknown_count <= MAX_LISTED
            grouped[key] = UnknownKeyProblem(
                key=shorten(key),  # a hostile name may be a megabyte long
                message="unknown field",
                value=item["input"],
                source=_source(lookup, key),
                suggestions=suggest(unknown, model.model_fields) if examine else (),
            )
            continue
        if item["type"] == "cross_field":
            ctx = item.get("ctx", {})
            for rule in ctx.get("rules", ()):
                keys = [_qualified(section, [*path, *f.split(".")]) for f in rule.fields]
                values = ", ".join(
                    f"{k}={ctx['values'][f]}" for k, f in zip(keys, rule.fields, strict=True)
                )
                sources = sorted({s for k in keys if (s := _source(lookup, k))})
                grouped[" & ".join(keys)] = InvalidValueProblem(
                    key=" & ".join(keys),
                    message=f"{rule.message} (got {values})",
                    source=", ".join(sources),
                )
            continue
        key = _qualified(section, path)
        if item["type"] == "missing":
            grouped[key] = MissingValueProblem(key=key, message="a value is required")
            continue
        known = lookup(key) if lookup else None
        raw = known[1] if known else item["input"]
        previous = grouped.get(key)
        message = message_of(item)
        if previous is not None and message not in previous.message:
            # union alternatives read as one sentence: "must be >= 1, or 'auto'"
            message = f"{previous.message}, or {message.removeprefix('must be ')}"
        grouped[key] = InvalidValueProblem(
            key=key, message=message, value=raw, source=known[0] if known else ""
        )
    return list(grouped.values())


def error_from_validation(
    error: ValidationError,
    root: type[BaseModel],
    section: str,
    lookup: SourceLookup | None = None,
) -> PtychoConfigError:
    """A library error listing every problem of a pydantic ValidationError of ``root``."""
    return PtychoConfigError.from_problems(
        problems_from_validation(error, root, section, lookup), section or root.__name__
    )


def _qualified(section: str, path: list[str]) -> str:
    # sections nested in a config (model, torch) keep their own qualified keys
    if path and path[0] in ("model", "torch") and section != path[0]:
        return ".".join(path)
    return ".".join([p for p in (section, *path) if p]) or section


def _source(lookup: SourceLookup | None, key: str) -> str:
    found = lookup(key) if lookup else None
    return found[0] if found else ""
