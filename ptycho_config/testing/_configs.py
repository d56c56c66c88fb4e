"""Valid whole configurations, drawn flat (qualified key → value, absent keys at defaults): the
keys of a cross-field rule that a draw breaks fall back to their defaults, which satisfy it."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from pydantic_core import to_jsonable_python

from ptycho_config._errors import PtychoConfigError, one_of
from ptycho_config._schemas.base import Schema
from ptycho_config._schemas.registry import (
    KEYS,
    PAYLOAD_SECTIONS,
    SHARED_FIELDS,
    Match,
    PayloadKind,
    env_spellings,
    lookup,
)
from ptycho_config._schemas.sections import (
    NESTED_SECTIONS,
    SECTIONS,
    ExecutionConfig,
    InferenceConfig,
    ModelConfig,
    TrainingConfig,
)
from ptycho_config._sources.environment import env_text
from ptycho_config.testing._fields import values

Flat = dict[str, Any]


def nested(schema: type[Schema]) -> dict[str, type[Schema]]:
    """Field name → schema, for the fields of ``schema`` that hold a nested section."""
    return {name: SECTIONS[name] for name in NESTED_SECTIONS if name in schema.model_fields}


def payload_schemas(kind: PayloadKind) -> list[type[Schema]]:
    """The top-level schemas a payload validates (the nested sections are inside them)."""
    return [SECTIONS[s] for s in PAYLOAD_SECTIONS[kind] if s not in NESTED_SECTIONS]


def partners(key: str, kind: PayloadKind | None) -> tuple[str, ...]:
    """The keys holding one value with ``key`` in a payload, ``key`` first: a training payload
    resolves the training and execution keys of a field in ``SHARED_FIELDS`` to one value."""
    section, name = key.split(".", 1)
    if kind == "training" and name in SHARED_FIELDS and section in ("training", "execution"):
        other = "execution" if section == "training" else "training"
        return (key, f"{other}.{name}")
    return (key,)


def equalize(flat: Mapping[str, Any], kind: PayloadKind | None, *, fill: bool = True) -> Flat:
    """``flat`` with each key's partners given its value (the first seen wins); ``fill=False``
    only aligns partners already present (what one source may give)."""
    result = dict(flat)
    for key in flat:
        for partner in partners(key, kind)[1:]:
            if partner in KEYS and (fill or partner in flat):
                result[partner] = result[key]
    return result


def broken_rules(
    schemas: Iterable[type[Schema]], flat: Mapping[str, Any]
) -> list[tuple[str, ...]] | None:
    """The qualified keys of each cross-field rule the schemas report broken (a nested section's
    first: its problems stop the outer rules from running); None for any other problem."""
    broken: list[tuple[str, ...]] = []
    for schema in schemas:
        try:
            build(schema, flat)
        except PtychoConfigError as error:
            rules = [tuple(p.key.split(" & ")) for p in error.problems if " & " in p.key]
            if not rules:
                return None
            broken += rules
    return broken


def repair(
    schemas: Iterable[type[Schema]],
    flat: Flat,
    keep: Collection[str] = (),
    kind: PayloadKind | None = None,
) -> Flat | None:
    """``flat`` without the keys of broken rules (except ``keep``), a key and its partners
    together, and accepted by every schema; None if that cannot be had."""
    flat = equalize(flat, kind)
    while broken := broken_rules(schemas, flat):
        droppable = {
            partner
            for keys in broken
            for key in keys
            for partner in partners(key, kind)
            if partner in flat and partner not in keep
        }
        if not droppable:
            return None
        for key in droppable:
            del flat[key]
    return None if broken is None else flat


def build(schema: type[Schema], flat: Mapping[str, Any]) -> Any:
    """The config: keys present in ``flat`` set, the others (nested sections too) at defaults."""
    own = {name: f"{schema.section}.{name}" for name in schema.model_fields}
    kwargs = {name: flat[key] for name, key in own.items() if key in flat}
    for name, child in nested(schema).items():
        if any(key.startswith(f"{name}.") for key in flat):
            kwargs[name] = build(child, flat)
    return schema(**kwargs)


@functools.cache
def _valid_flat(
    schemas: tuple[type[Schema], ...], kind: PayloadKind | None = None
) -> SearchStrategy[Flat]:
    # the field strategies are built here, once, not inside the first draw
    sections = {s for schema in schemas for s in (schema.section, *nested(schema))}
    strategies = {k.qualified: values(k.qualified) for k in KEYS.values() if k.section in sections}
    required = {k: v for k, v in strategies.items() if KEYS[k].info.is_required()}
    optional = {k: v for k, v in strategies.items() if k not in required}
    drawn = st.fixed_dictionaries(required, optional=optional)  # required keys always present

    # defined here, so that Hypothesis shows it (in a note to a rejected draw, say) as
    # `repaired()`, not with every field's strategy in its arguments
    @st.composite
    def repaired(draw: st.DrawFn) -> Flat:
        # rounds of redrawing the other keys of a broken rule before its keys fall back to
        # defaults; redrawing makes one key's value depend on another's, which a shrinker cannot
        # undo: only some draws do it, and a counterexample shrinks towards those that do not
        rounds = 16 if draw(st.booleans()) else 0
        flat = draw(drawn)
        anchor: str | None = None  # the first key kept stays kept in every later round
        for _ in range(rounds):
            flat = equalize(flat, kind)
            broken = broken_rules(schemas, flat)
            if not broken:
                break
            # keep one key of a broken rule and redraw the others: a value that a rule allows
            # only together with others (oversampling with a large pool) stays reachable
            keys = draw(st.sampled_from(broken))
            # the key to keep: one that is away from its default, the value worth reaching
            moved = [k for k in keys if k in flat and flat[k] != KEYS[k].default]
            kept = anchor if anchor in keys else draw(st.sampled_from(moved or keys))
            anchor = anchor or kept
            for key in keys:
                if key == kept or key in required or key not in strategies:
                    continue
                if draw(st.integers(0, 3)) == 3:  # back to its default, which rules often want
                    flat.pop(key, None)
                else:
                    flat[key] = draw(strategies[key])
        result = repair(schemas, flat, keep=required, kind=kind)
        if result is None:
            reject()
        return result

    return repaired()


def valid_flat(kind: PayloadKind) -> SearchStrategy[Flat]:
    """Qualified key → value for a whole payload, every rule respected."""
    kind = one_of("kind", kind, PAYLOAD_SECTIONS)
    return _valid_flat(tuple(payload_schemas(kind)), kind)


class build_config:  # lower case: it reads as a function, build_config('training')(values)
    """``build_config('training')({'training.batch_size': 64})`` is a TrainingConfig, the other
    keys at their defaults: how Hypothesis shows a counterexample, only the keys that were set."""

    def __init__(self, section: str) -> None:
        self.section = one_of("section", section, SECTIONS)

    def __call__(self, flat: Mapping[str, Any]) -> Any:
        return build(SECTIONS[self.section], flat)

    def __repr__(self) -> str:
        return f"build_config({self.section!r})"


def configs(section: str) -> SearchStrategy[Any]:
    """Valid instances of a section's schema (with its nested sections), any field set or not."""
    build = build_config(section)
    return _valid_flat((SECTIONS[build.section],)).map(build)


def model_configs() -> SearchStrategy[ModelConfig]:
    """Any valid ModelConfig."""
    return configs("model")


def training_configs() -> SearchStrategy[TrainingConfig]:
    """Any valid TrainingConfig (cross-field rules respected; deprecated aliases never set)."""
    return configs("training")


def inference_configs() -> SearchStrategy[InferenceConfig]:
    """Any valid InferenceConfig (cross-field rules respected; deprecated aliases never set)."""
    return configs("inference")


def execution_configs() -> SearchStrategy[ExecutionConfig]:
    """Any valid ExecutionConfig."""
    return configs("execution")


_BOOLEAN_WORDS = {True: ("true", "1", "yes", "on", "True"), False: ("false", "0", "no", "off")}


@st.composite
def environments(draw: st.DrawFn, kind: PayloadKind = "training") -> dict[str, str]:
    """Valid ``PTYCHO_*`` variables for a payload: any spelling, any boolean word."""
    environ = {}
    for key, value in draw(valid_flat(kind)).items():
        name = draw(st.sampled_from(env_spellings(KEYS[key], kind)))
        is_bool = isinstance(value, bool)
        environ[name] = draw(st.sampled_from(_BOOLEAN_WORDS[value])) if is_bool else env_text(value)
    return environ


def _bare(key: str, kind: PayloadKind) -> bool:
    found = lookup(KEYS[key].name, kind)
    return isinstance(found, Match) and found.alias is None and found.key.qualified == key


@st.composite
def config_documents(draw: st.DrawFn, kind: PayloadKind = "training") -> dict[str, Any]:
    """A valid config file's content (sections, some keys bare where unambiguous) as plain
    data: paths as text, tuples as lists. Write it with ``json.dumps`` or ``yaml.safe_dump``."""
    flat = draw(valid_flat(kind))
    return as_document(flat, bare=[k for k in flat if _bare(k, kind) and draw(st.booleans())])


def as_document(flat: Mapping[str, Any], bare: Collection[str] = ()) -> dict[str, Any]:
    """A config file's content as JSON, YAML and TOML can hold it (paths as text, tuples as
    lists): each key in its section's table, or at the top level if in ``bare``."""
    document: dict[str, Any] = {}
    for key, value in flat.items():
        section, name = key.split(".", 1)
        table = document if key in bare else document.setdefault(section, {})
        table[name] = to_jsonable_python(value)
    return document
