"""The legacy bridge: configs to and from the flat ``ptycho.params.cfg`` dict.

The legacy dict flattens the nested ``model`` into the top level and renames some fields
(``_registry.legacy_name``); paths are written as ``str``. Execution fields are never
written. One legacy dict holds the keys of both a training and an inference config.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, overload

from pydantic import BaseModel, TypeAdapter, ValidationError

from ptycho import params
from ptycho_config._errors import PtychoConfigError, UnknownKeyProblem, suggest
from ptycho_config._registry import LEGACY_RENAMES, legacy_name
from ptycho_config._schemas import InferenceConfig, ModelConfig, TrainingConfig
from ptycho_config._validation import message_of

__all__ = [
    "from_legacy_dict",
    "is_legacy_field",
    "populate_legacy_params",
    "populate_quietly",
    "to_legacy_dict",
    "validate_legacy_value",
]

_KINDS: dict[str, type[TrainingConfig] | type[InferenceConfig]] = {
    "training": TrainingConfig,
    "inference": InferenceConfig,
}
# Keys legacy code derives from others; they may appear in a params() copy.
_DERIVED_KEYS = frozenset({"bigN"})


def _own_fields(schema: type[BaseModel]) -> list[str]:
    """The schema's fields, without the nested model."""
    return [name for name in schema.model_fields if name != "model"]


def _legacy_value(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def to_legacy_dict(config: TrainingConfig | InferenceConfig | ModelConfig) -> dict[str, Any]:
    """Every legacy key of ``config`` and of its nested model, None values included."""
    if not isinstance(config, TrainingConfig | InferenceConfig | ModelConfig):
        raise TypeError(
            f"expected a TrainingConfig, InferenceConfig or ModelConfig, "
            f"got {type(config).__name__}"
        )
    parts: list[BaseModel] = [config]
    if not isinstance(config, ModelConfig):
        parts.insert(0, config.model)
    return {
        legacy_name(name): _legacy_value(getattr(part, name))
        for part in parts
        for name in _own_fields(type(part))
    }


def _legacy_names(schema: type[BaseModel]) -> dict[str, str]:
    """Legacy name -> field name, for the schema's own fields."""
    return {legacy_name(name): name for name in _own_fields(schema)}


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
    if kind not in _KINDS:
        raise ValueError(f"kind must be 'training' or 'inference', got {kind!r}")
    schema = _KINDS[kind]
    model_names = _legacy_names(ModelConfig)
    own_names = _legacy_names(schema)
    ignored = {*params.DEFAULT_CFG, *params.RUNTIME_KEYS, *_DERIVED_KEYS}
    for other in _KINDS.values():
        ignored.update(_legacy_names(other))
    known = [*model_names, *own_names]
    unknown = [key for key in mapping if key not in known and key not in ignored]
    if unknown:
        problems = [
            UnknownKeyProblem(
                key,
                f"is not a legacy key of a {kind} config",
                mapping[key],
                "legacy dict",
                _suggestions(key, known),
            )
            for key in unknown
        ]
        raise PtychoConfigError.from_problems(problems, f"legacy {kind}")
    data: dict[str, Any] = {
        own_names[key]: value for key, value in mapping.items() if key in own_names
    }
    data["model"] = {model_names[k]: v for k, v in mapping.items() if k in model_names}
    return schema.model_validate(data)


def _suggestions(key: str, known: list[str]) -> tuple[str, ...]:
    # a field name given where its legacy name belongs gets the exact legacy name first
    exact = (LEGACY_RENAMES[key],) if key in LEGACY_RENAMES else ()
    return (*exact, *(s for s in suggest(key, known) if s not in exact))


@functools.cache
def _adapters() -> dict[str, list[TypeAdapter[Any]]]:
    """Legacy name -> validators of every schema field written under that name."""
    found: dict[str, list[TypeAdapter[Any]]] = {}
    for schema in (ModelConfig, TrainingConfig, InferenceConfig):
        for name in _own_fields(schema):
            annotation = schema.model_fields[name].rebuild_annotation()
            adapter: TypeAdapter[Any] = TypeAdapter(annotation, config=schema.model_config)
            found.setdefault(legacy_name(name), []).append(adapter)
    return found


def is_legacy_field(key: str) -> bool:
    """Whether ``key`` is the legacy name of some training, inference or model field."""
    return key in _adapters()


def validate_legacy_value(key: str, value: Any) -> Any:
    """``value`` in legacy form, if a field written as ``key`` accepts it; else ValueError.

    A key shared by training and inference (e.g. ``n_groups``) accepts what either accepts.
    Keys that name no field are returned unchanged.
    """
    reasons: list[str] = []
    for adapter in _adapters().get(key, []):
        try:
            return _legacy_value(adapter.validate_python(value))
        except ValidationError as error:
            reasons.extend(message_of(e) for e in error.errors())
    if not reasons:
        return value
    unique = "; ".join(dict.fromkeys(reasons))
    raise ValueError(f"{key} = {value!r}: {unique}")


def populate_legacy_params(
    config: TrainingConfig | InferenceConfig, force: bool = False, *, warn: bool = True
) -> None:
    """Write every legacy key of ``config`` (None included) into ``ptycho.params.cfg`` at once.

    Warns when, without ``force``, it replaces a different value that an earlier populate
    wrote; ``warn=False`` silences that warning for callers whose job is to replace values.
    """
    replaced = _populate(config, None)
    if replaced and warn and not force:
        changes = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in replaced.items())
        warnings.warn(
            f"params.cfg already populated; overwriting {changes} "
            "(pass force=True to replace values on purpose)",
            UserWarning,
            stacklevel=2,
        )


def populate_quietly(
    config: TrainingConfig | InferenceConfig, legacy: Mapping[str, Any] | None = None
) -> None:
    """Populate without the overwrite warning; ``legacy`` is ``to_legacy_dict(config)`` if known.

    For the factories, whose job is to replace the previous run's values.
    """
    _populate(config, legacy)


def _populate(
    config: TrainingConfig | InferenceConfig, legacy: Mapping[str, Any] | None
) -> dict[str, tuple[Any, Any]]:
    if not isinstance(config, TrainingConfig | InferenceConfig):
        raise TypeError(
            f"populate_legacy_params expects a TrainingConfig or InferenceConfig, "
            f"got {type(config).__name__}"
        )
    return params._write_populated(to_legacy_dict(config) if legacy is None else legacy)
