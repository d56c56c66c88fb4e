"""A configuration file: YAML (safe loading only), TOML or JSON, by extension.

Sections are top-level tables (`model:`, `training:`, `inference:`, `execution:`); bare
unambiguous keys may also stand at the top level.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ptycho_config._errors import ConfigFileNotFoundError, InvalidValueError, InvalidValueProblem
from ptycho_config._registry import PayloadKind, lookup
from ptycho_config._schemas import SECTIONS
from ptycho_config._sources.layer import Layer

_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}


def load_config_file(path: Path) -> dict[str, Any]:
    """The file's top-level mapping; a missing, unparsable or non-mapping file is a clear error."""
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        choices = ", ".join(sorted(_SUFFIXES))
        message = f"unsupported extension; use {choices}"
        problem = InvalidValueProblem("config_file", message, str(path))
        raise InvalidValueError(f"cannot read config file {path}: {problem.message}", [problem])
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise ConfigFileNotFoundError(f"Config file not found: {path}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidValueError(f"cannot read config file {path}: {error}") from error
    try:
        data = _parse(kind, text)
    except (ValueError, tomllib.TOMLDecodeError) as error:
        raise InvalidValueError(f"cannot parse config file {path} as {kind}: {error}") from error
    except Exception as error:  # yaml.YAMLError has no common base with the others
        if type(error).__module__.startswith("yaml"):
            raise InvalidValueError(f"cannot parse config file {path} as yaml: {error}") from error
        raise
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidValueError(
            f"config file {path} must hold a mapping of sections or keys, got {type(data).__name__}"
        )
    return data


def _parse(kind: str, text: str) -> Any:
    if kind == "json":
        return json.loads(text)
    if kind == "toml":
        return tomllib.loads(text)
    import yaml  # only where a YAML file is read

    return yaml.safe_load(text)


def file_layer(path: Path, data: Mapping[str, Any], payload: PayloadKind) -> Layer:
    """Every key of a loaded file under its qualified key; keys of the other payload are skipped."""
    layer = Layer("file", payload)
    detail = str(path)
    for top, value in data.items():
        name = str(top)
        if name in SECTIONS:
            if not isinstance(value, dict):
                message = "a section must be a mapping"
                layer.problems.append(InvalidValueProblem(name, message, value, f"file {detail}"))
                continue
            for field, item in value.items():
                spelling = f"{name}.{field}"
                layer.add(lookup(spelling, payload), spelling, item, detail, foreign_is_error=False)
            continue
        layer.add(lookup(name, payload), name, value, detail, foreign_is_error=False)
    return layer
