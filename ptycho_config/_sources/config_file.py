"""A configuration file: YAML (safe loading only), TOML or JSON, by extension; sections, bare
keys, a config's own ``model_dump()`` and ``metadata`` as docs/cli.md describes them."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NoReturn, cast

from pydantic import ValidationError

from ptycho_config._errors import (
    ConfigFileNotFoundError,
    InvalidValueError,
    Problem,
)
from ptycho_config._files import CONFIG_FILE_CAP, DuplicateKeyError, read_capped, unique_keys
from ptycho_config._schemas.base import ANY_CASE, message_of
from ptycho_config._schemas.registry import PayloadKind
from ptycho_config._schemas.sections import METADATA_KEY, Metadata
from ptycho_config._sources.kinds import SourceKind
from ptycho_config._sources.layer import Layer

_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}
# Values a YAML file may expand to; aliases can make a few lines expand to billions.
_MAX_VALUES = 100_000
# Values a config file may write out (YAML parse events, TOML commas and lines, JSON values):
# far above any real configuration, and a bound on the work of reading one.
_MAX_EVENTS = 20_000
# Dots a TOML file may hold: tomllib reads a dotted key in time quadratic in its length.
_MAX_TOML_DOTS = 2_000


def load_config_file(path: Path) -> dict[str, Any]:
    """The file's top-level mapping: a regular file of at most ``CONFIG_FILE_CAP`` bytes, no
    key twice in one mapping (as TOML makes it); anything else is a clear error."""
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        choices = ", ".join(sorted(_SUFFIXES))
        _fail(path, f"cannot read config file {path}: unsupported extension; use {choices}")
    try:
        text = read_capped(path, "config file", CONFIG_FILE_CAP).decode("utf-8")
    except (FileNotFoundError, NotADirectoryError) as error:
        problem = InvalidValueError.problem("config_file", "no such file; fix the path", str(path))
        raise ConfigFileNotFoundError(f"Config file not found: {path}", [problem]) from error
    except UnicodeDecodeError as error:
        _fail(path, f"cannot read config file {path}: it is not UTF-8 text ({error})", error)
    try:
        data = _parse(kind, text)
    except DuplicateKeyError as error:
        _fail(path, f"config file {path} gives {error}; give each key once", error)
    except RecursionError as error:
        _fail(path, f"cannot parse config file {path} as {kind}: nested too deeply", error)
    except Exception as error:  # a ValueError (as tomllib's are) or a yaml.YAMLError
        if not (isinstance(error, ValueError) or type(error).__module__.startswith("yaml")):
            raise
        _fail(path, f"cannot parse config file {path} as {kind}: {error}", error)
    if data is None:
        return {}
    if not isinstance(data, dict):
        got = type(data).__name__
        _fail(path, f"config file {path} must hold a mapping of sections or keys, got {got}")
    return data


def _fail(path: Path, message: str, cause: BaseException | None = None) -> NoReturn:
    problem = InvalidValueError.problem("config_file", message, str(path))
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
    if kind == "json":  # bounded once parsed, as json's parser is C
        data = json.loads(text, object_pairs_hook=unique_keys)
        if _expands_beyond(data, _MAX_EVENTS):
            raise ValueError(f"it has more than {_MAX_EVENTS} values")
        return data
    if kind == "toml":  # tomllib is pure Python: what it may parse is bounded first
        if text.count(",") + text.count("\n") > _MAX_EVENTS:
            raise ValueError(f"it has more than {_MAX_EVENTS} values or lines")
        if text.count(".") > _MAX_TOML_DOTS:
            raise ValueError(f"it has more than {_MAX_TOML_DOTS} dots (keys and numbers)")
        import tomllib  # only when a TOML file is read, as PyYAML for YAML

        return tomllib.loads(text)
    return load_yaml(text)


# YAML 1.2 core schema numbers, the only ones read as numbers: 0512 is 512, not 1.1's octal;
# base 60 (1:30) and underscores (1_000) are plain text, which a number field rejects by value.
_YAML_INT = r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
_YAML_FLOAT = (
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
)
_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
# add_implicit_resolver's arguments: tag, pattern, the characters a match may start with
_NUMBER_RESOLVERS = (
    (_INT_TAG, re.compile(f"^(?:{_YAML_INT})$"), list("-+0123456789")),
    (_FLOAT_TAG, re.compile(f"^(?:{_YAML_FLOAT})$"), list("-+.0123456789")),
)


@functools.cache
def _yaml_loader() -> Any:
    """safe_load's loader with YAML 1.2 core numbers, refusing a key given twice in one
    mapping (PyYAML keeps the last silently)."""
    import yaml  # only where a YAML file is read

    merge_tag = "tag:yaml.org,2002:merge"

    # libyaml's parser where installed: the pure-Python one takes seconds on a 1 MiB file
    class StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        yaml_implicit_resolvers: ClassVar = {
            first: [(tag, rule) for tag, rule in rules if tag not in (_INT_TAG, _FLOAT_TAG)]
            for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }

        def construct_yaml_int(self, node: Any) -> int:
            text = str(self.construct_scalar(node))  # 0o and 0x take their base; 017 is 17
            return int(text, 0) if text[:2] in ("0o", "0x") else int(text)

        def flatten_mapping(self, node: Any) -> None:
            """Merge keys ('<<'): of the merged mappings the earlier gives a key, and the
            mapping's own keys win over all (PyYAML tells keys apart by object identity)."""
            merged: list[Any] = []
            for key_node, value_node in [p for p in node.value if p[0].tag == merge_tag]:
                sources = value_node.value if value_node.id == "sequence" else [value_node]
                for source in sources:
                    if source.id != "mapping":
                        raise yaml.constructor.ConstructorError(
                            "while merging", key_node.start_mark,
                            f"expected a mapping to merge, found a {source.id}",
                            source.start_mark,
                        )  # fmt: skip
                    self.flatten_mapping(source)
                    # merges of merges copy keys exponentially: a bound like that on aliases
                    self.merged_keys = getattr(self, "merged_keys", 0) + len(source.value)
                    if self.merged_keys > _MAX_VALUES:
                        too_many = f"its merge keys ('<<') copy more than {_MAX_VALUES} keys"
                        raise ValueError(f"{too_many}; write it out plainly")
                    merged.append(source.value)
            own = [pair for pair in node.value if pair[0].tag != merge_tag]
            # the constructor keeps the last of equal keys: earliest mapping last, own keys after
            node.value = [pair for pairs in reversed(merged) for pair in pairs] + own

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == merge_tag:  # '<<' merges, it is no key
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
            return cast(dict[Any, Any], super().construct_mapping(node, deep=deep))

    StrictLoader.add_constructor(_INT_TAG, StrictLoader.construct_yaml_int)
    for resolver in _NUMBER_RESOLVERS:
        StrictLoader.add_implicit_resolver(*resolver)
    return StrictLoader


def dump_yaml(document: Mapping[str, Any]) -> str:
    """YAML that this loader reads back to ``document``: text a YAML 1.2 reader would take
    for a number (``0e0``, which PyYAML writes bare) is quoted."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    for resolver in _NUMBER_RESOLVERS:
        Dumper.add_implicit_resolver(*resolver)
    return str(yaml.dump(dict(document), Dumper=Dumper, sort_keys=False))


def load_yaml(text: str | bytes) -> Any:
    """The document, once its parse events are counted (a bound met before any is built), if
    its aliases do not expand it beyond ``_MAX_VALUES``. YAML 1.2 core numbers, earlier-wins
    merge keys, a key given twice is an error."""
    import yaml

    for count, _ in enumerate(yaml.parse(text, Loader=_yaml_loader())):
        if count > _MAX_EVENTS:
            raise ValueError(f"it has more than {_MAX_EVENTS} values; write a smaller file")
    data = yaml.load(text, Loader=_yaml_loader())
    if _expands_beyond(data, _MAX_VALUES):
        too_big = f"it expands to more than {_MAX_VALUES} values (through YAML aliases?)"
        raise ValueError(f"{too_big}; write it out plainly")
    return data


@dataclass(frozen=True)
class ConfigFile:
    """A config file, read when its layer is asked for."""

    path: Path
    kind: SourceKind = "file"

    def read(self, payload: PayloadKind) -> Layer:
        data = load_config_file(self.path)
        if {"schema_version", "training_config"} <= data.keys():  # the first snapshot layout
            _fail(
                self.path,
                f"{self.path} is a version-1 checkpoint snapshot (load_snapshot reads it; a "
                "config file has today's layout): rename training_config to training and "
                "execution_config to execution, and delete the other top-level keys",
            )
        layer = Layer(self.kind, payload)
        if METADATA_KEY in data:  # checked in shape, never read as values
            problems = metadata_problems(data[METADATA_KEY], f"{self.kind} {self.path}")
            written = None if problems else data[METADATA_KEY]["kind"]
            if written != payload and written in data and payload not in data:
                _fail(
                    self.path,
                    f"{self.path} is a report or snapshot of {written} (metadata.kind is "
                    f"{written!r}) with no {payload} section: give a report, snapshot or "
                    f"config file of {payload}",
                )
            layer.problems += problems
        layer.add_sections({k: v for k, v in data.items() if k != METADATA_KEY}, str(self.path))
        return layer


def metadata_problems(value: Any, where: str) -> list[Problem]:
    """What is wrong with a recorded ``metadata`` (a config file's or a snapshot's)."""
    try:
        Metadata.model_validate(value)
    except ValidationError as error:
        return [
            InvalidValueError.problem(
                ".".join(map(str, (METADATA_KEY, *item["loc"]))),
                message_of(item).removesuffix(ANY_CASE),  # the record is read exactly
                source=where,
                **({} if item["type"] == "missing" else {"value": item["input"]}),
            )
            for item in error.errors()
        ]
    return []
