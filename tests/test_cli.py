"""The command line: subcommands, output formats, exit codes and the bundled example."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from ptycho_config import load_snapshot
from ptycho_config._cli import EXIT_INVALID, EXIT_MISSING, EXIT_OK, EXIT_USAGE, main
from ptycho_config._example import EXAMPLE_DIR, write_example


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
        """json and yaml hold the configs, provenance and fingerprint, and agree."""
        as_json = json.loads(run(capsys, "infer", "--example", "--format", "json")[1])
        as_yaml = yaml.safe_load(run(capsys, "infer", "--example", "--format", "yaml")[1])
        assert as_json == as_yaml
        assert as_json["inference_config"]["model"]["N"] == 64
        assert as_json["provenance"]["model.gridsize"]["source"] == "checkpoint"
        assert as_json["fingerprint"].startswith("sha256:")

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
        assert document["training_config"]["batch_size"] == 32
        assert document["execution_config"]["seed"] is None  # the example's file says 7
        assert document["execution_config"]["logger_backend"] is None  # the default is 'csv'
        assert document["provenance"]["execution.seed"]["source"] == "override"

    def test_set_twice_with_different_values(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A key set twice with different values is an error, not last-one-wins."""
        code, _, err = run(capsys, "train", "--example", "--set", "nepochs=3", "--set", "nepochs=4")
        assert code == EXIT_INVALID
        assert "'3' and '4'" in err

    def test_invalid_configuration_exit_code(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Every problem is listed with its key, value and source, and the exit code is 3."""
        code, _, err = run(
            capsys, "train", "--example", "--set", "batch_size=12", "--set", "nepocs=3"
        )
        assert code == EXIT_INVALID
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
        assert code == EXIT_MISSING
        assert str(missing) in err

    def test_missing_model_archive_exit_code(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A model directory without wts.h5.zip is a missing file for the command line."""
        code, _, err = run(
            capsys, "infer", "--model-path", str(tmp_path), "--test-data", "t.npz",
            "--output-dir", "o",
        )  # fmt: skip
        assert code == EXIT_MISSING
        assert "Model archive not found" in err

    @pytest.mark.parametrize(
        "argv",
        [["train", "--bogus"], ["train", "--set", "novalue"], ["train"], ["infer"], []],
    )
    def test_usage_errors(self, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
        """Bad arguments exit with 2."""
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == EXIT_USAGE
        capsys.readouterr()


class TestEnvFormat:
    """--format env output, in a clean environment, resolves to the same fingerprint."""

    def test_round_trip(self, tmp_path: Path) -> None:
        """Containers can resolve once and ship the env file."""
        command = [sys.executable, "-m", "ptycho_config", "train", "--example"]
        base = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
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


class TestOtherCommands:
    """schema, env, check, example and --help."""

    def test_schema(self, capsys: pytest.CaptureFixture[str]) -> None:
        """schema prints the JSON Schema of each section."""
        schemas = json.loads(run(capsys, "schema")[1])
        assert sorted(schemas) == ["execution", "inference", "model", "torch", "training"]
        assert schemas["training"]["properties"]["nepochs"]["minimum"] == 1

    def test_env_lists_every_variable(self, capsys: pytest.CaptureFixture[str]) -> None:
        """env lists each qualified variable with its default and description."""
        out = run(capsys, "env")[1]
        assert "PTYCHO_TRAINING__BATCH_SIZE  (default 16; int)" in out

    def test_check_reports_bad_environment(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """check validates the environment without any data file."""
        monkeypatch.setenv("PTYCHO_BATCH_SIZE", "12")
        code, _, err = run(capsys, "check")
        assert code == EXIT_INVALID
        assert "PTYCHO_BATCH_SIZE" in err

    def test_check_passes(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """check accepts a valid config file."""
        config = tmp_path / "c.toml"
        config.write_text("[training]\nnepochs = 3\n", encoding="utf-8")
        code, out, _ = run(capsys, "check", "--config", str(config))
        assert code == EXIT_OK
        assert "ok" in out

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
        assert run(capsys, "example", str(tmp_path))[0] == EXIT_INVALID

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
