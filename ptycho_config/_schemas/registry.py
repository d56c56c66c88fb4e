"""The key registry: every key with its aliases, env names and legacy name, derived from the
registered schemas, which an extension replaces by subclasses without a fork (docs/extensions.md).

Nothing else in the code base restates a key, an alias, an env name or a legacy name.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ptycho_config._errors import PtychoConfigError, show
from ptycho_config._schemas.base import Schema, leaves
from ptycho_config._schemas.sections import (
    NESTED_SECTIONS,
    SECTIONS,
    ExecutionConfig,
    InferenceConfig,
    TrainingConfig,
)
from ptycho_config._schemas.types import list_text

PayloadKind = Literal["training", "inference"]
PAYLOAD_SECTIONS: dict[PayloadKind, tuple[str, ...]] = {
    "training": ("model", "training", "execution", "torch"),
    "inference": ("model", "inference", "execution", "torch"),
}
ENV_PREFIX = "PTYCHO_"
CONFIG_FILE_VARIABLE = "PTYCHO_CONFIG_FILE"
ENV_FILE_VARIABLE = "PTYCHO_ENV_FILE"
SECRETS_DIR_VARIABLE = "PTYCHO_SECRETS_DIR"
PROFILE_VARIABLE = "PTYCHO_PROFILE"
# The switches naming a source; a near miss of one is an error (it would drop that source).
SWITCHES = (CONFIG_FILE_VARIABLE, ENV_FILE_VARIABLE, PROFILE_VARIABLE, SECRETS_DIR_VARIABLE)
# The switches, and the variables the reference's runtime reads: never configuration keys.
RESERVED_ENV = frozenset(
    {
        *SWITCHES,
        "PTYCHO_DEBUG_PARITY",
        "PTYCHO_DISABLE_MEMOIZE",
        "PTYCHO_MEMOIZE_KEY_MODE",
        "PTYCHO_TORCH_STITCH_DEBUG",
        "PTYCHO_TORCH_SEED",
    }
)

# The library's legacy `ptycho.params.cfg` names that differ from the field name; other fields
# keep theirs. Extensions add theirs through `EXTENSION_FIELDS`; `legacy_name` reads both.
LEGACY_RENAMES: Mapping[str, str] = MappingProxyType(
    {
        "object_big": "object.big",
        "probe_big": "probe.big",
        "probe_mask": "probe.mask",
        "probe_trainable": "probe.trainable",
        "intensity_scale_trainable": "intensity_scale.trainable",
        "positions_provided": "positions.provided",
        "output_dir": "output_prefix",
        "train_data_file": "train_data_file_path",
        "test_data_file": "test_data_file_path",
    }
)

# Fields declared both by training and by execution (scheduler, gradient clipping): one value.
# A bare name sets the training field and the merger gives both the higher source's value.
SHARED_FIELDS: frozenset[str] = frozenset(
    name for name in SECTIONS["training"].model_fields if name in SECTIONS["execution"].model_fields
)

# Fields a checkpoint pins: a later source may not contradict the trained model on these.
MODEL_DEFINING = (
    "N", "gridsize", "model_type", "architecture", "n_filters_scale", "amp_activation",
    "object_big", "probe_big", "probe_mask", "pad_object",
    # the generator's shape: weights trained with other values cannot be loaded
    "fno_modes", "fno_width", "fno_blocks", "fno_cnn_blocks", "learned_input_channels",
    "max_hidden_channels", "resnet_width", "fno_input_transform", "generator_output_mode",
)  # fmt: skip


def _square_pair(value: Any) -> Any:
    """`grid_size` is a square pair (rows, columns) or one side; the schema stores one side."""
    if isinstance(value, str) and ("," in value or value.strip().startswith(("[", "("))):
        value = list_text(value)
    if isinstance(value, list | tuple):
        # only scalars are compared as text: str() of a nested value can be huge
        scalars = len(value) == 2 and all(isinstance(v, str | numbers.Number) for v in value)
        if not scalars or str(value[0]) != str(value[1]):
            raise ValueError(f"grid_size must be a square pair like [2, 2], got {show(value)}")
        return value[0]
    return value


@dataclass(frozen=True)
class Alias:
    name: str
    target: str
    convert: Callable[[Any], Any] | None = None
    deprecated: bool = False


ALIASES: dict[str, Alias] = {
    a.name: a
    for a in (
        Alias("max_epochs", "nepochs"),
        Alias("epochs", "nepochs"),
        Alias("K", "neighbor_count"),
        Alias("grid_size", "gridsize", convert=_square_pair),
        Alias("n_images", "n_groups", deprecated=True),
    )
}


@dataclass(frozen=True)
class Key:
    section: str
    name: str
    info: FieldInfo = field(repr=False, compare=False)
    # the legacy dict name, or None for keys never written there
    legacy: str | None = field(default=None, repr=False, compare=False)

    @property
    def qualified(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def env(self) -> str:
        """The environment variable that always names this key."""
        return env_name(self.qualified)

    @property
    def description(self) -> str:
        return self.info.description or ""

    @property
    def default(self) -> Any:
        return self.info.get_default(call_default_factory=True)

    @property
    def type_text(self) -> str:
        """'int | None', "'cpu' | 'cuda'": the annotation's types by name, its choices quoted."""
        return " | ".join(_type_name(leaf) for leaf in leaves(self.info.annotation))

    @property
    def default_text(self) -> str:
        """The default as `ptycho-config env` and the reference pages show it."""
        if self.default is PydanticUndefined:
            return "required"
        return str(self.default) if isinstance(self.default, Path) else repr(self.default)


def _type_name(leaf: Any) -> str:
    if leaf is type(None):
        return "None"
    if isinstance(leaf, str | int | float):  # a Literal choice, not a type
        return repr(leaf)
    return str(getattr(leaf, "__name__", leaf))


@dataclass(frozen=True)
class Match:
    """What a spelling resolved to: the key, and the alias used (if any)."""

    key: Key
    alias: Alias | None = None

    def convert(self, value: Any) -> Any:
        return self.alias.convert(value) if self.alias and self.alias.convert else value


@dataclass(frozen=True)
class Miss:
    """Why a spelling resolved to no key of this payload."""

    reason: Literal["unknown", "ambiguous", "other_payload"]
    choices: tuple[str, ...] = ()


UNKNOWN = Miss("unknown")
OTHER_PAYLOAD = Miss("other_payload")


@dataclass(frozen=True)
class _Index:
    keys: dict[str, Key]  # by qualified name, in schema order
    names: dict[str, Match | Miss]
    env: dict[str, Match | Miss]


def env_name(spelling: str) -> str:
    """The variable of a key spelling: 'training.nepochs' is PTYCHO_TRAINING__NEPOCHS."""
    return (ENV_PREFIX + spelling.replace(".", "__")).upper()


def _build_index(kind: PayloadKind, all_keys: Mapping[str, Key]) -> _Index:
    sections = PAYLOAD_SECTIONS[kind]
    own = [k for k in all_keys.values() if k.section in sections]
    names: dict[str, Match | Miss] = {k.qualified: Match(k) for k in own}  # qualified first
    by_bare: dict[str, list[Key]] = {}
    for key in own:
        by_bare.setdefault(key.name, []).append(key)
    for key in all_keys.values():
        if key.section not in sections:  # 'inference.model_path' is no typo in training
            names[key.qualified] = names[key.name] = OTHER_PAYLOAD
    for bare, keys in by_bare.items():
        if bare in SHARED_FIELDS:
            keys = [k for k in keys if k.section == kind] or keys
        # a backend-only (torch) field gets the bare name only where no canonical field has it
        keys = [k for k in keys if k.section != "torch"] or keys
        names[bare] = (
            Match(keys[0])
            if len(keys) == 1
            else Miss("ambiguous", tuple(k.qualified for k in keys))
        )
    for alias in ALIASES.values():
        for key in all_keys.values():
            if key.name == alias.target:
                found = Match(key, alias) if key.section in sections else OTHER_PAYLOAD
                names[f"{key.section}.{alias.name}"] = found
        target = names.get(alias.target, UNKNOWN)
        names[alias.name] = Match(target.key, alias) if isinstance(target, Match) else target
    env: dict[str, Match | Miss] = {}
    for name, found in names.items():
        if isinstance(found, Miss) and found.reason == "ambiguous":
            found = Miss("ambiguous", tuple(all_keys[q].env for q in found.choices))
        env[env_name(name)] = found
    return _Index({k.qualified: k for k in own}, names, env)


_ORIGINAL_SECTIONS = dict(SECTIONS)
# The fields extensions added, each with its legacy name (None: never written to the legacy
# dict). `register_schema` replaces this tuple; nothing changes it in place.
EXTENSION_FIELDS: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class Registry:
    """Everything derived from the registered schemas: keys, spellings, legacy names."""

    keys: Mapping[str, Key]
    renames: Mapping[str, str]
    unwritten: frozenset[str]
    index: Mapping[PayloadKind, _Index]


def current() -> Registry:
    """The registry of the schemas registered now (derived once per set of schemas)."""
    return _derive(tuple(SECTIONS.items()), EXTENSION_FIELDS)


@functools.cache
def _derive(
    sections: tuple[tuple[str, type[BaseModel]], ...],
    extension_fields: tuple[tuple[str, str | None], ...],
) -> Registry:
    renames = {**LEGACY_RENAMES, **{n: legacy for n, legacy in extension_fields if legacy}}
    unwritten = frozenset(n for n, legacy in extension_fields if legacy is None)
    keys: dict[str, Key] = {}
    for section, schema in sections:
        for name, info in schema.model_fields.items():
            # a field named as an alias (n_images) is kept only so old callers can construct
            # configs; resolution reads it as the alias
            if name in NESTED_SECTIONS or name in ALIASES:
                continue
            # execution and torch fields never reach the legacy dict
            written = section not in ("execution", "torch") and name not in unwritten
            key = Key(section, name, info, renames.get(name, name) if written else None)
            keys[key.qualified] = key
    index = {kind: _build_index(kind, keys) for kind in PAYLOAD_SECTIONS}
    return Registry(keys, renames, unwritten, index)


class _CurrentKeys(Mapping[str, Key]):
    def __getitem__(self, name: str) -> Key:
        return current().keys[name]

    def __iter__(self) -> Iterator[str]:
        return iter(current().keys)

    def __len__(self) -> int:
        return len(current().keys)


# Every key by qualified name ('training.nepochs'): a read-only view, so that KEYS imported
# once still shows the keys an extension registers later.
KEYS: Mapping[str, Key] = _CurrentKeys()


def lookup(name: str, kind: PayloadKind) -> Match | Miss:
    """The key a spelling names in a payload of this kind (case-sensitive, as in Python)."""
    return current().index[kind].names.get(name, UNKNOWN)


def lookup_env(variable: str, kind: PayloadKind) -> Match | Miss:
    """The key an environment variable names (case-insensitive)."""
    return current().index[kind].env.get(variable.upper(), UNKNOWN)


def env_spellings(key: Key, kind: PayloadKind) -> list[str]:
    """The variables naming a key (not through an alias) in a payload kind, qualified first."""
    return [
        name
        for name, found in current().index[kind].env.items()
        if isinstance(found, Match) and found.key == key and found.alias is None
    ]


def env_variables(key: Key) -> list[str]:
    """Every variable naming a key in any payload, aliases included, the sectioned one first."""
    names = [key.env]
    for index in current().index.values():
        for name, found in index.env.items():
            if isinstance(found, Match) and found.key == key and name not in names:
                names.append(name)
    return names


def spellings(kind: PayloadKind) -> list[str]:
    """Every accepted key spelling of this payload kind, for did-you-mean suggestions."""
    return [n for n, m in current().index[kind].names.items() if isinstance(m, Match)]


def env_names(kind: PayloadKind) -> list[str]:
    """Every accepted environment variable of this payload kind, for did-you-mean suggestions."""
    return [n for n, m in current().index[kind].env.items() if isinstance(m, Match)]


def keys_of(kind: PayloadKind) -> Mapping[str, Key]:
    """The keys of a payload kind by qualified name, in schema order."""
    return current().index[kind].keys


def values_of(
    config: TrainingConfig | InferenceConfig,
    execution: ExecutionConfig,
    keys: Iterable[Key] | None = None,
) -> dict[str, Any]:
    """The values of a config and its execution config by qualified key: of every key, in
    schema order, or of ``keys``."""
    kind = cast(PayloadKind, config.section)
    sections = {kind: config, "model": config.model, "torch": config.torch, "execution": execution}
    wanted = keys_of(kind).values() if keys is None else keys
    return {key.qualified: getattr(sections[key.section], key.name) for key in wanted}


def legacy_name(field_name: str) -> str:
    """The legacy dict name of a training or inference (or model) field."""
    return current().renames.get(field_name, field_name)


def register_schema(schema: type[Schema], *, legacy: Mapping[str, str] | None = None) -> None:
    """Use ``schema``, a subclass of its section's current schema, for that section.

    ``legacy`` maps new fields to their legacy dict names; new fields without one are
    never written to the legacy dict. Registering the current schema again, without
    ``legacy``, does nothing.
    """
    global EXTENSION_FIELDS
    section = getattr(schema, "section", "")
    registered = SECTIONS.get(section)
    if registered is None:
        raise TypeError(f"register_schema needs a subclass of a section schema, got {schema!r}")
    # a schema that an extension of a section it nests rebuilt may be extended as it was
    if not _extends(schema, _unnested(registered)):
        message = f"register_schema needs a subclass of {registered.__name__}, got {schema!r}"
        original = _ORIGINAL_SECTIONS[section]  # the public class, which an extension replaced
        if original is not registered and _extends(schema, original):
            message += (
                f": an extension registered before replaced it; subclass "
                f"SECTIONS[{section!r}] (ptycho_config._schemas.sections), the current schema"
            )
        raise TypeError(message)
    for nested in NESTED_SECTIONS:  # with the extensions of the sections it nests
        field = schema.model_fields.get(nested)
        if field is None or field.annotation is SECTIONS[nested]:
            continue
        # only a schema the registered one extends is replaced: a redeclared one would be lost
        declared = getattr(field.annotation, "__name__", repr(field.annotation))
        if not (
            isinstance(field.annotation, type) and _extends(SECTIONS[nested], field.annotation)
        ):
            raise TypeError(
                f"{schema.__name__} redeclares {nested} as {declared}, which is not registered: "
                f"register_schema({declared}), a subclass of SECTIONS[{nested!r}], nests it in "
                f"every schema"
            )
        schema = _nesting(schema, nested, SECTIONS[nested])
    added = set(schema.model_fields) - set(registered.model_fields)
    names = dict(legacy or {})
    stray = sorted(set(names) - added)
    if stray:
        raise ValueError(f"legacy names given for fields {schema.__name__} does not add: {stray}")
    if schema is registered:
        return
    SECTIONS[section] = schema
    if section in NESTED_SECTIONS:
        for holder in PAYLOAD_SECTIONS:  # each section nesting it, rebuilt with it
            SECTIONS[holder] = _nesting(SECTIONS[holder], section, schema)
    # the keys are derived from the schemas; only the new legacy names are recorded
    EXTENSION_FIELDS += tuple((name, names.get(name)) for name in sorted(added))


@functools.cache  # one class per parent and extension: all derived from it is cached by it
def _nesting(parent: type[Schema], section: str, schema: type[Schema]) -> type[Schema]:
    description = parent.model_fields[section].description
    nested: Any = (schema, Field(default_factory=schema, description=description))
    rebuilt = create_model(
        parent.__name__, __base__=parent, __module__=parent.__module__, **{section: nested}
    )
    _REBUILT_FROM[rebuilt] = parent
    return rebuilt


# Each schema ``_nesting`` built, and the schema it was built from.
_REBUILT_FROM: dict[type[Schema], type[Schema]] = {}


def _unnested(schema: type[Schema]) -> type[Schema]:
    """The schema before nested extensions were put into it."""
    while schema in _REBUILT_FROM:
        schema = _REBUILT_FROM[schema]
    return schema


def _extends(schema: Any, base: type[Schema]) -> bool:
    return isinstance(schema, type) and issubclass(schema, base)


@functools.cache
def load_extensions() -> None:
    """Register every installed extension (entry point group ``ptycho_config.extensions``)."""
    from importlib.metadata import entry_points  # only the command line scans for them

    for point in entry_points(group="ptycho_config.extensions"):
        try:
            found = point.load()
            if isinstance(found, type) and issubclass(found, Schema):
                register_schema(found)
            elif callable(found):
                found()
        except Exception as error:  # third-party code: any failure, named and chained
            message = f"extension {point.name} ({point.value}) failed to load: {error}"
            raise PtychoConfigError(message) from error


def reset_extensions() -> None:
    """Back to the library's own schemas (for tests)."""
    global EXTENSION_FIELDS
    SECTIONS.clear()
    SECTIONS.update(_ORIGINAL_SECTIONS)
    EXTENSION_FIELDS = ()
    load_extensions.cache_clear()
