"""PTYCHO_<FIELD> or PTYCHO_<SECTION>__<FIELD> variables, case-insensitive, as layers: from the
process environment, a .env file (kind dotenv) or a secrets directory (kind secret); see
docs/environment.md and docs/containers.md. The environment is read once per call and never
mutated.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePath
from typing import Literal, TypeVar

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from ptycho_config._errors import (
    MAX_LISTED,
    SECRET_SHOWN,
    FileReadError,
    InvalidValueError,
    UnknownKeyError,
    shorten,
    suggest,
)
from ptycho_config._files import SETTINGS_FILE_CAP, missing, read_capped, require_directory
from ptycho_config._schemas.registry import (
    ENV_PREFIX,
    KEYS,
    RESERVED_ENV,
    SWITCHES,
    Match,
    Miss,
    PayloadKind,
    env_names,
    lookup_env,
)
from ptycho_config._schemas.types import path_text
from ptycho_config._sources.kinds import SourceKind
from ptycho_config._sources.layer import Layer
from ptycho_config._sources.unknown import typo_suggestions

# Far above any real .env file; bounds the work of parsing one.
MAX_DOTENV_LINES = 5_000

_Value = TypeVar("_Value")


def ptycho_variables(environ: Mapping[str, _Value]) -> dict[str, _Value]:
    """The PTYCHO_* entries of an environment (or a folder's files by name), as spelled there."""
    prefix = len(ENV_PREFIX)
    # a name that is no text (in a mapping given as environ) is no variable, as in os.environ
    return {
        name: environ[name]
        for name in environ
        if isinstance(name, str) and name[:prefix].upper() == ENV_PREFIX
    }


@dataclass(frozen=True)
class Environment:
    """Every PTYCHO_* variable under its qualified key; of the unknown ones, ``strict`` None
    fails on typo-like names only (the others are skipped with a warning), True on all.
    ``details`` gives each variable's provenance detail (by default its name)."""

    variables: Mapping[str, str | None]
    strict: bool | None = None
    kind: SourceKind = "env"
    details: Mapping[str, str] | None = None

    def read(self, payload: PayloadKind) -> Layer:
        layer = Layer(self.kind, payload)
        for name in sorted(self.variables):
            upper = name.upper()
            detail = name if self.details is None else self.details[name]
            where = f"{self.kind} {detail}"
            if upper in SWITCHES and self.kind != "env":  # ignoring it would drop, say, a profile
                problem = (
                    "is read from the process environment or its command-line option only, "
                    "not from a .env file or a secret; set it there"
                )
                layer.problems.append(InvalidValueError.problem(name, problem, source=where))
                continue
            if upper in RESERVED_ENV:
                continue
            text = self.variables[name]
            if text is None:  # a bare NAME line in a .env file
                layer.problems.append(InvalidValueError.problem(name, "has no value", source=where))
                continue
            # a mounted secret's content never shows in a message, whatever its name
            shown = SECRET_SHOWN if self.kind == "secret" else text
            found = lookup_env(upper, payload)
            if self.kind == "secret":
                layer.secrets[name] = [text]
                if isinstance(found, Match):
                    layer.secrets[found.key.qualified] = [text]
            if isinstance(found, Miss) and found.reason == "unknown":
                _unknown(layer, name, shown, shorten(where), self.strict)
                continue
            layer.add(name, text, detail, found=found, raw=shown, foreign_is_error=False)
        if self.strict is None and layer.unknown > MAX_LISTED:
            layer.warnings.append(
                f"{layer.unknown} unknown environment variables in {self.kind}; those after the "
                f"first {MAX_LISTED} were not checked for typos by edit distance"
            )
        return layer


@dataclass(frozen=True)
class MountedVariables:
    """PTYCHO_* variables kept in files: a .env file (kind dotenv, below the environment) or a
    secrets directory (kind secret, below a .env file); provenance names each one's file."""

    kind: Literal["dotenv", "secret"]
    path: Path
    strict: bool | None = None

    @cached_property
    def loaded(self) -> tuple[dict[str, str | None], dict[str, str]]:
        """The variables, and by name the file each came from: read once per call."""
        if self.kind == "secret":
            return read_secrets(self.path)
        variables = ptycho_variables(read_dotenv(self.path))
        return variables, dict.fromkeys(variables, str(self.path))

    def read(self, payload: PayloadKind) -> Layer:
        variables, files = self.loaded
        return Environment(variables, self.strict, self.kind, files).read(payload)


def read_dotenv(path: Path) -> dict[str, str | None]:
    """The variables of a .env file, as spelled there (None for a line without '='), parsed by
    python-dotenv's parser; values are taken literally (expanding ``${VAR}`` could grow a small
    file without bound)."""
    from dotenv.parser import parse_stream

    try:
        text = read_capped(path, "env file", SETTINGS_FILE_CAP).decode("utf-8")
    except (FileNotFoundError, NotADirectoryError) as error:
        raise missing(path, "env file") from error
    except UnicodeDecodeError as error:
        raise FileReadError.of(path, "env file", f"it is not UTF-8 text ({error})") from error
    # python-dotenv's parser is pure Python, and ends a line at \r\n, \n or a lone \r
    if text.count("\n") + text.count("\r") - text.count("\r\n") > MAX_DOTENV_LINES:
        reason = f"it has more than {MAX_DOTENV_LINES} lines, the limit for an env file"
        raise FileReadError.of(path, "env file", reason)
    lines: dict[str, str | None] = {}
    problems = []
    for binding in parse_stream(io.StringIO(text)):
        where = f"dotenv {path}:{binding.original.line}"
        if binding.error:
            problem = f"cannot parse {shorten(binding.original.string.strip(), 60)!r}"
            problems.append(InvalidValueError.problem("env file", problem, source=where))
        elif binding.key is not None and binding.key in lines:
            problem = "given twice in one .env file; give it once"
            problems.append(InvalidValueError.problem(shorten(binding.key), problem, source=where))
        elif binding.key is not None:
            lines[binding.key] = binding.value
    if problems:
        raise InvalidValueError.from_problems(problems, "env file")
    return lines


def read_secrets(folder: Path) -> tuple[dict[str, str | None], dict[str, str]]:
    """Each PTYCHO_* file's content, stripped, by name (one file per variable, as Docker and
    Kubernetes mount secrets); and the file's path."""
    require_directory(folder, "secrets directory")
    try:
        entries = sorted(folder.iterdir())
    except OSError as error:  # e.g. no permission to list it
        raise FileReadError.of(folder, "secrets directory", str(error)) from error
    files = ptycho_variables({entry.name: entry for entry in entries})
    values: dict[str, str | None] = {}
    for name, path in files.items():
        try:
            data = read_capped(path, "secret file", SETTINGS_FILE_CAP)
        except (FileNotFoundError, NotADirectoryError) as error:  # a symlink to nothing
            raise missing(path, "secret file") from error
        try:
            values[name] = data.decode("utf-8").strip()
        except UnicodeDecodeError as error:
            reason = f"its file {name} is not UTF-8 text"
            raise FileReadError.of(folder, "secrets directory", reason) from error
    return values, {name: str(path) for name, path in files.items()}


def _unknown(layer: Layer, name: str, text: str, where: str, strict: bool | None) -> None:
    """A typo-like name fails by default; any other unknown name is skipped and warned about."""
    layer.unknown += 1
    examine = layer.unknown <= MAX_LISTED
    hint = typo_suggestions(name, edits=examine)
    if strict or (strict is None and hint):
        if examine and not hint:
            hint = suggest(name.upper(), env_names(layer.payload), same=layer.key_named)
        rule = "unknown environment variable"
        layer.problems.append(UnknownKeyError.problem(shorten(name), rule, text, where, hint))
        return
    tip = f"; did you mean {' or '.join(hint)}?" if hint else ""
    origin = "" if layer.kind == "env" else f" (from {where})"
    name = shorten(name)
    layer.ignored.append(f"{name}{origin}: unknown variable, skipped")
    if examine:  # the rest are counted in one warning
        layer.warnings.append(f"unknown environment variable {name}{origin} ignored{tip}")


def env_text(value: object) -> str:
    """A value as environment text that reads back to the same value."""
    if value is None or isinstance(value, bool):
        return str(value).lower()  # the words the schemas read: none, true, false
    # JSON: no single quotes for a shell or .env to mangle; a model (of an extension) as the
    # mapping it is given as
    if isinstance(value, list | tuple | dict | BaseModel):
        return json.dumps(to_jsonable_python(value, fallback=str))  # str() as for text
    return path_text(value) if isinstance(value, PurePath) else str(value)


def environment_of(values: Mapping[str, object]) -> dict[str, str]:
    """Qualified key → value as PTYCHO_<SECTION>__<FIELD> variables (containers ship these)."""
    return {KEYS[key].env: env_text(value) for key, value in values.items()}
