"""A configuration file: YAML (safe loading only), TOML or JSON, by extension.

Sections are top-level tables (`model:`, `training:`, `inference:`, `execution:`); bare
unambiguous keys may also stand at the top level.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from ptycho_config._errors import (
    ConfigFileNotFoundError,
    InvalidValueError,
    InvalidValueProblem,
)
from ptycho_config._files import CONFIG_FILE_CAP, DuplicateKeyError, read_capped, unique_keys
from ptycho_config._registry import PayloadKind, lookup
from ptycho_config._schemas import SECTIONS
from ptycho_config._sources.layer import Layer, SourceKind

_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}
# Values a YAML file may expand to; aliases can make a few lines expand to billions.
_MAX_VALUES = 100_000


def load_config_file(path: Path) -> dict[str, Any]:
    """The file's top-level mapping; a missing, unparsable or non-mapping file is a clear error.

    The file must be a regular file of at most ``CONFIG_FILE_CAP`` bytes; a key given twice
    in one mapping is an error, as TOML makes it.
    """
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        choices = ", ".join(sorted(_SUFFIXES))
        _fail(path, f"cannot read config file {path}: unsupported extension; use {choices}")
    try:
        text = read_capped(path, "config file", CONFIG_FILE_CAP).decode("utf-8")
    except (FileNotFoundError, NotADirectoryError) as error:
        problem = InvalidValueProblem("config_file", "no such file; fix the path", str(path))
        raise ConfigFileNotFoundError(f"Config file not found: {path}", [problem]) from error
    except UnicodeDecodeError as error:
        _fail(path, f"cannot read config file {path}: it is not UTF-8 text ({error})", error)
    try:
        data = _parse(kind, text)
    except DuplicateKeyError as error:
        _fail(path, f"config file {path} gives {error}; give each key once", error)
    except (ValueError, tomllib.TOMLDecodeError) as error:
        _fail(path, f"cannot parse config file {path} as {kind}: {error}", error)
    except RecursionError as error:
        message = f"cannot parse config file {path} as {kind}: nested too deeply"
        _fail(path, message, error)
    except Exception as error:  # yaml.YAMLError has no common base with the others
        if type(error).__module__.startswith("yaml"):
            _fail(path, f"cannot parse config file {path} as yaml: {error}", error)
        raise
    if data is None:
        return {}
    if not isinstance(data, dict):
        got = type(data).__name__
        _fail(path, f"config file {path} must hold a mapping of sections or keys, got {got}")
    if kind == "yaml" and _expands_beyond(data, _MAX_VALUES):
        too_big = f"expands to more than {_MAX_VALUES} values (through YAML aliases?)"
        _fail(path, f"config file {path} {too_big}; write it out plainly")
    return data


def _fail(path: Path, message: str, cause: BaseException | None = None) -> NoReturn:
    problem = InvalidValueProblem("config_file", message, str(path))
    raise InvalidValueError(message, [problem]) from cause


def _expands_beyond(data: Any, limit: int) -> bool:
    """Whether data holds more than `limit` values, counting every alias of a shared value."""
    pending, seen = [data], 0
    while pending:
        seen += 1
        if seen > limit:
            return True
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | set):
            pending.extend(item)
    return False


def _parse(kind: str, text: str) -> Any:
    if kind == "json":
        return json.loads(text, object_pairs_hook=unique_keys)
    if kind == "toml":
        return tomllib.loads(text)
    return _load_yaml(text)


def _load_yaml(text: str) -> Any:
    """safe_load, refusing a key given twice in one mapping (PyYAML keeps the last silently)."""
    import yaml  # only where a YAML file is read

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # '<<' merges, it is no key
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key; the base constructor reports it
                    continue
                if duplicate:
                    line = key_node.start_mark.line + 1
                    raise DuplicateKeyError(f"key {key!r} twice (again on line {line})")
            mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
            return mapping

    return yaml.load(text, Loader=UniqueKeyLoader)


@dataclass(frozen=True)
class ConfigFile:
    """A config file, read when its layer is asked for."""

    path: Path
    kind: SourceKind = "file"

    def read(self, payload: PayloadKind) -> Layer:
        return file_layer(self.path, load_config_file(self.path), payload)


def file_layer(
    path: Path | str, data: Mapping[str, Any], payload: PayloadKind, *, kind: SourceKind = "file"
) -> Layer:
    """Every key of a loaded file under its qualified key; keys of the other payload are skipped."""
    layer = Layer(kind, payload)
    detail = str(path)
    for top, value in data.items():
        name = str(top)
        if name in SECTIONS:
            if not isinstance(value, dict):
                message = "a section must be a mapping"
                layer.problems.append(InvalidValueProblem(name, message, value, f"{kind} {detail}"))
                continue
            for field, item in value.items():
                spelling = f"{name}.{field}"
                layer.add(lookup(spelling, payload), spelling, item, detail, foreign_is_error=False)
            continue
        layer.add(lookup(name, payload), name, value, detail, foreign_is_error=False)
    return layer
