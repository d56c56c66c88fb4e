"""One JSON Schema (draft 2020-12) for a config file, in both layouts the file source accepts,
for editors to complete and check config files with (docs/containers.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ptycho_config._schemas.registry import ALIASES, KEYS, PAYLOAD_SECTIONS, Match, Miss, lookup
from ptycho_config._schemas.sections import METADATA_KEY, NESTED_SECTIONS, SECTIONS, Metadata

# The words pydantic reads as booleans, in any letter case.
_BOOLEAN_WORDS = ("true", "false", "yes", "no", "on", "off", "t", "f", "y", "n", "1", "0")


def _words(words: Iterable[str]) -> dict[str, Any]:
    """Text that is one of ``words`` in any letter case, with any surrounding spaces (as the
    schemas read it; JSON Schema's regular expressions have no case-insensitive flag)."""
    spelled = ("".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in w)
               for w in sorted(words))  # fmt: skip
    return {"type": "string", "pattern": rf"^\s*(?:{'|'.join(spelled)})\s*$"}


def _as_read(node: Any) -> Any:
    """A generated property schema made to accept what the library accepts: choices in any case,
    boolean words; an optional value as one type list, so a bad value is reported by its own
    rule, not as 'not valid under any of the given schemas'."""
    if isinstance(node, list):
        return [_as_read(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _as_read(value) for key, value in node.items()}
    choices = node.pop("enum", None) or ([node.pop("const")] if "const" in node else None)
    if choices is not None and all(isinstance(choice, str) for choice in choices):
        node |= _words(choices)
    elif choices is not None:
        node["enum"] = choices
    if node.get("format") == "path":  # the path rule of types.py: not blank, no NUL byte
        node["pattern"] = r"^[^\x00]*[^\x00\s][^\x00]*$"
    if node.get("type") == "array" and node.get("items", {}).get("type") == "string":
        # a list of words may be written as text, '1,2' or '[1, 2]', as in a variable
        node = {"anyOf": [node, {"type": "string", "pattern": r"\S"}]}
    elif node.get("type") == "boolean":
        node.pop("type")
        node["anyOf"] = [{"type": "boolean"}, {"enum": [0, 1]}, _words(_BOOLEAN_WORDS)]
    options = node.get("anyOf", [])
    typed = [option for option in options if option != {"type": "null"}]
    if len(options) == 2 and len(typed) == 1 and isinstance(typed[0].get("type"), str):
        node.pop("anyOf")
        node |= typed[0] | {"type": [typed[0]["type"], "null"]}
    return node


def _through_alias(alias_name: str, target: dict[str, Any]) -> dict[str, Any]:
    alias = ALIASES[alias_name]
    note = f"Alias of {alias.target}" + (" (deprecated)." if alias.deprecated else ".")
    if alias.convert is None:
        return {**target, "description": note, **({"deprecated": True} if alias.deprecated else {})}
    pair = {"type": "array", "items": target, "minItems": 2, "maxItems": 2}
    return {"anyOf": [target, pair, {"type": "string"}], "description": note}


def _one_of(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    distinct = [s for i, s in enumerate(schemas) if s not in schemas[:i]]
    # a schema that only adds None to another is that one's wider form (inference n_groups)
    wider = [s for s in distinct if all(_within(o, s) for o in distinct)]
    return wider[0] if wider else {"anyOf": distinct}


def _within(narrow: dict[str, Any], wide: dict[str, Any]) -> bool:
    kinds = wide.get("type")
    extra = {k: v for k, v in wide.items() if k not in ("type", "default", "description")}
    same = {k: v for k, v in narrow.items() if k not in ("type", "default", "description")}
    return narrow == wide or (
        isinstance(kinds, list) and narrow.get("type") in kinds and same == extra
    )


def config_file_schema() -> dict[str, Any]:
    """The JSON Schema of a ptycho-config file."""
    fields: dict[str, dict[str, Any]] = {}  # each qualified key's property schema
    definitions: dict[str, Any] = {}  # the definitions they refer to
    properties: dict[str, Any] = {}
    for section, schema in SECTIONS.items():
        generated = schema.model_json_schema(ref_template="#/$defs/{model}")
        definitions.update(_as_read(generated.get("$defs", {})))
        own = {
            key.name: _as_read(generated["properties"][key.name])
            for key in KEYS.values()
            if key.section == section
        }
        fields |= {f"{section}.{name}": node for name, node in own.items()}
        for alias in ALIASES.values():
            if alias.target in own:
                own[alias.name] = _through_alias(alias.name, own[alias.target])
        if section in PAYLOAD_SECTIONS:  # a config's own dump nests these sections
            own |= {nested: {"$ref": f"#/properties/{nested}"} for nested in NESTED_SECTIONS}
        properties[section] = {
            "type": "object",
            "description": (schema.__doc__ or section).strip(),
            "properties": own,
            "additionalProperties": False,
        }
    for name in sorted({k.name for k in KEYS.values()} | set(ALIASES)):
        found = [lookup(name, kind) for kind in PAYLOAD_SECTIONS]
        if any(isinstance(f, Miss) and f.reason != "other_payload" for f in found):
            continue  # ambiguous in a payload: no bare key
        keys = sorted({f.key.qualified for f in found if isinstance(f, Match)})
        schemas = [_through_alias(name, fields[k]) if name in ALIASES else fields[k] for k in keys]
        properties[name] = _one_of(schemas)
    properties[METADATA_KEY] = Metadata.model_json_schema()
    # the cross-field rules, which JSON Schema cannot state
    rules = {rule.message for schema in SECTIONS.values() for rule in schema.cross_field_rules}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ptycho-config file",
        "description": "Sections as top-level objects (the training or inference section may "
        "nest model and torch), or bare keys unambiguous in every payload. The library also "
        "reads a number written as text ('16'), a list of numbers written as text ('0.1,0.9') and "
        "'none' for None; this schema asks for the value itself. Rules across fields, checked by "
        f"the library only: {'; '.join(sorted(rules))}.",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "$defs": definitions,
    }
