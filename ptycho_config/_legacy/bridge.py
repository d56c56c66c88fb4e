"""The legacy bridge: configs to and from the flat ``ptycho.params.cfg`` dict.

The legacy dict flattens the nested ``model`` into the top level and renames some fields
(``_schemas.registry.legacy_name``); paths are written as ``str``. Execution fields are never
written. One legacy dict holds the keys of both a training and an inference config.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal, cast, overload

from pydantic import BaseModel

from ptycho import params
from ptycho_config._errors import (
    MAX_LISTED,
    ArgumentTypeError,
    PtychoConfigError,
    UnknownKeyError,
    one_of,
    shorten,
    suggest,
)
from ptycho_config._legacy.values import legacy_fields, legacy_value
from ptycho_config._schemas.object_policy import resolved_policy
from ptycho_config._schemas.registry import PAYLOAD_SECTIONS, legacy_name
from ptycho_config._schemas.sections import SECTIONS, InferenceConfig, ModelConfig, TrainingConfig


def to_legacy_dict(config: TrainingConfig | InferenceConfig | ModelConfig) -> dict[str, Any]:
    """Every legacy key of ``config`` and of its nested model, None values included."""
    if not isinstance(config, TrainingConfig | InferenceConfig | ModelConfig):
        raise ArgumentTypeError(
            f"expected a TrainingConfig, InferenceConfig or ModelConfig, "
            f"got {type(config).__name__}"
        )
    model = config if isinstance(config, ModelConfig) else config.model
    parts: list[BaseModel] = [model] if config is model else [model, config]
    result = {
        legacy: legacy_value(getattr(part, name))
        for part in parts
        for legacy, name in legacy_fields(type(part)).items()
    }
    # legacy code reads the object policy it runs, never None
    result.update((legacy_name(k), v) for k, v in resolved_policy(model).items())
    return result


@overload
def from_legacy_dict(mapping: Mapping[str, Any], kind: Literal["training"]) -> TrainingConfig: ...
@overload
def from_legacy_dict(mapping: Mapping[str, Any], kind: Literal["inference"]) -> InferenceConfig: ...
@overload
def from_legacy_dict(mapping: Mapping[str, Any], kind: str) -> TrainingConfig | InferenceConfig: ...
def from_legacy_dict(mapping: Mapping[str, Any], kind: str) -> TrainingConfig | InferenceConfig:
    """The validated config of ``kind`` ('training' or 'inference') held in a legacy dict.

    Reference-only keys, derived and run-time keys, and the other kind's keys are ignored;
    any other key raises :class:`UnknownKeyError` with suggestions.
    """
    if not isinstance(mapping, Mapping):
        got = type(mapping).__name__
        raise ArgumentTypeError(f"from_legacy_dict needs a mapping (a legacy dict), got {got}")
    kind = one_of("kind", kind, PAYLOAD_SECTIONS)
    # the registered schemas, so fields an extension added are read back too
    schema = SECTIONS[kind]
    model_names = legacy_fields(SECTIONS["model"])
    own_names = legacy_fields(schema)
    ignored = {*params.DEFAULT_CFG, *params.RUNTIME_KEYS, "bigN"}  # bigN: in a params() copy
    for other in PAYLOAD_SECTIONS:
        ignored.update(legacy_fields(SECTIONS[other]))
    known = [*model_names, *own_names]
    unknown = [key for key in mapping if key not in known and key not in ignored]
    if unknown:
        problems = [
            UnknownKeyError.problem(
                shorten(key) if isinstance(key, str) else key,  # it may be a megabyte long
                f"is not a legacy key of a {kind} config",
                mapping[key],
                "legacy dict",
                _suggestions(key, known) if number < MAX_LISTED else (),  # linear cost
            )
            for number, key in enumerate(unknown)
        ]
        raise PtychoConfigError.from_problems(problems, f"legacy {kind}")
    data: dict[str, Any] = {own_names[k]: v for k, v in mapping.items() if k in own_names}
    data["model"] = {model_names[k]: v for k, v in mapping.items() if k in model_names}
    return cast(TrainingConfig | InferenceConfig, schema.model_validate(data))


def _suggestions(key: str, known: list[str]) -> tuple[str, ...]:
    # a field name given where its legacy name belongs gets the exact legacy name first
    exact = (legacy_name(key),) if legacy_name(key) != key else ()
    return (*exact, *(s for s in suggest(key, known) if s not in exact))


def populate_legacy_params(
    config: TrainingConfig | InferenceConfig, force: bool = False, *, warn: bool = True
) -> None:
    """Write every legacy key of ``config`` (None included) into ``ptycho.params.cfg`` at once.

    Warns when, without ``force``, it replaces a different value that an earlier populate
    wrote; ``warn=False`` silences that warning for callers whose job is to replace values.
    """
    if not isinstance(config, TrainingConfig | InferenceConfig):
        raise ArgumentTypeError(
            f"populate_legacy_params expects a TrainingConfig or InferenceConfig, "
            f"got {type(config).__name__}"
        )
    legacy = to_legacy_dict(config.checked())
    replaced = params._write_populated(legacy, report=warn and not force)
    if replaced:
        changes = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in replaced.items())
        warnings.warn(
            f"params.cfg already populated; overwriting {changes} "
            "(pass force=True to replace values on purpose)",
            stacklevel=2,
        )


def populate_quietly(legacy: dict[str, Any]) -> None:
    """Populate a config's ``to_legacy_dict`` (not copied) for the factories, which replace the
    previous run's values: no overwrite warning, and sealed after as the reference's factories
    do (a later ``params.set`` of a configuration key is logged)."""
    params.unseal()
    params._write_populated(legacy, report=False)
    params.seal()
