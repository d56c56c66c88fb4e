"""docs/containers.md: every command on the page runs, as the page says it does."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ptycho_config._factories.example import EXAMPLE_DIR
from tests._processes import same_code

PAGE = Path(__file__).resolve().parents[1] / "docs" / "containers.md"
BIN = str(Path(sys.executable).parent)
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
# Where the page's container paths live in a test: the mounts of the Dockerfile and manifest.
MOUNTS = {"/etc/ptycho": "etc", "/run/secrets/ptycho": "secrets"}


def blocks(language: str) -> list[str]:
    """The page's code blocks in one language."""
    text = PAGE.read_text(encoding="utf-8")
    return [body for lang, body in BLOCK.findall(text) if lang == language]


def commands_on_page() -> set[str]:
    """Every ptycho-config invocation anywhere in the page's code blocks."""
    text = "\n".join(body for _, body in BLOCK.findall(PAGE.read_text(encoding="utf-8")))
    return {m.strip() for m in re.findall(r"ptycho-config [^\n\"&]*", text)}


def run_shell(line: str, cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """A line of the page run by sh in ``cwd``, in a clean environment with the script on PATH."""
    environ = {**same_code(), "PATH": f"{BIN}:/usr/bin:/bin", **variables}
    return subprocess.run(
        ["sh", "-c", line], cwd=cwd, env=environ, capture_output=True, text=True, check=False
    )


def in_test(path: str, root: Path) -> str:
    """A container path of the page, moved under the test's folder."""
    for mount, folder in MOUNTS.items():
        if path.startswith(mount):
            return str(root / folder) + path[len(mount) :]
    return path


@pytest.fixture(scope="module")
def container(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page's shell blocks run in order: run.env exported and checked, schema written
    (once for the module: the tests read the folder, and only add outputs to it)."""
    tmp_path = tmp_path_factory.mktemp("container")
    for block in blocks("sh"):
        for line in block.splitlines():
            result = run_shell(line, tmp_path)
            assert 0 == result.returncode, f"{line}: {result.stderr}"
    (tmp_path / "etc").mkdir()
    shutil.copy(tmp_path / "run.env", tmp_path / "etc" / "run.env")
    (tmp_path / "secrets").mkdir()
    secret = tmp_path / "secrets" / "PTYCHO_EXECUTION__LEARNING_RATE"
    secret.write_text("0.0005\n", encoding="utf-8")
    return tmp_path


def start_up_check(command: list[str]) -> str:
    """The ptycho-config part of a container's 'check && exec training' command."""
    assert ["sh", "-c"] == command[:2]
    check, _, training = command[2].partition(" && ")
    assert training.startswith("exec ")
    return check


class TestPage:
    """The page's commands are exactly the ones run here."""

    def test_every_command_is_exercised(self) -> None:
        """Each ptycho-config invocation on the page is one of those these tests run."""
        exercised = {
            "ptycho-config train --example --format env > run.env",
            "ptycho-config check train --env-file run.env",
            "ptycho-config schema > ptycho-config.schema.json",
            "ptycho-config env",
            "ptycho-config check train --quiet",
            "ptycho-config example demo",
            "ptycho-config train",
        }
        assert exercised == commands_on_page()


class TestShellCommands:
    """The workstation steps: export, check, schema, env."""

    def test_export_and_check(self, container: Path) -> None:
        """run.env holds plain NAME=value lines (as config maps and docker --env-file read them)."""
        lines = (container / "run.env").read_text(encoding="utf-8").splitlines()
        assert all(re.fullmatch(r"PTYCHO_[A-Z0-9_]+=[^'\"\s]+", line) for line in lines)
        assert not any(line.startswith("PTYCHO_MODEL__N=") for line in lines)
        checked = run_shell("ptycho-config check train --env-file run.env", container)
        assert "env file: run.env" in checked.stdout

    def test_schema_file(self, container: Path) -> None:
        """The schema file is one JSON document."""
        schema = json.loads((container / "ptycho-config.schema.json").read_text("utf-8"))
        assert "ptycho-config file" == schema["title"]

    def test_one_file_many_replicas(self, container: Path) -> None:
        """A replica reading run.env with the same data resolves to the same fingerprint."""
        original = run_shell("ptycho-config train --example", container)
        data = EXAMPLE_DIR / "train_data.npz"
        replica = run_shell(
            f"ptycho-config train --train-data {shlex.quote(str(data))} "
            "--output-dir example_outputs/training",
            container,
            PTYCHO_ENV_FILE=str(container / "etc" / "run.env"),
        )
        assert 0 == replica.returncode, replica.stderr
        assert _fingerprint(original.stdout) == _fingerprint(replica.stdout)


class TestDockerfile:
    """The Dockerfile's environment and start-up check."""

    def dockerfile(self) -> tuple[dict[str, str], list[str]]:
        (text,) = blocks("dockerfile")
        joined = text.replace("\\\n", " ")
        env_line = next(line for line in joined.splitlines() if line.startswith("ENV "))
        variables = dict(pair.split("=", 1) for pair in shlex.split(env_line[4:]))
        cmd = next(line for line in joined.splitlines() if line.startswith("CMD "))
        return variables, json.loads(cmd[4:])

    def test_start_up_check_passes(self, container: Path) -> None:
        """With the copied run.env and a secret mounted, the check exits 0 silently."""
        variables, command = self.dockerfile()
        moved = {name: in_test(value, container) for name, value in variables.items()}
        result = run_shell(start_up_check(command), container, **moved)
        assert (0, "", "") == (result.returncode, result.stdout, result.stderr)

    def test_start_up_check_stops_a_broken_configuration(self, container: Path) -> None:
        """A typo in the environment makes the check fail, so training never starts."""
        variables, command = self.dockerfile()
        moved = {name: in_test(value, container) for name, value in variables.items()}
        result = run_shell(start_up_check(command), container, **moved, PTYCHO_BATCHSIZE="8")
        assert 3 == result.returncode


class TestKubernetes:
    """The manifest's environment, mounts and start-up check."""

    def manifest(self) -> dict[str, Any]:
        (text,) = blocks("yaml")
        document: dict[str, Any] = yaml.safe_load(text)
        return document

    def test_start_up_check_passes_with_the_mounts(self, container: Path) -> None:
        """The container's environment, with the mounts in place, passes its start-up check."""
        spec = self.manifest()["spec"]["template"]["spec"]
        (train,) = spec["containers"]
        mounts = {m["mountPath"] for m in train["volumeMounts"]}
        assert set(MOUNTS) == mounts
        variables = {v["name"]: in_test(v["value"], container) for v in train["env"]}
        check = start_up_check(train["command"])
        assert 0 == run_shell(check, container, **variables).returncode
        shown = run_shell(check.replace(" --quiet", ""), container, **variables).stdout
        assert str(container / "secrets" / "PTYCHO_EXECUTION__LEARNING_RATE") in shown

    def test_each_source_is_read(self, container: Path) -> None:
        """The manifest's variable, the mounted file and the secret each set their value."""
        spec = self.manifest()["spec"]["template"]["spec"]
        variables = {
            v["name"]: in_test(v["value"], container) for v in spec["containers"][0]["env"]
        }
        result = run_shell("ptycho-config train --example --format json", container, **variables)
        document = json.loads(result.stdout)
        provenance = document["metadata"]["provenance"]
        assert 4 == document["execution"]["num_workers"]
        assert "env" == provenance["execution.num_workers"]["kind"]
        assert 0.0005 == document["execution"]["learning_rate"]
        assert "secret" == provenance["execution.learning_rate"]["kind"]
        assert "dotenv" == provenance["training.n_groups"]["kind"]


def _fingerprint(table: str) -> str:
    return next(line for line in table.splitlines() if line.startswith("fingerprint"))
