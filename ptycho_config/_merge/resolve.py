"""The merger: walk the source layers from highest to lowest, validate once, record provenance;
and the rules that span layers (shared fields, pinned keys)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from ptycho_config._errors import (
    ArgumentTypeError,
    ConfigFileNotFoundError,
    ConflictError,
    Problem,
    PtychoConfigError,
    UnknownKeyError,
    masked,
    same_value,
    show,
    suggest,
    yes_or_no,
)
from ptycho_config._files import as_path
from ptycho_config._merge.provenance import DEFAULT_SOURCE, Source, ViewsPickled, explain
from ptycho_config._schemas.base import adapter_of, problems_from_validation
from ptycho_config._schemas.profiles import get_profile
from ptycho_config._schemas.registry import (
    CONFIG_FILE_VARIABLE,
    ENV_FILE_VARIABLE,
    KEYS,
    PAYLOAD_SECTIONS,
    PROFILE_VARIABLE,
    SECRETS_DIR_VARIABLE,
    SHARED_FIELDS,
    SWITCHES,
    Match,
    PayloadKind,
    keys_of,
    lookup,
    values_of,
)
from ptycho_config._schemas.sections import (
    NESTED_SECTIONS,
    SECTIONS,
    ExecutionConfig,
    InferenceConfig,
    TrainingConfig,
)
from ptycho_config._schemas.types import list_text
from ptycho_config._sources.config_file import ConfigFile
from ptycho_config._sources.environment import Environment, MountedVariables, ptycho_variables
from ptycho_config._sources.kinds import SOURCE_KINDS
from ptycho_config._sources.layer import ConfigSource, Entry, Layer
from ptycho_config._sources.mapping import (
    ExecutionSource,
    MappingSource,
    Overrides,
    ProfileSource,
    SettingsSource,
)


@dataclass(frozen=True)
class Resolved(ViewsPickled):
    """A validated configuration with the source of every key."""

    kind: PayloadKind
    config: TrainingConfig | InferenceConfig
    execution_config: ExecutionConfig
    provenance: MappingProxyType[str, Source]
    ignored: tuple[str, ...] = ()
    # the layers it was merged from, for the audit trail
    layers: tuple[Layer, ...] = field(default=(), repr=False, compare=False)

    @property
    def applied(self) -> Mapping[str, Any]:
        """The audit trail: override spellings, explicit execution fields, the profile's name,
        winning inferred values."""
        applied: dict[str, Any] = {}
        for layer in self.layers:
            if layer.kind in ("override", "execution_config"):
                for key, entry in layer.entries.items():
                    applied[entry.spelling] = self.value(key)
            elif layer.kind == "profile" and layer.entries:
                applied["profile"] = next(iter(layer.entries.values())).detail
            elif layer.kind == "inferred":
                for key in layer.entries:
                    if self.provenance[key].kind == "inferred":  # it won
                        applied[key.split(".", 1)[1]] = self.value(key)
        return MappingProxyType(applied)

    def with_note(self, key: str, note: str, execution: ExecutionConfig | None = None) -> Resolved:
        """This resolution with ``note`` on the source of ``key``; with ``execution``, that
        execution config instead, its ``key`` resolved for this host."""
        origin = self.provenance[key]
        detail = f"{origin.detail}; {note}" if origin.detail else note
        noted = Source(origin.kind, detail, execution is not None or origin.host_resolved)
        return dataclasses.replace(
            self,
            execution_config=self.execution_config if execution is None else execution,
            provenance=MappingProxyType(self.provenance | {key: noted}),
        )

    @property
    def training_config(self) -> TrainingConfig:
        if not isinstance(self.config, TrainingConfig):
            raise AttributeError("an inference resolution has no training_config")
        return self.config

    @property
    def inference_config(self) -> InferenceConfig:
        if not isinstance(self.config, InferenceConfig):
            raise AttributeError("a training resolution has no inference_config")
        return self.config

    def value(self, qualified: str) -> Any:
        """The resolved value of one qualified key."""
        keys = keys_of(self.kind)
        key = keys.get(qualified) if isinstance(qualified, str) else None
        if key is None:
            found = lookup(str(qualified), self.kind)  # a bare name: its key is suggested
            hints = (found.key.qualified,) if isinstance(found, Match) else suggest(qualified, keys)
            rule = f"is no key of a {self.kind} resolution"
            problem = UnknownKeyError.problem(show(qualified), rule, suggestions=hints)
            raise UnknownKeyError(str(problem), [problem])
        return values_of(self.config, self.execution_config, (key,))[qualified]

    def values(self) -> dict[str, Any]:
        """Every resolved value by qualified key."""
        return values_of(self.config, self.execution_config)

    def explain(self, *, changed_only: bool = False) -> str:
        """A readable table: key, value, source kind and detail (``changed_only``: of the
        values that do not come from the defaults)."""
        return explain(self.values(), self.provenance, changed_only=changed_only)


@dataclass(frozen=True, kw_only=True)
class SourceOptions:
    """The source keywords that ``resolve_*``, the factories and the command line share; a path
    or profile left None comes from its PTYCHO_* switch in ``environ``."""

    environ: Mapping[str, str] | None = None
    config_file: str | os.PathLike[str] | None = None
    strict_env: bool | None = None
    env_file: str | os.PathLike[str] | None = None
    secrets_dir: str | os.PathLike[str] | None = None
    settings_sources: Sequence[Any] = ()
    profile: str | None = None

    def __post_init__(self) -> None:
        yes_or_no("strict_env", self.strict_env, optional=True)
        if not isinstance(self.environ, Mapping | None):
            raise ArgumentTypeError(f"environ must be a mapping, got {type(self.environ).__name__}")


def sources_of(
    overrides: Mapping[str, Any] | None,
    execution_config: ExecutionConfig | None,
    options: SourceOptions,
) -> list[ConfigSource]:
    """The sources the arguments of ``resolve_*`` and the factories name, in any order."""
    environ = os.environ if options.environ is None else options.environ
    environment = Environment(ptycho_variables(environ), options.strict_env)
    sources: list[ConfigSource] = [
        Overrides(overrides),
        ExecutionSource(execution_config),
        environment,
    ]
    switches = _switches(environment.variables)

    def chosen(argument: Any, name: str, switch: str) -> tuple[Any, str]:
        """The argument, else the switch's value; and which of them an error should name."""
        return (argument, name) if argument is not None else (switches.get(switch), switch)

    def path_of(argument: Any, name: str, switch: str, what: str) -> Path | None:
        """The path the argument, else the switch, gives; a switch naming nothing says so by
        its name (a container's variables are far from its error messages)."""
        value, given_by = chosen(argument, name, switch)
        path = None if value is None else as_path(value, given_by)
        if path is not None and given_by == switch and not os.path.lexists(path):
            message = f"{what} not found: {path} (named by {switch})"
            raise ConfigFileNotFoundError(message, [Problem(switch, "names nothing", str(path))])
        return path

    env_file = path_of(options.env_file, "env_file", ENV_FILE_VARIABLE, "Env file")
    if env_file is not None:
        sources.append(MountedVariables("dotenv", env_file, options.strict_env))
    secrets = "Secrets directory"
    secrets_dir = path_of(options.secrets_dir, "secrets_dir", SECRETS_DIR_VARIABLE, secrets)
    if secrets_dir is not None:
        sources.append(MountedVariables("secret", secrets_dir, options.strict_env))
    sources += [SettingsSource(source) for source in options.settings_sources]
    config_file = path_of(options.config_file, "config_file", CONFIG_FILE_VARIABLE, "Config file")
    if config_file is not None:
        sources.append(ConfigFile(config_file))
    profile, given_by = chosen(options.profile, "profile", PROFILE_VARIABLE)
    if profile is not None:
        get_profile(profile, given_by)  # an unknown name fails here, before any file is read
        sources.append(ProfileSource(profile))
    return sources


def _switches(variables: Mapping[str, str | None]) -> dict[str, str | None]:
    """The reserved switches (e.g. PTYCHO_CONFIG_FILE) set, in any letter case; spellings of
    one switch that disagree are an error."""
    given: dict[str, dict[str, str | None]] = {}
    for variable, value in variables.items():
        if variable.upper() in SWITCHES:
            given.setdefault(variable.upper(), {})[variable] = value
    for name, spellings in given.items():
        if len(set(spellings.values())) > 1:
            shown = " and ".join(f"{k}={v!r}" for k, v in sorted(spellings.items()))
            message = f"{name} is given twice with different values: {shown}; set one"
            raise ConflictError(message, [ConflictError.problem(name, message)])
    return {name: next(iter(spellings.values())) for name, spellings in given.items()}


def read_layers(
    payload: PayloadKind, sources: Iterable[ConfigSource], read: Iterable[Layer] = ()
) -> list[Layer]:
    """Every source read into its layer, with layers ``read`` earlier, in precedence order."""
    layers = [*read, *(source.read(payload) for source in sources)]
    return sorted(layers, key=lambda layer: SOURCE_KINDS.index(layer.kind))


def merge(payload: PayloadKind, layers: list[Layer]) -> Resolved:
    """The highest layer setting a key wins; one validation; every problem reported together.
    ``layers`` are in precedence order, as ``read_layers`` returns them."""
    problems: list[Problem] = [p for layer in layers for p in layer.problems]
    winners: dict[str, tuple[Layer, Entry]] = {}
    for layer in layers:
        for message in layer.warnings:
            warnings.warn(message, stacklevel=3)  # a UserWarning
        for key, entry in layer.entries.items():
            winners.setdefault(key, (layer, entry))
    problems += join_shared_fields(payload, winners)
    problems += pinned_conflicts(layers)
    data: dict[str, dict[str, Any]] = {section: {} for section in PAYLOAD_SECTIONS[payload]}
    for key, (_, entry) in winners.items():
        section, name = key.split(".", 1)
        data[section][name] = entry.value

    def origin(key: str) -> tuple[str, Any] | None:
        won = winners.get(key)
        return (won[0].describe(won[1]), won[1].raw) if won else None

    nested = {section: data[section] or _unset(SECTIONS[section]) for section in NESTED_SECTIONS}
    config = _validate(payload, {**data[payload], **nested}, origin, problems)
    execution = _validate("execution", data["execution"], origin, problems)
    if problems:
        problems = masked(once_per_shared_field(problems), _secrets(layers))
        problems.sort(key=lambda p: (p.key, p.message))
        raise PtychoConfigError.from_problems(problems, payload)
    sources = {key: Source(layer.kind, entry.detail) for key, (layer, entry) in winners.items()}
    provenance = dict.fromkeys(keys_of(payload), DEFAULT_SOURCE) | sources  # schema order
    return Resolved(
        payload,
        cast(TrainingConfig | InferenceConfig, config),
        cast(ExecutionConfig, execution),
        MappingProxyType(provenance),
        ignored=tuple(note for layer in layers for note in layer.ignored),
        layers=tuple(layers),
    )


def join_shared_fields(
    payload: PayloadKind, winners: dict[str, tuple[Layer, Entry]]
) -> list[Problem]:
    """Give each field that training and execution both declare (``SHARED_FIELDS``) the one
    value of the higher source; a tie (both set by one source) with different values is a
    conflict."""
    if payload != "training":
        return []
    problems: list[Problem] = []
    for name in sorted(SHARED_FIELDS):
        keys = (f"training.{name}", f"execution.{name}")
        found = [winners[key] for key in keys if key in winners]
        if not found:
            continue
        (first, a), (second, b) = found[0], found[-1]
        if first.kind == second.kind and not same_value(a.value, b.value):
            rule = (
                f"{keys[0]} and {keys[1]} are one value but {first.describe(a)} gives "
                f"{show(a.raw)} and {second.describe(b)} gives {show(b.raw)}"
            )
            problems.append(ConflictError.problem(keys[0], rule, source=first.kind))
            continue
        best = min(found, key=lambda won: SOURCE_KINDS.index(won[0].kind))
        winners[keys[0]] = winners[keys[1]] = best
    return problems


def pinned_conflicts(layers: list[Layer]) -> list[Problem]:
    """Every value a higher layer gives to a key that a lower layer (a profile) pins: a pinned
    key may not be contradicted."""
    problems: list[Problem] = []
    for index, low in enumerate(layers):
        for key in sorted(low.pinned):
            pinned = low.entries[key]
            for high in layers[:index]:
                entry = high.entries.get(key)
                if entry is None or same_field_value(key, entry.value, pinned.value):
                    continue
                rule = (
                    f"{low.describe(pinned)} requires {key}={show(pinned.value)} but "
                    f"{high.describe(entry)} gives {show(entry.raw)}; the profile is "
                    "fail-closed: drop that value or choose no profile"
                )
                problems.append(ConflictError.problem(key, rule, source=high.kind))
    return problems


def same_field_value(key: str, first: Any, second: Any) -> bool:
    """Whether two values are the same once validated as the field (e.g. 'Poisson' forms)."""
    try:
        adapter = adapter_of(SECTIONS[KEYS[key].section], KEYS[key].name)
        return same_value(adapter.validate_python(first), adapter.validate_python(second))
    except (ValidationError, ValueError, TypeError):  # an invalid value is reported elsewhere
        return same_value(first, second)


def once_per_shared_field(problems: list[Problem]) -> list[Problem]:
    """A shared field's bad value is reported under its training key only, not twice."""
    reported = {p.key for p in problems}
    repeated = {f"execution.{name}" for name in SHARED_FIELDS if f"training.{name}" in reported}
    return [p for p in problems if p.key not in repeated]


def _secrets(layers: Iterable[Layer]) -> dict[str, list[str]]:
    """By key, every form a secret's value may take in a message: as given, and converted."""
    found: dict[str, list[str]] = {}
    for layer in layers:
        for key, forms in layer.secrets.items():
            found.setdefault(key, []).extend(forms)
        if layer.kind == "secret":
            for key, entry in layer.entries.items():
                found.setdefault(key, []).extend(_forms(entry.value))
    return found


def _forms(value: Any) -> list[str]:
    """A secret's value as a message may show it: whole, and each entry of a list, also as
    the number it converts to (4242 of a list of floats is 'got 4242.0')."""
    items: Any = ()
    with contextlib.suppress(ValueError):
        items = list_text(value)
    items = items if isinstance(items, list | tuple) else ()
    numbers: list[float] = []
    for item in items:
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            if not isinstance(item, bool):
                numbers.append(float(item))
    return [form(v) for v in (value, *items, *numbers) for form in (str, repr, show)]


@functools.cache
def _unset(schema: type[BaseModel]) -> BaseModel:
    """A section no source sets: its schema's defaults, built once (frozen, so it is shared)."""
    return schema()


def _validate(
    section: str, data: dict[str, Any], origin: Any, problems: list[Problem]
) -> BaseModel | None:
    schema = SECTIONS[section]
    if not data:
        return _unset(schema)
    try:
        return cast(BaseModel, schema.__pydantic_validator__.validate_python(data))
    except ValidationError as error:
        problems.extend(problems_from_validation(error, schema, origin))
        return None


def resolve_training(
    overrides: Mapping[str, Any] | None = None,
    execution_config: ExecutionConfig | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    inferred: Mapping[str, Any] | None = None,
    strict_env: bool | None = None,
    env_file: str | os.PathLike[str] | None = None,
    secrets_dir: str | os.PathLike[str] | None = None,
    settings_sources: Sequence[Any] = (),
    profile: str | None = None,
) -> Resolved:
    """Resolve a training configuration from every source, without touching data files."""
    options = SourceOptions(
        environ=environ, config_file=config_file, strict_env=strict_env, env_file=env_file,
        secrets_dir=secrets_dir, settings_sources=settings_sources, profile=profile,
    )  # fmt: skip
    sources = sources_of(overrides, execution_config, options)
    sources.append(MappingSource("inferred", inferred))
    return merge("training", read_layers("training", sources))


def resolve_inference(
    overrides: Mapping[str, Any] | None = None,
    execution_config: ExecutionConfig | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    inferred: Mapping[str, Any] | None = None,
    checkpoint: Mapping[str, Any] | None = None,
    strict_env: bool | None = None,
    env_file: str | os.PathLike[str] | None = None,
    secrets_dir: str | os.PathLike[str] | None = None,
    settings_sources: Sequence[Any] = (),
    profile: str | None = None,
) -> Resolved:
    """Resolve an inference configuration from every source, without touching data files."""
    options = SourceOptions(
        environ=environ, config_file=config_file, strict_env=strict_env, env_file=env_file,
        secrets_dir=secrets_dir, settings_sources=settings_sources, profile=profile,
    )  # fmt: skip
    sources = sources_of(overrides, execution_config, options)
    sources += [MappingSource("checkpoint", checkpoint), MappingSource("inferred", inferred)]
    return merge("inference", read_layers("inference", sources))
