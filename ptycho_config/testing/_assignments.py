"""Random values per source, and what each key must resolve to: the value of the first kind in
``SOURCE_KINDS`` that sets it, else its default (a kind added there is drawn without an edit)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ptycho_config._errors import PtychoConfigError, one_of
from ptycho_config._merge.resolve import Resolved, SourceOptions, merge, read_layers, sources_of
from ptycho_config._schemas.registry import KEYS, PAYLOAD_SECTIONS, PayloadKind, keys_of
from ptycho_config._schemas.sections import ExecutionConfig
from ptycho_config._sources.environment import environment_of
from ptycho_config._sources.kinds import SOURCE_KINDS, SourceKind
from ptycho_config._sources.mapping import MappingSource
from ptycho_config.testing._configs import as_document, equalize, partners, payload_schemas, repair
from ptycho_config.testing._fields import values

DRAWN_KINDS: tuple[SourceKind, ...] = tuple(k for k in SOURCE_KINDS if k != "default")


def _accepts(kind: str, key: str) -> bool:
    # an ExecutionConfig instance holds only execution fields
    return kind != "execution_config" or KEYS[key].section == "execution"


@dataclass(frozen=True)
class SourceAssignment:
    """What each source sets (qualified key → value), and what every key must resolve to."""

    payload: PayloadKind
    sources: Mapping[SourceKind, Mapping[str, Any]]

    def _given(self, key: str) -> tuple[SourceKind, Any]:
        # a key (or a partner holding the same value) in the highest kind that sets one
        for kind in SOURCE_KINDS:
            given = self.sources.get(kind, {})
            for name in partners(key, self.payload):
                if name in given:
                    return kind, given[name]
        return "default", None

    def winner(self, key: str) -> SourceKind:
        """The kind whose value ``key`` must resolve to: the first in precedence that sets it."""
        return self._given(key)[0]

    @property
    def expected(self) -> dict[str, Any]:
        """Key → the value it must resolve to, for every key some source sets."""
        keys = {
            name
            for given in self.sources.values()
            for key in given
            for name in partners(key, self.payload)
        }
        return {key: self._given(key)[1] for key in sorted(keys)}

    @property
    def expected_sources(self) -> dict[str, SourceKind]:
        """Key → the kind its provenance must name, for every key of the payload."""
        return {key: self.winner(key) for key in keys_of(self.payload)}

    def values_of(self, kind: SourceKind) -> dict[str, Any]:
        """What one source sets, by qualified key (empty when it sets nothing)."""
        return dict(self.sources.get(kind, {}))

    @property
    def overrides(self) -> dict[str, Any]:
        """The ``overrides`` mapping of ``resolve_*`` and the factories."""
        return self.values_of("override")

    @property
    def execution_config(self) -> ExecutionConfig | None:
        """The ``execution_config`` argument: an instance with exactly these fields set."""
        fields = self.values_of("execution_config")
        if not fields:
            return None
        return ExecutionConfig(**{key.split(".", 1)[1]: v for key, v in fields.items()})

    @property
    def environ(self) -> dict[str, str]:
        """The ``environ`` argument: one PTYCHO_<SECTION>__<FIELD> variable per key."""
        return environment_of(self.values_of("env"))

    @property
    def config_document(self) -> dict[str, Any] | None:
        """The file source's content as plain data (sections as tables), or None."""
        return as_document(self.values_of("file")) or None

    def write_config_file(self, folder: str | Path) -> Path | None:
        """Write the file source as ``config.json`` into ``folder``; None when it sets nothing."""
        document = self.config_document
        if document is None:
            return None
        path = Path(folder) / "config.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        return path

    def resolve(self, folder: str | Path | None = None) -> Resolved:
        """Resolve through the library's merger, with the real source of each kind that has one
        and a mapping source for the others; files go to ``folder`` (default: a temporary one).
        Provenance names the config file by its path: compare resolutions in one folder."""
        native = {"override", "execution_config", "env", "file"}  # what sources_of builds
        with tempfile.TemporaryDirectory() as temporary:
            config_file = self.write_config_file(folder or temporary)
            options = SourceOptions(environ=self.environ, config_file=config_file)
            made = sources_of(self.overrides, self.execution_config, options)
            made += (MappingSource(k, dict(v)) for k, v in self.sources.items() if k not in native)
            layers = read_layers(self.payload, made)
        return merge(self.payload, layers)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={dict(v)!r}" for k, v in self.sources.items() if v)
        return f"SourceAssignment({self.payload!r}{', ' if shown else ''}{shown})"


def source_assignments(
    kind: PayloadKind = "training",
    sources: Iterable[SourceKind] = DRAWN_KINDS,
    max_keys: int = 6,
) -> SearchStrategy[SourceAssignment]:
    """Values for at most ``max_keys`` random keys in each of ``sources``, valid together."""
    kind = one_of("kind", kind, PAYLOAD_SECTIONS)
    kinds = tuple(one_of("a source kind", source, DRAWN_KINDS) for source in sources)
    for key in keys_of(kind).values():
        if key.info.is_required() and not any(_accepts(s, key.qualified) for s in kinds):
            raise ValueError(f"none of the sources {list(kinds)} can set {key.qualified}")
    # strategies are built here, once, not inside every draw
    strategies = {key: values(key) for key in keys_of(kind)}
    # a key and its value drawn side by side, so shrinking deletes them together
    pairs = {
        source: st.lists(
            st.one_of(
                [st.tuples(st.just(k), v) for k, v in strategies.items() if _accepts(source, k)]
            ),
            unique_by=lambda pair: pair[0],
            max_size=max_keys,
        )
        for source in kinds
    }
    required = [key for key in strategies if KEYS[key].info.is_required()]

    # defined here, so that Hypothesis shows it (in a note to a rejected draw, say) as
    # `assignments()`, not with every field's strategy in its arguments
    @st.composite
    def assignments(draw: st.DrawFn) -> SourceAssignment:
        chosen = {source: dict(draw(given)) for source, given in pairs.items()}
        for key in required:
            if not any(key in given for given in chosen.values()):
                givers = [source for source in chosen if _accepts(source, key)]
                chosen[draw(st.sampled_from(givers))][key] = draw(strategies[key])
        # one source giving a key and its partner two values is a conflict: give them one
        sources = {source: equalize(given, kind, fill=False) for source, given in chosen.items()}
        # an instance (the ExecutionConfig argument) must be valid on its own, before merging
        if "execution_config" in sources:
            alone = repair([ExecutionConfig], sources["execution_config"])
            if alone is None:
                reject()
            sources["execution_config"] = alone
        # the keys of rules the winning values break are dropped from every source
        expected = SourceAssignment(kind, sources).expected
        winners = repair(payload_schemas(kind), expected, keep=required, kind=kind)
        if winners is None:
            reject()
        kept = {s: {k: v for k, v in given.items() if k in winners} for s, given in sources.items()}
        # only the kinds that set something: a counterexample stays short
        assignment = SourceAssignment(kind, {s: given for s, given in kept.items() if given})
        try:  # the ExecutionConfig argument, once more: it may have lost a key
            assignment.execution_config  # noqa: B018 - building it is the check
        except PtychoConfigError:
            reject()
        return assignment

    return assignments()
