"""Environment variables: PTYCHO_<FIELD> or PTYCHO_<SECTION>__<FIELD>, case-insensitive.

The mapping is scanned once per call and never mutated. Only names starting with the prefix
are looked at further, so thousands of unrelated variables cost little (see benchmarks/).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

from ptycho_config._errors import suggest
from ptycho_config._registry import (
    ENV_PREFIX,
    KEYS,
    RESERVED_ENV,
    Match,
    Miss,
    PayloadKind,
    env_names,
    lookup_env,
)
from ptycho_config._sources.layer import Layer, SourceKind

_PREFIX_LEN = len(ENV_PREFIX)


def ptycho_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The PTYCHO_* variables of an environment, as spelled there."""
    found: dict[str, str] = {}
    for name in environ:
        # cheap first-letter test before the case-folding comparison
        if name[:1] in "Pp" and name[:_PREFIX_LEN].upper() == ENV_PREFIX:
            found[name] = environ[name]
    return found


@dataclass(frozen=True)
class Environment:
    """Every PTYCHO_* variable under its qualified key; unknown ones fail (or warn, not strict)."""

    variables: Mapping[str, str]
    strict: bool = True
    kind: SourceKind = "env"

    @classmethod
    def of(cls, environ: Mapping[str, str] | None, *, strict: bool = True) -> Environment:
        """The PTYCHO_* variables of ``environ`` (default ``os.environ``)."""
        return cls(ptycho_variables(os.environ if environ is None else environ), strict)

    def read(self, payload: PayloadKind) -> Layer:
        return environment_layer(self.variables, payload, strict=self.strict)


def environment_layer(
    variables: Mapping[str, str], payload: PayloadKind, *, strict: bool = True
) -> Layer:
    """The layer of some PTYCHO_* variables."""
    layer = Layer("env", payload)
    for name in sorted(variables):
        upper = name.upper()
        if upper in RESERVED_ENV:
            continue
        text = variables[name]
        found = lookup_env(upper, payload)
        if isinstance(found, Miss) and found.reason == "unknown" and not strict:
            hint = suggest(upper, env_names(payload), same=lambda n: _named(n, payload))
            tip = f"; did you mean {' or '.join(hint)}?" if hint else ""
            warnings.warn(f"unknown environment variable {name} ignored{tip}", stacklevel=4)
            continue
        layer.add(
            found, name, text, name,
            candidates=env_names(payload), foreign_is_error=False,
        )  # fmt: skip
    return layer


def _named(variable: str, payload: PayloadKind) -> object:
    """The key a variable names, so that each key is suggested once."""
    found = lookup_env(variable, payload)
    return found.key if isinstance(found, Match) else variable


def env_text(value: object) -> str:
    """A value as environment text that reads back to the same value."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def environment_of(values: Mapping[str, object]) -> dict[str, str]:
    """Qualified key → value as PTYCHO_<SECTION>__<FIELD> variables (containers ship these)."""
    return {KEYS[key].env: env_text(value) for key, value in values.items()}
