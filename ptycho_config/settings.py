"""``TrainingSettings`` and ``InferenceSettings``: pydantic-settings classes that resolve as the
library does (docs/containers.md), built when first read and again after an extension registers
fields. Only this module imports pydantic-settings."""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, create_model, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources import ENV_FILE_SENTINEL

from ptycho_config._errors import ConflictError, InvalidValueError, Problem, show
from ptycho_config._files import as_path
from ptycho_config._merge.resolve import Resolved, resolve_inference, resolve_training
from ptycho_config._schemas.registry import ENV_PREFIX, KEYS, PAYLOAD_SECTIONS, PayloadKind
from ptycho_config._schemas.sections import (
    SECTIONS,
    ExecutionConfig,
    InferenceConfig,
    TrainingConfig,
)
from ptycho_config._sources.environment import read_dotenv

__all__ = ["InferenceSettings", "TrainingSettings"]

_RESOLVERS = {"training": resolve_training, "inference": resolve_inference}


def _section_model(section: str) -> type[BaseModel]:
    """One section's fields, as the registry declares them (aliases and legacy fields aside)."""
    # copies: the schemas' own field definitions stay untouched
    fields: dict[str, Any] = {
        key.name: (key.info.annotation, copy.copy(key.info))
        for key in KEYS.values()
        if key.section == section
    }
    config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    return create_model(f"{section.title()}Section", __config__=config, **fields)


class _Resolution(PydanticBaseSettingsSource):
    """The library's own resolution as the one source of a settings class."""

    def __init__(
        self, settings_cls: type[_PayloadSettings], given: Mapping[str, Any], **options: Any
    ) -> None:
        super().__init__(settings_cls)
        # keyword arguments are overrides; a section given as a model gives the fields set on it
        overrides = {
            name: value.model_dump(exclude_unset=True)
            if name in SECTIONS and isinstance(value, BaseModel)
            else value
            for name, value in given.items()
        }
        self.resolve = functools.partial(
            _RESOLVERS[settings_cls.payload_kind], overrides, **options
        )

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        # values come whole from __call__; pydantic-settings requires this method
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        sections: dict[str, dict[str, Any]] = {}
        for key, value in self.resolve().values().items():
            section, name = key.split(".", 1)
            sections.setdefault(section, {})[name] = value
        return sections


class _PayloadSettings(BaseSettings):
    """What both settings classes share: resolution as the library does it, canonical configs."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", frozen=True, extra="forbid"
    )
    payload_kind: ClassVar[PayloadKind]
    # the section schemas the class was built from: registering an extension replaces them
    built_for: ClassVar[tuple[type[BaseModel], ...]]
    _resolved: Resolved = PrivateAttr()

    def __init__(self, **values: Any) -> None:
        if self.built_for != _schemas_of(self.payload_kind):
            name = f"{self.payload_kind.title()}Settings"
            message = (
                f"{type(self).__name__} was built before a schema was registered for its "
                f"sections, so it lacks their new fields; register first, then read "
                f"ptycho_config.settings.{name} (and derive your own classes from it)"
            )
            problem = ConflictError.problem(f"{self.payload_kind} settings", message)
            raise ConflictError(message, [problem])
        # pydantic-settings reads a .env file as soon as it builds its sources, before the
        # library's own source could refuse a FIFO or a file that is not UTF-8: check it first
        env_file = values.get("_env_file", ENV_FILE_SENTINEL)
        if env_file == ENV_FILE_SENTINEL:  # as pydantic-settings tells 'not given'
            env_file = self.model_config.get("env_file")
        if env_file is not None:
            if not isinstance(env_file, str | os.PathLike):
                problem = Problem("env_file", "must be one path", env_file)
                reason = f"got {show(env_file)}; the library reads one .env file"
                raise InvalidValueError(f"env_file must be one path, {reason}", [problem])
            read_dotenv(as_path(env_file, "env_file"))
        super().__init__(**values)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """One source: the library's resolution, with the keyword arguments as overrides."""
        return (
            _Resolution(
                cls,
                getattr(init_settings, "init_kwargs", {}),
                env_file=getattr(dotenv_settings, "env_file", None),
                secrets_dir=getattr(file_secret_settings, "secrets_dir", None),
            ),
        )

    @model_validator(mode="after")
    def _canonical(self) -> _PayloadSettings:
        # section values given directly (e.g. by an enclosing settings class) meet every rule too
        values = {
            f"{section}.{name}": value
            for section in PAYLOAD_SECTIONS[self.payload_kind]
            for name, value in getattr(self, section)
        }
        self._resolved = _RESOLVERS[self.payload_kind](values, environ={})
        return self

    @property
    def training_config(self) -> TrainingConfig:
        """The canonical training configuration (training settings only)."""
        return self._resolved.training_config

    @property
    def inference_config(self) -> InferenceConfig:
        """The canonical inference configuration (inference settings only)."""
        return self._resolved.inference_config

    @property
    def execution_config(self) -> ExecutionConfig:
        """The execution configuration, not resolved for a host ('auto' stays 'auto')."""
        return self._resolved.execution_config

    if TYPE_CHECKING:  # the section fields are generated; type checkers see them as Any

        def __getattr__(self, name: str) -> Any: ...


def _schemas_of(kind: PayloadKind) -> tuple[type[BaseModel], ...]:
    return tuple(SECTIONS[section] for section in PAYLOAD_SECTIONS[kind])


@functools.cache
def _settings_class(
    kind: PayloadKind, schemas: tuple[type[BaseModel], ...]
) -> type[_PayloadSettings]:
    """The settings class of a payload kind for its sections' ``schemas``: built once for each
    set of registered schemas, so an extension's fields are in the next one read."""
    fields: dict[str, Any] = {
        section: (_section_model(section), Field(description=schema.__doc__))
        for section, schema in zip(PAYLOAD_SECTIONS[kind], schemas, strict=True)
    }
    name = f"{kind.title()}Settings"
    settings = create_model(name, __base__=_PayloadSettings, __module__=__name__, **fields)
    settings.payload_kind = kind
    settings.built_for = schemas
    settings.__doc__ = f"The {kind} configuration as pydantic-settings settings."
    return settings


_NAMES: dict[str, PayloadKind] = {"TrainingSettings": "training", "InferenceSettings": "inference"}


if TYPE_CHECKING:
    TrainingSettings = _PayloadSettings
    InferenceSettings = _PayloadSettings
else:

    def __getattr__(name: str) -> Any:
        if name in _NAMES:
            return _settings_class(_NAMES[name], _schemas_of(_NAMES[name]))
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
