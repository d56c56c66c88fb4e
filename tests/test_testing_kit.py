"""The testing kit (SPEC §14): strategies valid, covering and shrinking; the pytest plugin."""

from __future__ import annotations

import ast
import enum
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import types
import typing
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, seed, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from pydantic import BaseModel, Field

from ptycho_config import (
    AmbiguousKeyError,
    InvalidValueError,
    PtychoConfigError,
    UnknownKeyError,
    create_training_payload,
    infer_probe_size,
    register_schema,
    resolve_inference,
    resolve_training,
)
from ptycho_config._schemas.registry import (
    KEYS,
    Miss,
    keys_of,
    lookup,
    lookup_env,
    reset_extensions,
    spellings,
)
from ptycho_config._schemas.sections import SECTIONS
from ptycho_config.testing import (
    DRAWN_KINDS,
    NpzFile,
    SourceAssignment,
    config_documents,
    configs,
    environments,
    execution_configs,
    inference_configs,
    model_configs,
    npz_files,
    source_assignments,
    training_configs,
    values,
)
from ptycho_config.testing_plugin import PtychoEnv
from tests._processes import same_code
from tests.conftest import PRECEDENCE

ROOT = Path(__file__).resolve().parents[1]
# Enough examples for every choice of every field to show up; derandomized, so never flaky.
COVERAGE = settings(
    max_examples=400,
    derandomize=True,
    database=None,
    phases=[p for p in Phase if p != Phase.explain],  # the shrunk example, without commentary
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
RESOLVE: dict[str, Callable[..., Any]] = {
    "training": resolve_training,
    "inference": resolve_inference,
}


# Hypothesis builds many draws by mutating earlier ones, so one run's draws are correlated;
# several runs from fixed seeds make a fixed sample that is closer to independent draws.
SEEDS = range(1, 21)
SAMPLE = settings(
    max_examples=30,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def collect(
    strategy: SearchStrategy[Any],
    record: Callable[[Any], None],
    done: Callable[[], bool] = lambda: False,
) -> None:
    """Run ``record`` on a fixed, reproducible set of draws of ``strategy``, seed by seed,
    stopping after the first seed's run that leaves ``done()`` true."""
    for number in SEEDS:

        @seed(number)
        @SAMPLE
        @given(strategy)
        def run(value: Any) -> None:
            record(value)

        run()
        if done():
            return


def first_draws(strategy: SearchStrategy[Any], count: int) -> list[Any]:
    """At least ``count`` draws of ``strategy`` from the fixed sample of ``collect``."""
    drawn: list[Any] = []
    collect(strategy, drawn.append, lambda: len(drawn) >= count)
    return drawn


def choices(annotation: Any) -> set[Any] | None:
    """Every value of a field with finitely many (Literal, bool, None), or None if infinite."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return choices(args[0])
    if origin is typing.Literal:
        return set(args)
    if annotation is bool:
        return {True, False}
    if annotation is type(None):
        return {None}
    if origin is typing.Union or origin is types.UnionType:
        parts = [choices(arg) for arg in args]
        return None if None in parts else {c for part in parts if part for c in part}
    return None


def key_choices(key: str) -> set[Any] | None:
    """The finite choices of a key, the enum of its JSON Schema included (e.g. model.N)."""
    info = KEYS[key].info
    extra = info.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("enum"), list):
        return set(extra["enum"])
    return choices(info.annotation)


def flatten(config: Any) -> dict[str, Any]:
    """Qualified key → value of a config instance, nested sections included."""
    flat = {}
    for name in type(config).model_fields:
        value = getattr(config, name)
        if type(value) in SECTIONS.values():
            flat.update(flatten(value))
        elif f"{config.section}.{name}" in KEYS:
            flat[f"{config.section}.{name}"] = value
    return flat


class TestValidity:
    """Every draw is valid: constructing it again, or resolving it, succeeds."""

    @pytest.mark.parametrize(
        "strategy", [model_configs, training_configs, inference_configs, execution_configs]
    )
    @given(data=st.data())
    def test_configs_construct(self, strategy: Callable[[], Any], data: st.DataObject) -> None:
        """A drawn config validates again from its own fields into an equal config."""
        config = data.draw(strategy())
        assert config == type(config)(**config.model_dump(exclude={"n_images"}))

    @pytest.mark.parametrize("kind", ["training", "inference"])
    @given(data=st.data())
    def test_environments_resolve(self, kind: str, data: st.DataObject) -> None:
        """A drawn environment resolves, and the key of every variable in it comes from env."""
        environ = data.draw(environments(kind))
        resolved = RESOLVE[kind](environ=environ)
        keys = {lookup_env(name, kind).key.qualified for name in environ}
        assert keys <= {k for k, s in resolved.provenance.items() if s.kind == "env"}

    @pytest.mark.parametrize("kind", ["training", "inference"])
    @given(data=st.data())
    def test_config_documents_resolve(self, kind: str, data: st.DataObject) -> None:
        """A drawn document, written as JSON, resolves with every key it holds from the file."""
        document = data.draw(config_documents(kind))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "config.json"
            path.write_text(json.dumps(document), encoding="utf-8")
            resolved = RESOLVE[kind](environ={}, config_file=path)
        keys = {
            f"{top}.{name}" if isinstance(inner, dict) else lookup(top, kind).key.qualified
            for top, inner in document.items()
            for name in (inner if isinstance(inner, dict) else [top])
        }
        assert keys <= {k for k, s in resolved.provenance.items() if s.kind == "file"}

    @given(data=st.data(), key=st.sampled_from(sorted(KEYS)))
    def test_values_pass_their_own_field(self, data: st.DataObject, key: str) -> None:
        """A value of one key is accepted by that key; only a cross-field rule may object."""
        value = data.draw(values(key))
        required = {"model_path": "/m", "test_data_file": "/t"}
        resolve = resolve_inference if key.startswith("inference.") else resolve_training
        given_ = {f"inference.{k}": v for k, v in required.items()}
        given_ = given_ if resolve is resolve_inference else {}
        problems: list[Any] = []
        try:
            resolve({**given_, key: value}, environ={})
        except PtychoConfigError as error:
            problems = error.problems
        assert all(" & " in problem.key for problem in problems), problems

    @given(npz_files())
    def test_npz_files_give_their_probe_size(self, recipe: NpzFile) -> None:
        """A written data file is read back with the probe size of its recipe."""
        with tempfile.TemporaryDirectory() as folder:
            path = recipe.write(Path(folder) / "data.npz")
            assert recipe.probe_size == infer_probe_size(path, strict=True)

    @given(npz_files())
    def test_npz_files_feed_a_training_payload(self, recipe: NpzFile) -> None:
        """A factory infers N and nphotons from a written data file."""
        with tempfile.TemporaryDirectory() as folder:
            path = recipe.write(Path(folder) / "train.npz")
            payload = create_training_payload(path, Path(folder) / "out", {"n_groups": 8})
        config = payload.training_config
        assert recipe.probe_size == config.model.N
        if recipe.nphotons is not None:
            assert recipe.nphotons == config.nphotons

    def test_values_accept_any_unambiguous_spelling(self) -> None:
        """A bare name or alias names its key; an ambiguous or unknown one is a clear error."""
        assert {16} == {find(values("max_epochs"), lambda v: v == 16)}
        for kind in ("training", "inference"):
            for name in spellings(kind) + [k.name for k in keys_of(kind).values()]:
                missed = lookup(name, kind)
                if isinstance(missed, Miss) and missed.reason == "ambiguous":
                    with pytest.raises(AmbiguousKeyError, match=rf"{name}' is ambiguous; use "):
                        values(name)
        with pytest.raises(UnknownKeyError, match=r"'batch_sise': names no configuration key"):
            values("batch_sise")
        with pytest.raises(UnknownKeyError) as caught:
            values("batch_sise")
        [problem] = caught.value.problems
        assert "batch_size" == problem.suggestions[0].rpartition(".")[2]


class TestCoverage:
    """Over a fixed number of draws, every field takes several values and every choice."""

    @pytest.mark.parametrize("section", sorted(SECTIONS))
    def test_every_field_and_choice(self, section: str) -> None:
        """Each key of the section's configs shows every choice, or at least three values."""
        seen: dict[str, list[Any]] = defaultdict(list)

        def record(config: Any) -> None:
            for key, value in flatten(config).items():
                if value not in seen[key]:
                    seen[key].append(value)

        own = {k for k in KEYS if k.split(".")[0] in {c.section for c in _sections(section)}}

        def missing() -> dict[str, Any]:
            unseen: dict[str, Any] = {}
            for key in sorted(own):
                wanted = key_choices(key)
                if wanted is not None and not wanted <= set(seen[key]):
                    unseen[key] = wanted - set(seen[key])
                elif wanted is None and len(seen[key]) < 3:
                    unseen[key] = seen[key]
            return unseen

        collect(configs(section), record, lambda: not missing())
        assert {} == missing()

    @pytest.mark.parametrize("kind", ["training", "inference"])
    def test_every_source_kind_wins_somewhere(self, kind: str) -> None:
        """Each source kind is the winner of some key in some draw."""
        winners: set[str] = set()
        collect(
            source_assignments(kind),
            lambda a: winners.update(a.expected_sources.values()),
            lambda: set(PRECEDENCE) == winners,
        )
        assert set(PRECEDENCE) == winners

    def test_every_probe_size_and_compression(self) -> None:
        """Data files come with every supported probe size, plain and compressed."""
        seen: set[tuple[int, bool]] = set()
        every = {(n, c) for n in (64, 128, 256) for c in (False, True)}
        collect(
            npz_files(), lambda r: seen.add((r.probe_size, r.compressed)), lambda: every <= seen
        )
        assert every == seen


def _sections(section: str) -> list[Any]:
    """The schema of a section and the schemas nested in it."""
    schema = SECTIONS[section]
    nested = [
        info.annotation
        for info in schema.model_fields.values()
        if info.annotation in SECTIONS.values()
    ]
    return [schema, *nested]


class Colour(enum.Enum):
    """An Enum an extension field may declare."""

    RED = "red"
    BLUE = "blue"


class Dose(BaseModel):
    """A small model an extension field may declare."""

    weight: float = Field(0.5, ge=0, le=1)
    steps: int = 1


class TestExtensionFields:
    """Fields an extension declares with types the library's schemas never use are covered."""

    def test_enum_dict_and_model_fields_draw_valid_values(self) -> None:
        """values() draws valid values of an Enum, a dict and a model field, every enum member."""

        class Extended(SECTIONS["training"]):  # type: ignore[misc, valid-type]
            colour: Colour = Colour.RED
            weights: dict[str, int] = Field(default_factory=dict)
            dose: Dose = Field(default_factory=Dose)

        register_schema(Extended)
        try:
            seen: set[Colour] = set()
            collect(values("training.colour"), seen.add, lambda: seen == set(Colour))
            assert set(Colour) == seen
            for key, kind in (("training.weights", dict), ("training.dose", Dose)):
                drawn = first_draws(values(key), 10)
                assert all(isinstance(value, kind) for value in drawn), drawn
                resolved = resolve_training({key: drawn[-1]}, environ={})
                assert drawn[-1] == resolved.value(key)
        finally:
            reset_extensions()

    def test_values_follow_a_schema_registered_after_their_first_use(self) -> None:
        """A strategy drawn before an extension narrows a field draws the narrowed field after."""
        assert any(n > 4 for n in first_draws(values("batch_size"), 50))

        class Narrowed(SECTIONS["training"]):  # type: ignore[misc, valid-type]
            batch_size: int = Field(2, ge=1, le=4)

        register_schema(Narrowed)
        try:
            assert all(1 <= n <= 4 for n in first_draws(values("batch_size"), 50))
        finally:
            reset_extensions()
        assert any(n > 4 for n in first_draws(values("batch_size"), 50))


class TestShrinking:
    """A failing property shrinks to a small, readable counterexample."""

    def test_config_shrinks_to_the_one_field_that_matters(self) -> None:
        """A property broken by large batches shrinks to batch_size=64 and nothing else set."""
        found = find(training_configs(), lambda c: c.batch_size >= 64, settings=COVERAGE)
        assert ({"batch_size"}, 64) == (found.model_fields_set, found.batch_size)

    def test_assignment_shrinks_to_one_source_and_key(self) -> None:
        """A property broken by any key from env shrinks to one variable in env alone."""
        found = find(
            source_assignments(),
            lambda a: "env" in a.expected_sources.values(),
            settings=COVERAGE,
        )
        [(key, value)] = found.sources["env"].items()
        assert {"env": {key: value}} == found.sources
        assert f"SourceAssignment('training', env={{{key!r}: {value!r}}})" == repr(found)

    def test_failing_property_reports_the_counterexample(self) -> None:
        """Hypothesis reports the shrunk config of a deliberately failing test."""

        @COVERAGE
        @given(execution_configs())
        def batches_are_small(config: Any) -> None:
            assert config.num_workers < 3

        with pytest.raises(AssertionError) as info:
            batches_are_small()
        notes = "\n".join(getattr(info.value, "__notes__", []))
        call = re.search(r"config=build_config\('execution'\)\(\s*(\{.*?\})", notes, re.DOTALL)
        assert call is not None, notes
        shown = ast.literal_eval(call.group(1))
        assert 3 == shown["execution.num_workers"]
        # Shrinking is a search: a value drawn to satisfy a rule can keep a few others beside
        # it (up to 4 others over 40 seeds here), but never the dozens an unshrunk draw sets.
        assert len(shown) <= 5, notes

    @pytest.mark.parametrize(
        "strategy",
        [training_configs, inference_configs, environments, config_documents, source_assignments],
    )
    def test_strategies_show_a_short_repr(self, strategy: Callable[[], Any]) -> None:
        """Hypothesis notes a strategy's repr when a draw is rejected: it is short, and making
        it gives no 'overly large repr' warning (an error where warnings are errors)."""
        assert len(repr(strategy())) < 100


class TestAssignments:
    """The oracle of source_assignments follows the precedence order."""

    def test_winner_is_the_first_kind_in_precedence(self) -> None:
        """With a key in env and file, env wins; a key set nowhere is the default."""
        assignment = SourceAssignment(
            "training",
            {"file": {"training.nepochs": 3}, "env": {"training.nepochs": 5}},
        )
        assert "env" == assignment.winner("training.nepochs")
        assert {"training.nepochs": 5} == assignment.expected
        assert "default" == assignment.expected_sources["training.batch_size"]
        assert 5 == assignment.resolve().value("training.nepochs")

    def test_drawn_kinds_are_every_kind_but_default(self) -> None:
        """The kinds drawn are every kind but 'default', in precedence order."""
        assert tuple(PRECEDENCE[:-1]) == DRAWN_KINDS

    def test_winner_follows_precedence_for_every_pair(self) -> None:
        """Of any two kinds setting a key, the oracle names the one earlier in PRECEDENCE."""
        wrong = []
        for i, higher in enumerate(PRECEDENCE[:-1]):
            for lower in PRECEDENCE[i + 1 : -1]:
                given = {lower: {"execution.num_workers": 1}, higher: {"execution.num_workers": 2}}
                assignment = SourceAssignment("training", given)  # type: ignore[arg-type]
                if (assignment.winner("execution.num_workers"), assignment.expected) != (
                    higher,
                    {"execution.num_workers": 2},
                ):
                    wrong.append((higher, lower))
        assert [] == wrong

    def test_unknown_source_kind_is_refused(self) -> None:
        """Asking for a kind that does not exist names the valid ones."""
        with pytest.raises(InvalidValueError, match=r"source kind must be one of 'override', "):
            source_assignments(sources=["envs"])
        with pytest.raises(ValueError, match=r"can set inference.model_path"):
            source_assignments("inference", sources=["execution_config"])

    @given(source_assignments("inference", sources=["execution_config", "env"]))
    def test_inference_assignments_carry_required_keys(self, assignment: SourceAssignment) -> None:
        """Required keys are always set by some drawn source, so the assignment resolves."""
        assert {"inference.model_path", "inference.test_data_file"} <= set(assignment.expected)
        assert set(assignment.sources) <= {"execution_config", "env"}

    def test_every_payload_key_is_an_expected_source(self) -> None:
        """expected_sources covers every key of the payload."""
        assignment = SourceAssignment("training", {})
        assert list(keys_of("training")) == list(assignment.expected_sources)


class TestPtychoEnv:
    """The ptycho_env fixture: any spelling, values as the library reads them, restored."""

    @pytest.mark.parametrize(
        ("key", "variable"),
        [
            ("training.batch_size", "PTYCHO_TRAINING__BATCH_SIZE"),
            ("batch_size", "PTYCHO_BATCH_SIZE"),
            ("PTYCHO_BATCH_SIZE", "PTYCHO_BATCH_SIZE"),
            ("training__batch_size", "PTYCHO_TRAINING__BATCH_SIZE"),
        ],
    )
    def test_spellings(self, ptycho_env: PtychoEnv, key: str, variable: str) -> None:
        """Each spelling sets the variable the library reads for that key."""
        assert variable == ptycho_env.set(key, 32)
        assert {variable: "32"} == ptycho_env.variables
        assert 32 == resolve_training().value("training.batch_size")

    def test_values_are_written_as_the_library_reads_them(self, ptycho_env: PtychoEnv) -> None:
        """Booleans, None, floats and aliases round-trip through the environment."""
        ptycho_env.set("probe_trainable", True)
        ptycho_env.set("n_subsample", None)
        ptycho_env.set("nphotons", 1e6)
        ptycho_env.set("max_epochs", 7)
        resolved = resolve_training()
        got = [resolved.value(f"training.{k}") for k in ("probe_trainable", "n_subsample")]
        assert [True, None] == got
        assert (1e6, 7) == (resolved.value("training.nphotons"), resolved.value("training.nepochs"))
        assert "true" == os.environ["PTYCHO_PROBE_TRAINABLE"]

    def test_unknown_key_is_an_error_with_a_suggestion(self, ptycho_env: PtychoEnv) -> None:
        """A typo is the library's UnknownKeyError with the close variable, for set and unset
        alike, and nothing is set."""
        calls = {
            "PTYCHO_BATCH_SIZE": lambda: ptycho_env.set("batch_sise", 8),
            "PTYCHO_NEPOCHS": lambda: ptycho_env.unset("nepoch"),
        }
        for meant, call in calls.items():
            with pytest.raises(UnknownKeyError, match=r"names no configuration key") as caught:
                call()
            [problem] = caught.value.problems
            assert meant == problem.suggestions[0]
            assert repr(meant) in str(caught.value)
        assert {} == ptycho_env.variables

    def test_unset(self, ptycho_env: PtychoEnv) -> None:
        """unset removes the variable of a key."""
        ptycho_env.set("nepochs", 3)
        ptycho_env.unset("training.nepochs")
        ptycho_env.unset("nepochs")
        assert {} == ptycho_env.variables


def run_pytest(folder: Path, *extra: str, environ: dict[str, str] | None = None) -> Any:
    """pytest run in a fresh process on ``folder``, with only the installed package."""
    env = {**same_code(), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(environ or {})}
    # the project's properties draw as many examples as this run's Hypothesis profile does
    examples = settings.default.max_examples
    (folder / "conftest.py").write_text(
        "from hypothesis import settings\n"
        f"settings.register_profile('outer', max_examples={examples})\n"
        "settings.load_profile('outer')\n",
        encoding="utf-8",
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, str(folder)],
        capture_output=True, text=True, timeout=300, check=False, cwd=folder, env=env,
    )  # fmt: skip


USER_TESTS = """
import os

import ptycho.params
from hypothesis import given, settings

from ptycho_config import create_training_payload, resolve_training
from ptycho_config.testing import training_configs

ptycho.params.cfg["nepochs"] = 7  # the project's own state before the tests


def test_env_is_clean_and_set_works(ptycho_env):
    assert "PTYCHO_NEPOCHS" not in os.environ
    ptycho_env.set("batch_size", 64)
    assert 64 == resolve_training().value("training.batch_size")


def test_host_variable_is_back():
    assert "3" == os.environ["PTYCHO_NEPOCHS"]
    assert "PTYCHO_BATCH_SIZE" not in os.environ


def test_legacy_params_reset(legacy_params, example_data, tmp_path):
    assert 60 == legacy_params.cfg["nepochs"]
    create_training_payload(example_data.train_data, tmp_path / "o", {"n_groups": 8}, environ={})
    assert 64 == legacy_params.cfg["N"]


def test_legacy_params_restored():
    assert 7 == ptycho.params.cfg["nepochs"]
    assert 128 == ptycho.params.cfg["N"]


@settings(max_examples=20, deadline=None)
@given(training_configs())
def test_strategy(config):
    assert config.batch_size & (config.batch_size - 1) == 0
"""

LEAKING_TESTS = """
import os


def test_leaks():
    os.environ["PTYCHO_BATCH_SIZE"] = "32"


def test_after_the_leak():
    assert "PTYCHO_BATCH_SIZE" not in os.environ
"""

# Run with PTYCHO_BATCH_SIZE=16 in the environment.
CHANGING_TESTS = """
import os


def test_changes_it():
    os.environ["PTYCHO_BATCH_SIZE"] = "32"


def test_after_the_change():
    assert "16" == os.environ["PTYCHO_BATCH_SIZE"]
"""


class TestPluginInAFreshProject:
    """The plugin as a downstream project sees it: installed, nothing configured."""

    def test_fixtures_strategies_and_the_documented_tests_work(self, tmp_path: Path) -> None:
        """A user's tests with all three fixtures and a strategy pass, and so does every
        python block of docs/testing.md pasted into a test file (one run: each costs seconds)."""
        (tmp_path / "test_user.py").write_text(USER_TESTS, encoding="utf-8")
        page = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
        blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
        assert 2 == len(blocks)
        for number, block in enumerate(blocks):
            (tmp_path / f"test_doc_{number}.py").write_text(block, encoding="utf-8")
        result = run_pytest(tmp_path, "-rA", environ={"PTYCHO_NEPOCHS": "3"})
        assert 0 == result.returncode, result.stdout + result.stderr
        passed = re.findall(r"^PASSED (test_\w+)\.py::", result.stdout, flags=re.MULTILINE)
        assert {"test_user": 5, "test_doc_0": 2, "test_doc_1": 2} == {
            name: passed.count(name) for name in set(passed)
        }, result.stdout

    def test_a_leaked_variable_fails_the_test(self, tmp_path: Path) -> None:
        """A test setting PTYCHO_BATCH_SIZE without the fixture fails; the next one is clean."""
        (tmp_path / "test_leak.py").write_text(LEAKING_TESTS, encoding="utf-8")
        result = run_pytest(tmp_path)
        assert 1 == result.returncode, result.stdout + result.stderr
        assert re.search(r"ERROR at teardown of test_leaks", result.stdout), result.stdout
        assert "left PTYCHO_* variables changed in os.environ: PTYCHO_BATCH_SIZE" in result.stdout
        assert "2 passed, 1 error" in result.stdout

    def test_a_changed_variable_is_put_back(self, tmp_path: Path) -> None:
        """A variable the host had, changed by a test without the fixture, fails that test and
        has its old value again in the next."""
        (tmp_path / "test_change.py").write_text(CHANGING_TESTS, encoding="utf-8")
        result = run_pytest(tmp_path, environ={"PTYCHO_BATCH_SIZE": "16"})
        assert "left PTYCHO_* variables changed in os.environ: PTYCHO_BATCH_SIZE" in result.stdout
        assert "2 passed, 1 error" in result.stdout, result.stdout

    def test_the_check_can_be_turned_off(self, tmp_path: Path) -> None:
        """With the ini option off, the leak is the project's own business."""
        (tmp_path / "test_leak.py").write_text(LEAKING_TESTS, encoding="utf-8")
        (tmp_path / "pytest.ini").write_text(
            "[pytest]\nptycho_config_check_env = false\n", encoding="utf-8"
        )
        result = run_pytest(tmp_path)
        assert "1 failed, 1 passed" in result.stdout, result.stdout


class TestLightImports:
    """The plugin loads in every pytest run: it needs neither Hypothesis nor torch."""

    def run(self, code: str) -> subprocess.CompletedProcess[str]:
        """Python code run in a fresh process."""
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
        )  # fmt: skip

    def test_plugin_imports_without_hypothesis(self) -> None:
        """Importing the plugin imports neither hypothesis nor torch."""
        result = self.run(
            """
            import sys
            import ptycho_config.testing_plugin
            print(sorted(m for m in ("hypothesis", "torch") if m in sys.modules))
            """
        )
        assert "[]" == result.stdout.strip(), result.stderr

    def test_missing_hypothesis_gives_an_install_hint(self) -> None:
        """Without Hypothesis, importing the strategies says what to install."""
        result = self.run(
            """
            import sys
            sys.modules["hypothesis"] = None
            try:
                import ptycho_config.testing
            except ImportError as error:
                print(error)
            """
        )
        assert "pip install 'ptycho-config[testing]'" in result.stdout, result.stderr
