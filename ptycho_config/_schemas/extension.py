"""Extension without a fork: a downstream package registers a subclass of a section's schema,
and the registry derives everything else from the registered schemas (docs/extensions.md).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from pydantic import Field, create_model

from ptycho_config._errors import PtychoConfigError
from ptycho_config._schemas import registry as _registry
from ptycho_config._schemas.base import Schema
from ptycho_config._schemas.sections import NESTED_SECTIONS, SECTIONS

ENTRY_POINT_GROUP = "ptycho_config.extensions"
_ORIGINAL_SECTIONS = dict(SECTIONS)


def register_schema(schema: type[Schema], *, legacy: Mapping[str, str] | None = None) -> None:
    """Use ``schema``, a subclass of its section's current schema, for that section.

    ``legacy`` maps new fields to their legacy dict names; new fields without one are
    never written to the legacy dict. Registering the current schema again does nothing.
    """
    section = getattr(schema, "section", "")
    current = SECTIONS.get(section)
    if current is None or not (isinstance(schema, type) and issubclass(schema, current)):
        expected = current.__name__ if current is not None else "a section schema"
        raise TypeError(f"register_schema needs a subclass of {expected}, got {schema!r}")
    added = set(schema.model_fields) - set(current.model_fields)
    names = dict(legacy or {})
    stray = sorted(set(names) - added)
    if stray:
        raise ValueError(f"legacy names given for fields {schema.__name__} does not add: {stray}")
    if schema is current:
        return
    SECTIONS[section] = schema
    if section in NESTED_SECTIONS:
        for holder in _registry.PAYLOAD_SECTIONS:  # each section nesting it, rebuilt with it
            parent = SECTIONS[holder]
            description = parent.model_fields[section].description
            nested: Any = (schema, Field(default_factory=schema, description=description))
            SECTIONS[holder] = create_model(
                parent.__name__, __base__=parent, __module__=parent.__module__, **{section: nested}
            )
    # the registry derives its keys from the schemas; it needs only the new legacy names
    _registry.EXTENSION_FIELDS += tuple((name, names.get(name)) for name in sorted(added))


@functools.cache
def load_extensions() -> None:
    """Register every installed extension (entry point group ``ptycho_config.extensions``)."""
    from importlib.metadata import entry_points  # only the command line scans for them

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found = point.load()
            if isinstance(found, type) and issubclass(found, Schema):
                register_schema(found)
            elif callable(found):
                found()
        except Exception as error:  # third-party code: any failure, named and chained
            message = f"extension {point.name} ({point.value}) failed to load: {error}"
            raise PtychoConfigError(message) from error


def reset_extensions() -> None:
    """Back to the library's own schemas (for tests)."""
    SECTIONS.clear()
    SECTIONS.update(_ORIGINAL_SECTIONS)
    _registry.EXTENSION_FIELDS = ()
    load_extensions.cache_clear()
