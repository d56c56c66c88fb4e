"""A whole run from the environment: paths are keys like any other, and `check` runs the run.

The paths of a run (data files, output folder, model directory) come from any source; the
factories' path arguments and the command line's path flags are the highest source. `check`
applies exactly the rules `train` and `infer` apply.
"""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptycho_config import (
    ConfigFileNotFoundError,
    MissingValueError,
    PtychoConfigError,
    create_inference_payload,
    create_training_payload,
    save_snapshot,
)
from ptycho_config.__main__ import EXIT_OK, main
from ptycho_config._factories.factories import PATH_FLAGS, RUN_PATHS
from ptycho_config._schemas.registry import Match, lookup_env
from ptycho_config.testing import environments
from tests.conftest import make_model_dir, write_npz


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A training file, a test file and a model directory."""
    return {
        "train": write_npz(tmp_path / "train.npz"),
        "test": write_npz(tmp_path / "test.npz"),
        "model": make_model_dir(tmp_path / "model"),
    }


class TestPathsFromAnySource:
    """Paths come from the environment, a config file, ..., with their provenance."""

    def test_training_from_the_environment_alone(self, files: dict[str, Path]) -> None:
        """The issue's container: three variables and no argument at all."""
        environ = {
            "PTYCHO_TRAIN_DATA_FILE": str(files["train"]),
            "PTYCHO_OUTPUT_DIR": "out",
            "PTYCHO_N_GROUPS": "256",
        }
        payload = create_training_payload(environ=environ)
        assert payload.training_config.train_data_file == files["train"]
        assert payload.training_config.output_dir == Path("out")
        source = payload.provenance["training.train_data_file"]
        assert (source.kind, source.detail) == ("env", "PTYCHO_TRAIN_DATA_FILE")

    def test_inference_from_a_config_file(self, files: dict[str, Path], tmp_path: Path) -> None:
        """A config file gives the model, the test data and the output folder."""
        config = tmp_path / "run.yaml"
        config.write_text(
            f"inference:\n  model_path: {files['model']}\n  test_data_file: {files['test']}\n"
            "  output_dir: rec\n  n_groups: 8\n",
            encoding="utf-8",
        )
        payload = create_inference_payload(config_file=config, environ={})
        assert payload.inference_config.model_path == files["model"]
        assert payload.provenance["inference.output_dir"].kind == "file"

    def test_a_relative_path_in_a_config_file_is_relative_to_the_run(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A config file elsewhere naming data/train.npz means the run's data/train.npz."""
        (tmp_path / "run" / "data").mkdir(parents=True)
        (tmp_path / "configs" / "data").mkdir(parents=True)
        write_npz(tmp_path / "run" / "data" / "train.npz")
        config = tmp_path / "configs" / "run.yaml"
        config.write_text(
            "training:\n  train_data_file: data/train.npz\n  output_dir: out\n  n_groups: 4\n",
            encoding="utf-8",
        )
        monkeypatch.chdir(tmp_path / "run")
        payload = create_training_payload(config_file=config, environ={})
        assert payload.training_config.train_data_file == Path("data/train.npz")
        monkeypatch.chdir(tmp_path / "configs")  # beside the file, no data: not found
        with pytest.raises(ConfigFileNotFoundError, match=r"data/train\.npz"):
            create_training_payload(config_file=config, environ={})

    def test_argument_beats_the_environment(self, files: dict[str, Path], tmp_path: Path) -> None:
        """A path argument is the highest source; None leaves the key to the others."""
        other = write_npz(tmp_path / "other.npz")
        environ = {"PTYCHO_TRAIN_DATA_FILE": str(other), "PTYCHO_OUTPUT_DIR": "env_out"}
        payload = create_training_payload(files["train"], None, {"n_groups": 4}, environ=environ)
        assert payload.training_config.train_data_file == files["train"]
        assert payload.provenance["training.train_data_file"].kind == "override"
        assert payload.training_config.output_dir == Path("env_out")

    def test_no_source_is_one_error_naming_every_way(self) -> None:
        """Every missing path is listed, each with its argument, flag and variables."""
        with pytest.raises(MissingValueError) as caught:
            create_inference_payload(None, None, "out", {"n_groups": 4}, environ={})
        text = str(caught.value)
        assert {p.key for p in caught.value.problems} == {
            "inference.model_path",
            "inference.test_data_file",
        }
        for way in ("model_path=...", "--model-path", "PTYCHO_MODEL_PATH", "config file"):
            assert way in text

    @pytest.mark.parametrize("bad", [123, b"train.npz", object(), ""])
    def test_wrong_type_is_the_library_error(self, bad: Any) -> None:
        """A path argument of the wrong type (or empty) names the key, not pathlib."""
        with pytest.raises(PtychoConfigError) as caught:
            create_training_payload(bad, "out", {"n_groups": 4}, environ={})
        assert caught.value.problems[0].key == "training.train_data_file"

    def test_argument_and_override_disagree(self, files: dict[str, Path]) -> None:
        """The same path as an argument and as an override, differently, is a conflict."""
        with pytest.raises(PtychoConfigError, match="give it once"):
            create_training_payload(
                files["train"], "out", {"n_groups": 4, "train_data_file": "x.npz"}, environ={}
            )


class TestCommandLine:
    """train and infer need no path flag when the sources give the paths."""

    def test_train_without_flags(
        self, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: Any
    ) -> None:
        """The environment alone: exit 0, and the table names the variable."""
        monkeypatch.setenv("PTYCHO_TRAIN_DATA_FILE", str(files["train"]))
        monkeypatch.setenv("PTYCHO_OUTPUT_DIR", "out")
        monkeypatch.setenv("PTYCHO_N_GROUPS", "256")
        assert EXIT_OK == main(["train"])
        assert "PTYCHO_TRAIN_DATA_FILE" in capsys.readouterr().out

    def test_empty_flag_is_an_error(self, files: dict[str, Path], capsys: Any) -> None:
        """--output-dir '' is an invalid path, not an absent flag."""
        argv = ["train", "--train-data", str(files["train"]), "--output-dir", ""]
        assert 3 == main([*argv, "--set", "n_groups=4"])
        assert "training.output_dir" in capsys.readouterr().err

    def test_config_file_variable(
        self, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """PTYCHO_CONFIG_FILE names the config file; --config beats it."""
        good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
        text = f"train_data_file: {files['train']}\noutput_dir: o\nn_groups: 4\n"
        good.write_text(text, encoding="utf-8")
        bad.write_text("n_groups: 0\n", encoding="utf-8")
        monkeypatch.setenv("PTYCHO_CONFIG_FILE", str(good))
        assert EXIT_OK == main(["train", "--format", "json"])
        monkeypatch.setenv("PTYCHO_CONFIG_FILE", str(bad))
        assert EXIT_OK == main(["train", "--config", str(good), "--format", "json"])

    @pytest.mark.parametrize(
        ("variable", "switch"),
        [
            ("PTYCHO_CONFIG", "PTYCHO_CONFIG_FILE"),
            ("PTYCHO_ENVFILE", "PTYCHO_ENV_FILE"),
            ("PTYCHO_SECRETS", "PTYCHO_SECRETS_DIR"),
        ],
    )
    def test_near_miss_of_a_switch_is_an_error(
        self, variable: str, switch: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
    ) -> None:
        """A switch cut short or run together would drop a source: an error naming it."""
        monkeypatch.setenv("PTYCHO_N_GROUPS", "4")
        monkeypatch.setenv(variable, "x")
        assert 3 == main(["check"])
        assert f"did you mean '{switch}'" in capsys.readouterr().err

    def test_sectioned_alias_reaches_inference(
        self, monkeypatch: pytest.MonkeyPatch, capsys: Any
    ) -> None:
        """PTYCHO_TRAINING__EPOCHS is a training key, not a typo, for an inference check."""
        monkeypatch.setenv("PTYCHO_TRAINING__EPOCHS", "5")
        monkeypatch.setenv("PTYCHO_N_GROUPS", "4")
        assert EXIT_OK == main(["check"]), capsys.readouterr().err


class TestCheckIsTheRun:
    """check applies the run's rules: n_groups, the files given, the model."""

    def test_n_groups_required(self, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
        """A valid batch size alone is no runnable configuration."""
        monkeypatch.setenv("PTYCHO_BATCH_SIZE", "32")
        assert 3 == main(["check"])
        error = capsys.readouterr().err
        assert "n_groups is required" in error
        assert "--set n_groups=... on the command line" in error  # as the paths name their flags

    def test_data_file_checked(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
    ) -> None:
        """A training file given by the environment that is no NPZ fails the check."""
        junk = tmp_path / "junk.npz"
        junk.write_text("not a zip", encoding="utf-8")
        monkeypatch.setenv("PTYCHO_TRAIN_DATA_FILE", str(junk))
        monkeypatch.setenv("PTYCHO_OUTPUT_DIR", "out")
        monkeypatch.setenv("PTYCHO_N_GROUPS", "4")
        for check in (["check", "train"], ["check"]):  # bare check: every path that is given
            assert EXIT_OK != main(check)
            assert "junk.npz" in capsys.readouterr().err

    @pytest.mark.parametrize("run", ["train", "infer"])
    def test_named_run_needs_its_paths(
        self, run: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
    ) -> None:
        """`check train` with a path no source gives fails as `train` does, with the same
        message naming every way to give it; bare `check` checks only the paths given."""
        monkeypatch.setenv("PTYCHO_N_GROUPS", "4")
        assert 3 == main([run])
        expected = capsys.readouterr().err
        assert "--output-dir" in expected
        assert "PTYCHO_OUTPUT_DIR" in expected
        assert 3 == main(["check", run])
        assert expected == capsys.readouterr().err
        assert EXIT_OK == main(["check"])

    @pytest.mark.parametrize("run", [["train"], ["infer"], []])
    def test_torchrun_launch_checked(
        self,
        run: list[str],
        files: dict[str, Path],
        monkeypatch: pytest.MonkeyPatch,
        capsys: Any,
    ) -> None:
        """devices contradicting torchrun's processes per node fails check as it fails the run."""
        for name, value in {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0"}.items():
            monkeypatch.setenv(name, value)
        paths = {"TRAIN_DATA_FILE": "train", "TEST_DATA_FILE": "test", "MODEL_PATH": "model"}
        for name, file in paths.items():
            monkeypatch.setenv(f"PTYCHO_{name}", str(files[file]))
        monkeypatch.setenv("PTYCHO_OUTPUT_DIR", "out")
        monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
        monkeypatch.setenv("PTYCHO_N_GROUPS", "4")
        monkeypatch.setenv("PTYCHO_DEVICES", "3")
        assert 3 == main(["check", *run])
        assert "LOCAL_WORLD_SIZE=2" in capsys.readouterr().err
        monkeypatch.setenv("PTYCHO_DEVICES", "2")
        assert EXIT_OK == main(["check", *run]), capsys.readouterr().err

    def test_named_run_takes_the_run_arguments(self, files: dict[str, Path], capsys: Any) -> None:
        """`check train|infer` takes the run's own path flags, --set and --example, so a run
        configured by flags is checked as it runs; options before the run name count too."""
        train = ["--train-data", str(files["train"]), "--output-dir", "out"]
        infer = ["--model-path", str(files["model"]), "--test-data", str(files["test"])]
        infer += ["--output-dir", "out"]
        assert EXIT_OK == main(["check", "train", *train, "--set", "n_groups=4"])
        assert "configuration ok (training)" in capsys.readouterr().out
        assert EXIT_OK == main(["check", "infer", *infer, "--set", "n_groups=4"])
        assert 3 == main(["check", "train", *train])  # n_groups: as train says
        assert "n_groups is required" in capsys.readouterr().err
        assert EXIT_OK == main(["check", "--set", "n_groups=4", "--quiet", "train", *train])
        assert "" == capsys.readouterr().out
        assert EXIT_OK == main(
            ["check", "--set", "nepochs=2", "train", *train, "--set", "n_groups=4"]
        )
        assert EXIT_OK == main(["check", "train", "--example"])
        assert EXIT_OK == main(["check", "infer", "--example"])

    @pytest.mark.parametrize(
        "argv",
        [
            ["check", "train", "--model-path", "m"],  # a flag of the other run
            ["check", "--train-data", "t"],  # bare check: the runs' paths differ
            ["check", "train", "--format", "json"],  # output options change no configuration
        ],
    )
    def test_flags_the_run_does_not_take(self, argv: list[str], capsys: Any) -> None:
        """A flag that is not the named run's (or any path flag on bare check) is a usage
        error, never ignored."""
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert 2 == stopped.value.code
        assert "error:" in capsys.readouterr().err

    def test_summary_counts_configuration_variables(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
    ) -> None:
        """check's summary counts the variables that configure, and names the switches set
        apart: a switch says where to read, it is no configuration value."""
        config = tmp_path / "c.yaml"
        config.write_text("training:\n  nepochs: 3\n", encoding="utf-8")
        monkeypatch.setenv("PTYCHO_N_GROUPS", "4")
        monkeypatch.setenv("PTYCHO_CONFIG_FILE", str(config))
        monkeypatch.setenv("ptycho_profile", "ci")
        assert EXIT_OK == main(["check"]), capsys.readouterr().err
        lines = capsys.readouterr().out.splitlines()
        expected = (
            "  environment: 1 PTYCHO_* variable; switches: PTYCHO_CONFIG_FILE, ptycho_profile"
        )
        assert expected in lines
        monkeypatch.delenv("PTYCHO_N_GROUPS")
        assert EXIT_OK == main(["check", "--set", "n_groups=4"])
        assert (
            "  environment: 0 PTYCHO_* variables; switches: PTYCHO_CONFIG_FILE, ptycho_profile"
            in (capsys.readouterr().out.splitlines())
        )
        # a variable the reference's runtime reads is neither configuration nor a switch
        monkeypatch.delenv("PTYCHO_CONFIG_FILE")
        monkeypatch.setenv("PTYCHO_TORCH_SEED", "7")
        assert EXIT_OK == main(["check", "--set", "n_groups=4"])
        assert (
            "  environment: 0 PTYCHO_* variables; switches: ptycho_profile; "
            "runtime variables: PTYCHO_TORCH_SEED" in (capsys.readouterr().out.splitlines())
        )

    def test_bare_check_takes_set_for_both_runs(self, capsys: Any) -> None:
        """Bare `check --set` applies to both runs: a shared key checks both; a key of one run
        is an error for the other, which names it."""
        assert 3 == main(["check"])
        assert EXIT_OK == main(["check", "--set", "n_groups=4"]), capsys.readouterr().err
        assert 3 == main(["check", "--set", "n_groups=4", "--set", "nepochs=2"])
        assert "nepochs" in capsys.readouterr().err


@pytest.fixture(scope="module")
def run_files() -> Iterator[dict[str, Path]]:
    """Files shared by every Hypothesis example (function-scoped fixtures are not reset)."""
    folder = Path(tempfile.mkdtemp())
    try:
        yield {
            "train_data_file": write_npz(folder / "train.npz"),
            "test_data_file": write_npz(folder / "test.npz"),
            "model_path": make_model_dir(folder / "model"),
            "output_dir": folder / "out",
        }
    finally:
        shutil.rmtree(folder)


def _outcome(action: Any) -> bool:
    """Whether ``action`` succeeds; warnings (an N that contradicts the data) are no failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            action()
        except PtychoConfigError:
            return False
    return True


def _path_variables(kind: Any, files: dict[str, Path]) -> dict[str, str]:
    """The run's paths as sectioned variables, naming the shared files."""
    names = ("train_data_file", "output_dir") if kind == "training" else tuple(files)[1:]
    return {f"PTYCHO_{kind.upper()}__{n.upper()}": str(files[n]) for n in names}


FACTORIES: dict[str, Any] = {
    "training": create_training_payload,
    "inference": create_inference_payload,
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["training", "inference"]),
    data=st.data(),
    with_paths=st.booleans(),
    with_n_groups=st.booleans(),
)
def test_check_succeeds_exactly_when_the_factory_does(
    run_files: dict[str, Path], kind: Any, data: Any, with_paths: bool, with_n_groups: bool
) -> None:
    """For any environment drawn by the kit, `check train|infer` agrees with the factory it
    stands for, with the run's paths or without them; bare `check` without paths checks only
    the paths given, so it is never stricter than both runs with their paths."""
    drawn = data.draw(environments(kind))
    environ = {
        name: text
        for name, text in drawn.items()
        if not _is_path(name, kind) and not ("N_GROUPS" in name.upper() and not with_n_groups)
    }
    given = environ | _path_variables(kind, run_files) if with_paths else environ
    ran = _outcome(lambda: FACTORIES[kind](environ=given))
    with mock.patch.dict(os.environ, given):
        run = ["check", "train" if kind == "training" else "infer", "--quiet"]
        assert ran == _outcome(lambda: main(run) == EXIT_OK or _fail())
        bare = _outcome(lambda: main(["check", "--quiet"]) == EXIT_OK or _fail())
    if not with_paths:
        both = all(
            _outcome(functools.partial(factory, environ=environ | _path_variables(name, run_files)))
            for name, factory in FACTORIES.items()
        )
        assert bare or not both


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["training", "inference"]),
    data=st.data(),
    paths=st.sampled_from(["flags", "set", "missing file", "none"]),
    with_n_groups=st.booleans(),
)
def test_check_run_succeeds_exactly_when_the_run_does(
    run_files: dict[str, Path], kind: Any, data: Any, paths: str, with_n_groups: bool
) -> None:
    """For any arguments drawn (the kit's values as --set, the paths as flags, as --set, a
    missing file or none), `check train|infer ARGS` exits as `train|infer ARGS` does."""
    assignments = [
        f"{found.key.qualified}={text}"
        for name, text in data.draw(environments(kind)).items()
        if isinstance(found := lookup_env(name, kind), Match)
        and found.key.name not in PATH_NAMES
        and (with_n_groups or found.key.name != "n_groups")
    ]
    files = {n: str(run_files[n]) for n in RUN_PATHS[kind]}
    if paths == "missing file":
        files[RUN_PATHS[kind][0]] = str(run_files["output_dir"] / "nothing-here")
    argv = [f"--set={a}" for a in assignments]
    if paths == "set":
        argv += [f"--set={kind}.{name}={path}" for name, path in files.items()]
    elif paths != "none":
        argv += [f"{PATH_FLAGS[name]}={path}" for name, path in files.items()]
    command = "train" if kind == "training" else "infer"
    # warnings (an N that contradicts the data) are no failure: pytest makes them errors
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ran = main([command, *argv, "--format", "config"])
        checked = main(["check", command, *argv])
    assert ran == checked


def _fail() -> None:
    raise PtychoConfigError("check failed")


PATH_NAMES = ("train_data_file", "test_data_file", "model_path", "output_dir")


def _is_path(variable: str, kind: Any) -> bool:
    found = lookup_env(variable, kind)
    return isinstance(found, Match) and found.key.name in PATH_NAMES


class TestSmallThings:
    """What a new user hit: a view of the changes, and suggestions that know the aliases."""

    def test_changed_only(self, files: dict[str, Path], capsys: Any) -> None:
        """explain(changed_only=True) and --changed list exactly the keys not from defaults."""
        payload = create_training_payload(files["train"], "out", {"n_groups": 4}, environ={})
        rows = payload.explain(changed_only=True).splitlines()[1:]
        expected = {key for key, src in payload.provenance.items() if src.kind != "default"}
        assert expected == {row.split()[0] for row in rows}
        assert len(payload.explain().splitlines()) > 100 > len(rows)
        argv = ["train", "--train-data", str(files["train"]), "--output-dir", "out"]
        assert EXIT_OK == main([*argv, "--set", "n_groups=4", "--changed"])
        table = capsys.readouterr().out.split("\n\n")[0].splitlines()[1:]
        assert expected == {row.split()[0] for row in table}

    @pytest.mark.parametrize(
        ("given", "first"),
        [({"lr": 0.1}, "learning_rate"), ({"training.nepoch": 3}, "training.nepochs")],
    )
    def test_suggestions(self, given: dict[str, Any], first: str) -> None:
        """Initials name a field; a misspelt field is compared within its section."""
        from ptycho_config import UnknownKeyError, resolve_training

        with pytest.raises(UnknownKeyError) as caught:
            resolve_training(given, environ={})
        assert (first,) == caught.value.problems[0].suggestions

    def test_lr_variable(self, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
        """PTYCHO_LR is taken for the learning rate: an error that names it, not a warning."""
        monkeypatch.setenv("PTYCHO_LR", "0.1")
        monkeypatch.setenv("PTYCHO_N_GROUPS", "4")
        assert 3 == main(["check"])
        assert "PTYCHO_EXECUTION__LEARNING_RATE" in capsys.readouterr().err


HIDDEN = "hidden-7f3a"


@pytest.mark.parametrize(
    ("kind", "variable", "bad"),
    [
        ("training", "PTYCHO_TRAIN_DATA_FILE", "missing"),
        ("training", "PTYCHO_TRAIN_DATA_FILE", "directory"),
        ("training", "PTYCHO_TRAIN_DATA_FILE", "no npz"),
        ("inference", "PTYCHO_MODEL_PATH", "missing"),
        ("inference", "PTYCHO_MODEL_PATH", "directory"),
        ("inference", "PTYCHO_MODEL_PATH", "no npz"),
        ("inference", "PTYCHO_MODEL_PATH", "corrupt snapshot"),
        ("inference", "PTYCHO_TEST_DATA_FILE", "no npz"),
    ],
)
def test_a_path_from_a_secret_never_shows_in_an_error(
    files: dict[str, Path], tmp_path: Path, kind: str, variable: str, bad: str
) -> None:
    """A secret's content never appears in an error message, whichever rule it breaks: a
    path given by a secrets directory that names no usable file is masked as any secret is."""
    path = tmp_path / HIDDEN
    if bad == "directory":
        path.mkdir()  # no data file; a model directory without its archive
    elif bad == "no npz":
        path.write_text("x", encoding="utf-8")
    elif bad == "corrupt snapshot":
        make_model_dir(path)
        (path / "ptycho_config.json").write_text("{", encoding="utf-8")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / variable).write_text(str(path), encoding="utf-8")
    given = {"n_groups": 8, "output_dir": tmp_path / "out"}
    given |= {"test_data_file": files["test"], "model_path": files["model"]}
    given = {k: v for k, v in given.items() if k.upper() not in variable}
    factory = create_training_payload if kind == "training" else create_inference_payload
    if kind == "training":
        given.pop("test_data_file")
        given.pop("model_path")
    with pytest.raises(PtychoConfigError) as caught:
        factory(overrides=given, secrets_dir=secrets, environ={})
    shown = [str(caught.value)] + [str(problem) for problem in caught.value.problems]
    assert not [text for text in shown if HIDDEN in text]


def test_a_model_from_a_secret_never_shows_in_a_conflict(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """The trained model's values are described by where they were read: a model directory
    that a secret names is not shown when an explicit value contradicts them."""
    model = make_model_dir(tmp_path / HIDDEN)
    trained = create_training_payload(files["train"], "out", {"n_groups": 8}, environ={})
    save_snapshot(trained, model)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "PTYCHO_MODEL_PATH").write_text(str(model), encoding="utf-8")
    given = {"n_groups": 8, "output_dir": "out", "test_data_file": files["test"], "N": 128}
    with pytest.raises(PtychoConfigError) as caught:
        create_inference_payload(overrides=given, secrets_dir=secrets, environ={})
    assert "trained model" in str(caught.value)
    shown = [str(caught.value)] + [str(problem) for problem in caught.value.problems]
    assert not [text for text in shown if HIDDEN in text]


def test_a_data_file_from_a_secret_never_shows_in_a_conflict(tmp_path: Path) -> None:
    """strict: an N the data contradicts names the data file by name, which a secret hides."""
    data = write_npz(tmp_path / f"{HIDDEN}.npz")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "PTYCHO_TRAIN_DATA_FILE").write_text(str(data), encoding="utf-8")
    given = {"n_groups": 8, "output_dir": "out", "N": 128}
    with pytest.raises(PtychoConfigError) as caught:
        create_training_payload(overrides=given, secrets_dir=secrets, environ={}, strict=True)
    assert "contradicts probeGuess in" in str(caught.value)
    shown = [str(caught.value)] + [str(problem) for problem in caught.value.problems]
    assert not [text for text in shown if HIDDEN in text]


def test_a_root_path_from_a_secret_masks_only_itself(tmp_path: Path) -> None:
    """A secret '/' (whose name is empty) is masked where it shows, and nowhere else."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "PTYCHO_TRAIN_DATA_FILE").write_text("/", encoding="utf-8")
    with pytest.raises(PtychoConfigError) as caught:
        create_training_payload(overrides={"n_groups": 8, "output_dir": "out"},
                                secrets_dir=secrets, environ={})  # fmt: skip
    assert "cannot read training data file <secret>: it is a directory" in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "name", "bad", "where"),
    [
        ("training", "train_data_file", "missing", "env"),
        ("training", "train_data_file", "no npz", "dotenv"),
        ("inference", "model_path", "directory", "file"),
        ("inference", "model_path", "corrupt snapshot", "env"),
        ("inference", "test_data_file", "directory", "file"),
    ],
)
def test_a_file_error_names_the_source_of_its_path(
    files: dict[str, Path], tmp_path: Path, kind: str, name: str, bad: str, where: str
) -> None:
    """Paths come from any source, so the error of a missing or unusable file says which
    source gave its path: that is where to fix it."""
    path = tmp_path / "bad"
    if bad == "directory":
        path.mkdir()
    elif bad == "no npz":
        path.write_text("x", encoding="utf-8")
    elif bad == "corrupt snapshot":
        make_model_dir(path)
        (path / "ptycho_config.json").write_text("{", encoding="utf-8")
    variable = f"PTYCHO_{kind.upper()}__{name.upper()}"
    environ: dict[str, str] = {}
    if where == "env":
        environ[variable] = str(path)
    elif where == "dotenv":
        (tmp_path / "run.env").write_text(f"{variable}={path}\n", encoding="utf-8")
        environ["PTYCHO_ENV_FILE"] = str(tmp_path / "run.env")
    else:
        (tmp_path / "c.json").write_text(json.dumps({kind: {name: str(path)}}), "utf-8")
        environ["PTYCHO_CONFIG_FILE"] = str(tmp_path / "c.json")
    given: dict[str, Any] = {"n_groups": 8, "output_dir": "out"}
    if kind == "inference":
        given |= {"test_data_file": files["test"], "model_path": files["model"]}
    given.pop(name, None)
    factory = create_training_payload if kind == "training" else create_inference_payload
    with pytest.raises(PtychoConfigError) as caught:
        factory(overrides=given, environ=environ)
    assert f"{kind}.{name} is from {where} " in str(caught.value)
