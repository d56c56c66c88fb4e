"""One JSON Schema (draft 2020-12) for a config file, in both layouts the file source accepts.

Sections as top-level objects (``training: {nepochs: 5}``) and bare keys that are unambiguous
in every payload (``nepochs: 5``), aliases included. Editors use it to complete and check
config files (e.g. a ``# yaml-language-server: $schema=...`` line).
"""

from __future__ import annotations

from typing import Any

from ptycho_config._registry import ALIASES, KEYS, PAYLOAD_SECTIONS, Match, Miss, lookup
from ptycho_config._schemas import SECTIONS

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _field_schemas() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Each qualified key's property schema, and the definitions they refer to."""
    properties: dict[str, dict[str, Any]] = {}
    definitions: dict[str, Any] = {}
    for section, schema in SECTIONS.items():
        generated = schema.model_json_schema(ref_template="#/$defs/{model}")
        definitions.update(generated.get("$defs", {}))
        for key in KEYS.values():
            if key.section == section:
                properties[key.qualified] = generated["properties"][key.name]
    return properties, definitions


def _through_alias(alias_name: str, target: dict[str, Any]) -> dict[str, Any]:
    alias = ALIASES[alias_name]
    note = f"Alias of {alias.target}" + (" (deprecated)." if alias.deprecated else ".")
    if alias.convert is None:
        return {**target, "description": note, **({"deprecated": True} if alias.deprecated else {})}
    pair = {"type": "array", "items": target, "minItems": 2, "maxItems": 2}
    return {"anyOf": [target, pair, {"type": "string"}], "description": note}


def _accepted(spelling: str) -> list[str]:
    """The keys a spelling names in the payloads where it means something; [] if ambiguous."""
    found = [lookup(spelling, kind) for kind in PAYLOAD_SECTIONS]
    if any(isinstance(f, Miss) and f.reason != "other_payload" for f in found):
        return []
    return sorted({f.key.qualified for f in found if isinstance(f, Match)})


def _one_of(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    distinct = [s for i, s in enumerate(schemas) if s not in schemas[:i]]
    return distinct[0] if len(distinct) == 1 else {"anyOf": distinct}


def config_file_schema() -> dict[str, Any]:
    """The JSON Schema of a ptycho-config file."""
    fields, definitions = _field_schemas()
    properties: dict[str, Any] = {}
    for section, schema in SECTIONS.items():
        own = {k.name: fields[k.qualified] for k in KEYS.values() if k.section == section}
        for alias in ALIASES.values():
            if alias.target in own:
                own[alias.name] = _through_alias(alias.name, own[alias.target])
        properties[section] = {
            "type": "object",
            "description": (schema.__doc__ or section).strip(),
            "properties": own,
            "additionalProperties": False,
        }
    bare_names = sorted({k.name for k in KEYS.values()} | set(ALIASES))
    for name in bare_names:
        keys = _accepted(name)
        if not keys:
            continue
        targets = [fields[key] for key in keys]
        schemas = [_through_alias(name, t) if name in ALIASES else t for t in targets]
        properties[name] = _one_of(schemas)
    return {
        "$schema": DRAFT,
        "title": "ptycho-config file",
        "description": "Sections as top-level objects, or bare keys unambiguous in every payload.",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "$defs": definitions,
    }
