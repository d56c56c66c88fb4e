"""The command line: subcommands, output formats, exit codes and the bundled example."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from ptycho_config import load_snapshot
from ptycho_config.__main__ import EXIT_OK, main
from ptycho_config._factories.example import EXAMPLE_DIR
from tests._example import write_example
from tests._processes import same_code


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fingerprint_of(table: str) -> str:
    return next(line for line in table.splitlines() if line.startswith("fingerprint"))


class TestTrainAndInfer:
    """train and infer resolve payloads and print them in every format."""

    def test_example_table(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The example resolves, and the table names each key's source."""
        code, out, _ = run(capsys, "train", "--example")
        assert code == EXIT_OK
        row = next(line for line in out.splitlines() if line.startswith("training.n_groups"))
        assert row.split()[1:3] == ["64", "file"]
        assert fingerprint_of(out).startswith("fingerprint sha256:")

    def test_example_is_stable(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Repeated runs give the same fingerprint."""
        first = fingerprint_of(run(capsys, "train", "--example")[1])
        assert fingerprint_of(run(capsys, "train", "--example")[1]) == first

    def test_json_and_yaml_carry_configs_and_provenance(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """json and yaml are config documents: the sections at the top level, and what the run
        records (provenance, audit trail, fingerprint) under 'metadata'; they agree."""
        as_json = json.loads(run(capsys, "infer", "--example", "--format", "json")[1])
        as_yaml = yaml.safe_load(run(capsys, "infer", "--example", "--format", "yaml")[1])
        assert as_json == as_yaml
        assert {"inference", "execution", "metadata"} == set(as_json)
        assert as_json["inference"]["model"]["N"] == 64
        metadata = as_json["metadata"]
        assert metadata["provenance"]["model.gridsize"]["kind"] == "checkpoint"
        assert metadata["fingerprint"].startswith("sha256:")
        assert (2, "inference") == (metadata["schema_version"], metadata["kind"])
        assert "example_outputs/inference" == metadata["overrides_applied"]["output_dir"]

    def test_changed_json_holds_only_the_changes(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--changed keeps, in json as in the table, the values not from the defaults, in the
        sections and the provenance."""
        full = json.loads(run(capsys, "train", "--example", "--format", "json")[1])
        document = json.loads(run(capsys, "train", "--example", "--format", "json", "--changed")[1])
        assert {"seed": 7, "accelerator": "cpu"} == document["execution"]
        assert "batch_size" in document["training"]
        assert "torch" not in document["training"]
        changed = {k for k, v in full["metadata"]["provenance"].items() if v["kind"] != "default"}
        assert changed == set(document["metadata"]["provenance"])
        assert full["metadata"]["fingerprint"] == document["metadata"]["fingerprint"]

    @pytest.mark.parametrize("form", ["env", "legacy"])
    def test_changed_with_a_format_it_does_not_apply_to(
        self, capsys: pytest.CaptureFixture[str], form: str
    ) -> None:
        """--changed is never ignored: with env or legacy it is a usage error naming where it
        works."""
        with pytest.raises(SystemExit) as done:
            main(["train", "--example", "--format", form, "--changed"])
        assert 2 == done.value.code
        err = capsys.readouterr().err
        assert f"--changed does not apply to --format {form}" in err
        assert "table, config, json or yaml" in err

    def test_legacy_format(self, capsys: pytest.CaptureFixture[str]) -> None:
        """legacy prints the legacy dict with its dotted keys."""
        legacy = json.loads(run(capsys, "train", "--example", "--format", "legacy")[1])
        assert legacy["probe.big"] is True
        assert legacy["output_prefix"] == "example_outputs/training"

    def test_set_overrides(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--set overrides a key, and 'none' clears an optional one."""
        out = run(
            capsys, "train", "--example", "--set", "batch_size=32", "--set", "seed=none",
            "--set", "logger_backend=none", "--format", "json",
        )[1]  # fmt: skip
        document = json.loads(out)
        assert document["training"]["batch_size"] == 32
        assert document["execution"]["seed"] is None  # the example's file says 7
        assert document["execution"]["logger_backend"] is None  # the default is 'csv'
        assert document["metadata"]["provenance"]["execution.seed"]["kind"] == "override"

    def test_set_twice_with_different_values(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A key set twice with different values is an error, not last-one-wins."""
        code, _, err = run(capsys, "train", "--example", "--set", "nepochs=3", "--set", "nepochs=4")
        assert code == 3
        assert "'3' and '4'" in err

    def test_invalid_configuration_exit_code(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Every problem is listed with its key, value and source, and the exit code is 3."""
        code, _, err = run(
            capsys, "train", "--example", "--set", "batch_size=12", "--set", "nepocs=3"
        )
        assert code == 3
        assert "training.batch_size = '12' (from override batch_size)" in err
        assert "did you mean 'nepochs'" in err

    def test_missing_file_exit_code(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A missing data file exits with 4 and names the file."""
        missing = tmp_path / "nope.npz"
        code, _, err = run(
            capsys, "train", "--train-data", str(missing), "--output-dir", "o",
            "--set", "n_groups=1",
        )  # fmt: skip
        assert code == 4
        assert str(missing) in err

    def test_missing_model_archive_exit_code(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A model directory without wts.h5.zip is a missing file for the command line."""
        code, _, err = run(
            capsys, "infer", "--model-path", str(tmp_path), "--test-data", "t.npz",
            "--output-dir", "o",
        )  # fmt: skip
        assert code == 4
        assert "Model archive not found" in err

    @pytest.mark.parametrize(
        "argv",
        [["train", "--bogus"], ["train", "--set", "novalue"], []],
    )
    def test_usage_errors(self, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
        """Bad arguments exit with 2."""
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 2
        capsys.readouterr()


def _subprocess(
    cwd: Path, *argv: str, stdout: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The console entry point in a fresh interpreter, with a clean PTYCHO_-free environment.

    ``stdout`` names a file to write the output to (e.g. /dev/full); by default it is captured.
    """
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("PTYCHO_")}
    environ["PYTHONPATH"] = os.pathsep.join([*(env or {}).pop("PYTHONPATH", "").split(os.pathsep),
                                             str(ROOT)]).strip(os.pathsep)  # fmt: skip
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(stdout, "w")) if stdout else subprocess.PIPE
        return subprocess.run(
            [sys.executable, "-m", "ptycho_config", *argv], cwd=cwd, stdout=out,
            stderr=subprocess.PIPE, text=True, timeout=120, check=False,
            env={**environ, **(env or {})},
        )  # fmt: skip


def _fake_torch(folder: Path, body: str) -> dict[str, str]:
    """An environment whose `import torch` runs ``body`` (a missing or a broken install)."""
    (folder / "torch").mkdir()
    (folder / "torch" / "__init__.py").write_text(body, encoding="utf-8")
    return {"PYTHONPATH": str(folder)}


ROOT = Path(__file__).resolve().parents[1]
PYTORCH_AUTO = ("train", "--example", "--set", "backend=pytorch", "--set", "accelerator=auto")


class TestNoTraceback:
    """Every failure ends in one message and its documented exit code, never a traceback."""

    @pytest.mark.parametrize("argv", [("schema",), ("train", "--set", "x")])
    def test_stdout_closed(self, tmp_path: Path, argv: tuple[str, ...]) -> None:
        """With no stdout at all (``>&-``) the output or usage error ends in an exit code,
        not a traceback."""
        command = " ".join([shlex.quote(sys.executable), "-m", "ptycho_config", *argv])
        environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("PTYCHO_")}
        environ["PYTHONPATH"] = str(ROOT)
        result = subprocess.run(
            ["sh", "-c", f"exec {command} >&-"], cwd=tmp_path, capture_output=True,
            text=True, timeout=120, check=False, env=environ,
        )  # fmt: skip
        assert "Traceback" not in result.stderr
        assert result.returncode in (2, 6)

    @pytest.mark.parametrize(
        ("case", "code"),
        [
            ("example_into_a_file", 6),
            ("example_under_a_file", 6),
            ("example_on_a_read_only_file_system", 6),
            ("pytorch_without_torch", 7),
            ("pytorch_with_broken_torch", 7),
            ("stdout_full", 6),
            ("help_into_a_full_stdout", 6),
            ("data_is_a_directory", 5),
            ("data_is_a_fifo", 5),
            ("data_is_no_npz", 5),
            ("config_is_dev_zero", 5),
            ("duplicate_key", 3),
        ],
    )
    def test_failure(self, tmp_path: Path, case: str, code: int) -> None:
        """The failure exits with its documented code and prints no Traceback."""
        (tmp_path / "file.txt").write_text("x", encoding="utf-8")
        data = tmp_path / "data.npz"
        train = ("train", "--train-data", str(data), "--output-dir", "o", "--set", "n_groups=1")
        missing_torch = "raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')"
        broken_torch = "raise OSError('libtorch_cpu.so: cannot open shared object file')"
        stdout: str | None = None
        env: dict[str, str] = {}
        if case == "example_into_a_file":
            argv: tuple[str, ...] = ("example", str(tmp_path / "file.txt"))
        elif case == "example_under_a_file":
            argv = ("example", str(tmp_path / "file.txt" / "example"))
        elif case == "example_on_a_read_only_file_system":
            argv = ("example", "/proc/ptycho-config-example")
        elif case in ("pytorch_without_torch", "pytorch_with_broken_torch"):
            body = missing_torch if case == "pytorch_without_torch" else broken_torch
            argv, env = PYTORCH_AUTO, _fake_torch(tmp_path, body)
        elif case == "stdout_full":
            argv, stdout = ("train", "--example"), "/dev/full"
        elif case == "help_into_a_full_stdout":
            argv, stdout = ("train", "--help"), "/dev/full"
        elif case == "data_is_a_directory":
            data.mkdir()
            argv = train
        elif case == "data_is_a_fifo":
            os.mkfifo(data)
            argv = train
        elif case == "data_is_no_npz":
            data.write_bytes(b"not a zip archive")
            argv = train
        elif case == "config_is_dev_zero":
            (tmp_path / "c.yaml").symlink_to("/dev/zero")
            argv = ("train", "--example", "--config", str(tmp_path / "c.yaml"))
        else:
            (tmp_path / "c.json").write_text('{"nepochs": 2, "nepochs": 3}', encoding="utf-8")
            argv = ("train", "--example", "--config", str(tmp_path / "c.json"))
        result = _subprocess(tmp_path, *argv, stdout=stdout, env=env)
        assert "Traceback" not in result.stderr
        assert 1 == result.stderr.count("ptycho-config: "), result.stderr
        assert code == result.returncode, result.stderr
        assert result.stderr.startswith("ptycho-config: ")

    def test_tensorflow_backend_ignores_a_broken_torch(self, tmp_path: Path) -> None:
        """With the TensorFlow backend a torch that fails to import is never imported."""
        env = _fake_torch(tmp_path, "raise OSError('libtorch_cpu.so: cannot open')")
        result = _subprocess(tmp_path, "train", "--example", "--set", "accelerator=auto", env=env)
        assert (EXIT_OK, "") == (result.returncode, result.stderr)

    def test_non_utf8_stdout_with_a_non_ascii_path(self, tmp_path: Path) -> None:
        """An ASCII-only stdout gets the non-ASCII path escaped, not an encoding error."""
        env = {"PYTHONIOENCODING": "ascii:strict"}
        result = _subprocess(tmp_path, "train", "--example", "--output-dir", "données", env=env)
        assert (EXIT_OK, "") == (result.returncode, result.stderr)
        assert "donn\\xe9es" in result.stdout

    def test_unreadable_model_directory(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A model directory the user may not read: 'permission denied' and exit 5."""
        model = tmp_path / "model"
        write_example(tmp_path)
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, m: Path(p) != model and real_access(p, m))
        code, _, err = run(
            capsys, "infer", "--model-path", str(model), "--test-data",
            str(tmp_path / "test_data.npz"), "--output-dir", "o",
        )  # fmt: skip
        assert (5, f"cannot read model directory {model}: permission denied") == (
            code, err.strip().removeprefix("ptycho-config: "),
        )  # fmt: skip

    def test_unreadable_data_file(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A data file the user may not read: a message naming it, exit 5, no PermissionError."""
        data = tmp_path / "d.npz"
        np.savez(data, probeGuess=np.ones((64, 64)))
        real_open = os.open

        def refusing(path: Any, *args: Any, **kwargs: Any) -> int:
            if Path(path) == data:
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", refusing)
        code, _, err = run(
            capsys, "train", "--train-data", str(data), "--output-dir", "o", "--set", "n_groups=1"
        )
        assert 5 == code
        assert "permission denied" in err

    def test_example_into_a_file_says_so_once(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """example aimed at an existing file: one plain sentence, exit 6."""
        target = tmp_path / "file.txt"
        target.write_text("x", encoding="utf-8")
        code, _, err = run(capsys, "example", str(target))
        reason = "it exists and is not a directory; name a new directory"
        expected = f"ptycho-config: cannot write the example into {target}: {reason}\n"
        assert (6, expected) == (code, err)

    def test_example_under_a_read_only_parent(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """example where nothing may be created: exit 6, and nothing is left behind."""

        def refuse(*args: Any, **kwargs: Any) -> str:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr("tempfile.mkdtemp", refuse)
        code, out, err = run(capsys, "example", str(tmp_path / "ex"))
        assert (6, "", []) == (code, out, list(tmp_path.iterdir()))
        assert "cannot write it there (Permission denied)" in err

    def test_example_failing_midway_leaves_nothing(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """example failing after some files are copied (a full disk): exit 6, and neither the
        directory nor its hidden staging copy is left behind."""

        def copy_one_then_fail(source: Path, target: Path, **kwargs: Any) -> None:
            shutil.copyfile(source / "config.yaml", target / "config.yaml")
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(shutil, "copytree", copy_one_then_fail)
        code, out, err = run(capsys, "example", str(tmp_path / "ex"))
        assert (6, "", []) == (code, out, list(tmp_path.iterdir()))
        assert "cannot write it there (No space left on device)" in err

    def test_error_output_is_bounded(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Fifty unknown keys list the first twenty and count the rest."""
        sets = [arg for i in range(50) for arg in ("--set", f"unknown_{i:02}=1")]
        code, _, err = run(capsys, "train", "--example", *sets)
        assert 3 == code
        assert (20, True) == (err.count("unknown key"), "... and 30 more" in err)


class TestEnvFormat:
    """--format env output, in a clean environment, resolves to the same fingerprint."""

    def test_round_trip(self, tmp_path: Path) -> None:
        """Containers can resolve once and ship the env file."""
        command = [sys.executable, "-m", "ptycho_config", "train", "--example"]
        base = {**same_code(), "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
        exported = subprocess.run(
            [*command, "--format", "env"], env=base, check=True, capture_output=True, text=True
        ).stdout
        # the output is shell syntax (values quoted where needed), as `source` reads it
        variables = {
            name: "".join(shlex.split(text))
            for name, text in (line.split("=", 1) for line in exported.splitlines())
        }
        assert "PTYCHO_TRAINING__N_GROUPS" in variables
        data = str(EXAMPLE_DIR / "train_data.npz")
        plain = [sys.executable, "-m", "ptycho_config", "train", "--train-data", data]
        plain += ["--output-dir", "example_outputs/training"]
        original = subprocess.run(command, env=base, check=True, capture_output=True, text=True)
        replayed = subprocess.run(
            plain, env={**base, **variables}, check=True, capture_output=True, text=True
        )
        assert fingerprint_of(replayed.stdout) == fingerprint_of(original.stdout)

    @pytest.mark.parametrize("form", ["env", "config", "yaml"])
    def test_a_path_not_in_utf8_is_refused_not_mangled(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, form: str
    ) -> None:
        """A folder whose name is no UTF-8 (the byte 0xff, as the system hands it to Python)
        cannot be written as env or YAML text that reads back: refused, naming the way that
        keeps it, rather than written as a different folder (a literal backslash)."""
        out = str(tmp_path) + "/o\udcff"
        code, printed, err = run(
            capsys, "train", "--example", "--output-dir", out, "--format", form
        )
        assert (6, "") == (code, printed)  # an OutputError, nothing half-written
        assert "PTYCHO_TRAINING__OUTPUT_DIR" in err or "output_dir" in err
        assert "not UTF-8" in err
        assert "--format json" in err

    def test_a_path_not_in_utf8_is_kept_by_json(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """--format json keeps such a name, and --config reads it back as the same folder."""
        out = str(tmp_path) + "/o\udcff"
        code, printed, _ = run(capsys, "train", "--example", "--output-dir", out, "--format=json")
        assert 0 == code
        report = tmp_path / "report.json"
        report.write_text(printed, encoding="utf-8")
        code, again, _ = run(capsys, "train", "--config", str(report), "--format", "json")
        assert 0 == code
        assert out == json.loads(again)["training"]["output_dir"]


class TestOtherCommands:
    """schema, env, check, example and --help."""

    @pytest.mark.parametrize(("extra", "code"), [([], EXIT_OK), (["--set", "batch_size=12"], 3)])
    def test_check_quiet_prints_nothing(
        self, capsys: pytest.CaptureFixture[str], extra: list[str], code: int
    ) -> None:
        """check --quiet: the exit code alone, on success and on failure (the same check
        without it prints what it read, or the problem)."""
        argv = ["check", "--set", "n_groups=4", *extra]
        assert (code, "", "") == run(capsys, *argv, "--quiet")
        assert code == main(argv)
        assert capsys.readouterr() != ("", "")

    def test_schema(self, capsys: pytest.CaptureFixture[str]) -> None:
        """schema prints one JSON Schema with a table for each section."""
        schema = json.loads(run(capsys, "schema")[1])["properties"]
        assert {"execution", "inference", "model", "torch", "training"} <= set(schema)
        assert schema["training"]["properties"]["nepochs"]["minimum"] == 1

    def test_env_lists_every_variable(self, capsys: pytest.CaptureFixture[str]) -> None:
        """env lists each qualified variable with its default and description."""
        out = run(capsys, "env")[1]
        assert "PTYCHO_TRAINING__BATCH_SIZE  (default 16; int)" in out

    def test_check_reports_bad_environment(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """check validates the environment without any data file."""
        monkeypatch.setenv("PTYCHO_BATCH_SIZE", "12")
        monkeypatch.setenv("PTYCHO_N_GROUPS", "8")
        code, _, err = run(capsys, "check")
        assert code == 3
        assert "PTYCHO_BATCH_SIZE" in err

    def test_check_passes(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """check accepts a valid config file."""
        config = tmp_path / "c.toml"
        config.write_text("n_groups = 8\n[training]\nnepochs = 3\n", encoding="utf-8")
        code, out, _ = run(capsys, "check", "--config", str(config))
        assert code == EXIT_OK
        assert "ok" in out

    def test_profile_option(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--profile applies a profile: its values come from it, and check names it."""
        code, out, _ = run(capsys, "train", "--example", "--profile", "ci")
        assert code == EXIT_OK
        row = next(line for line in out.splitlines() if line.startswith("torch.loss_function"))
        assert row.split()[1:4] == ["'Poisson'", "profile", "ci"]
        monkeypatch.setenv("PTYCHO_N_GROUPS", "8")
        code, out, _ = run(capsys, "check", "--profile", "ci")
        assert (EXIT_OK, True) == (code, "profile: ci" in out)

    def test_profile_option_beats_the_variable(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--profile wins over PTYCHO_PROFILE; an unknown name is an invalid configuration."""
        monkeypatch.setenv("PTYCHO_PROFILE", "nightly")
        assert EXIT_OK == run(capsys, "train", "--example", "--profile", "ci")[0]
        code, _, err = run(capsys, "infer", "--example", "--profile", "cj")
        assert (3, True) == (code, "'ci'" in err)

    def test_example_command(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """example writes a data set and a model directory that resolve."""
        target = tmp_path / "ex"
        assert run(capsys, "example", str(target))[0] == EXIT_OK
        code, out, _ = run(
            capsys, "infer", "--model-path", str(target / "model"),
            "--test-data", str(target / "test_data.npz"), "--output-dir", "o",
            "--config", str(target / "config.yaml"),
        )  # fmt: skip
        assert code == EXIT_OK
        assert "checkpoint" in out

    def test_example_refuses_a_non_empty_directory(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """example never overwrites files."""
        (tmp_path / "keep.txt").write_text("x", encoding="utf-8")
        assert run(capsys, "example", str(tmp_path))[0] == 6

    def test_help(self) -> None:
        """--help exits 0 for the console script."""
        result = subprocess.run(
            [sys.executable, "-m", "ptycho_config", "--help"], capture_output=True, text=True
        )
        assert result.returncode == 0
        assert "train" in result.stdout


class TestBundledExample:
    """The shipped example equals what the generator writes."""

    def test_no_drift(self, tmp_path: Path) -> None:
        """Arrays, config and snapshot match a fresh generation."""
        fresh = write_example(tmp_path)
        for name in ("train_data.npz", "test_data.npz"):
            with np.load(EXAMPLE_DIR / name) as shipped, np.load(fresh / name) as regenerated:
                assert sorted(shipped.files) == sorted(regenerated.files)
                for key in shipped.files:
                    np.testing.assert_array_equal(shipped[key], regenerated[key])
        config = "config.yaml"
        assert (EXAMPLE_DIR / config).read_text() == (fresh / config).read_text()
        shipped_snapshot = load_snapshot(EXAMPLE_DIR / "model")
        fresh_snapshot = load_snapshot(fresh / "model")
        assert shipped_snapshot is not None
        assert fresh_snapshot is not None
        assert shipped_snapshot.fingerprint == fresh_snapshot.fingerprint


def test_example_into_an_empty_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`example ''` is no directory: an invalid-value error, and nothing written to '.'."""
    os.chdir(tmp_path)
    code, _, err = run(capsys, "example", "")
    assert (3, [], True) == (code, list(tmp_path.iterdir()), "empty string" in err)


def test_the_pages_environment_only_run_works_as_written(tmp_path: Path) -> None:
    """docs/cli.md's shell block, run as written in an empty folder, checks and trains."""
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    (block,) = page.split("```sh\n")[1:]
    script = block.split("```")[0]
    environ = {**same_code(), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    result = subprocess.run(
        ["sh", "-ec", script], cwd=tmp_path, env=environ, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert 0 == result.returncode, result.stderr
    assert "configuration ok (training)" in result.stdout
    assert "fingerprint sha256:" in result.stdout
