"""Validation of single legacy-dict values, for ``ptycho.params.set`` and ``validate``.

Separate from the legacy bridge so that ``ptycho.params`` can use it without the bridge
(which writes ``ptycho.params.cfg``) importing it back.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from ptycho_config._schemas.base import adapter_of, message_of
from ptycho_config._schemas.registry import current, legacy_name
from ptycho_config._schemas.sections import NESTED_SECTIONS, SECTIONS
from ptycho_config._schemas.types import path_text


@functools.cache
def legacy_fields(schema: type[BaseModel]) -> dict[str, str]:
    """Legacy name -> field name of the schema's own fields written to the legacy dict (not
    the nested sections, nor extension fields without a legacy name)."""
    skipped = {*NESTED_SECTIONS, *current().unwritten}
    return {legacy_name(name): name for name in schema.model_fields if name not in skipped}


def legacy_value(value: Any) -> Any:
    """A field value as the legacy dict stores it: paths as text that reads back as them."""
    return path_text(value) if isinstance(value, Path) else value


def legacy_validators(key: str) -> list[TypeAdapter[Any]]:
    """Validators of every training, inference or model field written under the legacy name
    ``key`` (none when it names no field), in the schemas registered now."""
    schemas = (SECTIONS["model"], SECTIONS["training"], SECTIONS["inference"])
    return [adapter_of(s, legacy_fields(s)[key]) for s in schemas if key in legacy_fields(s)]


def validate_legacy_value(key: str, value: Any) -> Any:
    """``value`` in legacy form, if a field written as ``key`` accepts it (either field of a key
    training and inference share, e.g. ``n_groups``); else ValueError."""
    reasons: list[str] = []
    for adapter in legacy_validators(key):
        try:
            return legacy_value(adapter.validate_python(value))
        except ValidationError as error:
            reasons.extend(message_of(e) for e in error.errors())
    unique = "; ".join(dict.fromkeys(reasons))
    raise ValueError(f"{key} = {value!r}: {unique}")
