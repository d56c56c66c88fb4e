"""The console script as a container runs it: a clean environment, .env files, secrets, checks."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ptycho_config import resolve_inference, resolve_training
from ptycho_config.__main__ import EXIT_OK
from ptycho_config._factories.example import EXAMPLE_DIR
from ptycho_config._schemas.json_schema import config_file_schema
from ptycho_config._schemas.registry import KEYS, PAYLOAD_SECTIONS, SHARED_FIELDS, Match, lookup
from ptycho_config.testing import execution_configs, inference_configs, training_configs
from tests._processes import same_code
from tests.conftest import write_npz

SCRIPT = str(Path(sys.executable).with_name("ptycho-config"))
FOREIGN = "PTYCHO_FLUX_SWEEP_SCRATCH"


def script(
    *argv: str, cwd: Path | None = None, **variables: str
) -> subprocess.CompletedProcess[str]:
    """The real console script in an environment holding only PATH and ``variables``."""
    environ = {**same_code(), "PATH": "/usr/bin:/bin", **variables}
    return subprocess.run(
        [SCRIPT, *argv], env=environ, cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture
def train(tmp_path: Path) -> list[str]:
    """A train command on a small data file, printing JSON."""
    data = write_npz(tmp_path / "train.npz")
    return ["train", "--train-data", str(data), "--output-dir", "out", "--format", "json"]


class TestEnvironmentFiles:
    """.env files and secrets resolve with provenance and lose to real variables."""

    def test_dotenv_and_secrets_resolve_below_the_environment(
        self, tmp_path: Path, train: list[str]
    ) -> None:
        """Each value comes from the highest of env > dotenv > secret, named in provenance."""
        env_file = tmp_path / "app.env"
        env_file.write_text("PTYCHO_BATCH_SIZE=32\nPTYCHO_NEPOCHS=9\n", encoding="utf-8")
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        for name, value in {"PTYCHO_NEPOCHS": "8", "PTYCHO_N_GROUPS": "64"}.items():
            (secrets / name).write_text(value, encoding="utf-8")
        result = script(
            *train, PTYCHO_ENV_FILE=str(env_file), PTYCHO_SECRETS_DIR=str(secrets),
            PTYCHO_BATCH_SIZE="4",
        )  # fmt: skip
        assert EXIT_OK == result.returncode, result.stderr
        document = json.loads(result.stdout)
        config, provenance = document["training"], document["metadata"]["provenance"]
        assert (4, 9, 64) == (config["batch_size"], config["nepochs"], config["n_groups"])
        assert {"kind": "env", "detail": "PTYCHO_BATCH_SIZE"} == provenance["training.batch_size"]
        assert {"kind": "dotenv", "detail": str(env_file)} == provenance["training.nepochs"]
        expected = {"kind": "secret", "detail": str(secrets / "PTYCHO_N_GROUPS")}
        assert expected == provenance["training.n_groups"]

    def test_options_name_the_files(self, tmp_path: Path, train: list[str]) -> None:
        """--env-file and --secrets-dir work like the switches."""
        env_file = tmp_path / "app.env"
        env_file.write_text("PTYCHO_N_GROUPS=16\n", encoding="utf-8")
        result = script(*train, "--env-file", str(env_file))
        assert 16 == json.loads(result.stdout)["training"]["n_groups"]


class TestUnknownVariables:
    """Foreign names are skipped with one warning; typos fail with a suggestion."""

    def test_foreign_variable_is_skipped_with_one_warning(self, train: list[str]) -> None:
        """Another tool's PTYCHO_* variable does not break the call."""
        result = script(*train, "--set", "n_groups=8", PTYCHO_FLUX_SWEEP_SCRATCH="/scratch")
        assert EXIT_OK == result.returncode, result.stderr
        assert 1 == result.stderr.count(f"unknown environment variable {FOREIGN} ignored")
        assert 1 == result.stderr.count(FOREIGN)

    def test_typo_fails_with_a_suggestion(self, train: list[str]) -> None:
        """PTYCHO_BATCHSIZE is a typo of PTYCHO_BATCH_SIZE: exit 3, with the suggestion."""
        result = script(*train, "--set", "n_groups=8", PTYCHO_BATCHSIZE="32")
        assert 3 == result.returncode
        assert "did you mean 'PTYCHO_BATCH_SIZE'" in result.stderr
        assert "Traceback" not in result.stderr

    def test_strict_env_fails_on_foreign_names(self, train: list[str]) -> None:
        """--strict-env makes every unknown name an error."""
        result = script(
            *train, "--set", "n_groups=8", "--strict-env", PTYCHO_FLUX_SWEEP_SCRATCH="x"
        )
        assert 3 == result.returncode
        assert FOREIGN in result.stderr

    def test_no_strict_env_only_warns_on_typos(self, train: list[str]) -> None:
        """--no-strict-env makes no unknown name an error."""
        result = script(*train, "--set", "n_groups=8", "--no-strict-env", PTYCHO_BATCHSIZE="32")
        assert EXIT_OK == result.returncode
        assert "PTYCHO_BATCHSIZE ignored; did you mean PTYCHO_BATCH_SIZE" in result.stderr


class TestCheck:
    """check is a container start-up check that names every file it read."""

    def test_names_every_file_read(self, tmp_path: Path) -> None:
        """The config file, the .env file and each secret file are listed."""
        config = tmp_path / "c.yaml"
        config.write_text("n_groups: 8\ntraining:\n  nepochs: 3\n", encoding="utf-8")
        env_file = tmp_path / ".env"
        env_file.write_text("PTYCHO_BATCH_SIZE=32\n", encoding="utf-8")
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        (secrets / "PTYCHO_SEED").write_text("5", encoding="utf-8")
        result = script(
            "check", "--config", str(config), "--secrets-dir", str(secrets),
            PTYCHO_ENV_FILE=str(env_file),
        )  # fmt: skip
        assert EXIT_OK == result.returncode, result.stderr
        for path in (config, env_file, secrets / "PTYCHO_SEED"):
            assert str(path) in result.stdout

    def test_foreign_variable_warns_once(self) -> None:
        """check resolves both payloads but warns about a foreign variable once."""
        result = script("check", PTYCHO_FLUX_SWEEP_SCRATCH="/scratch", PTYCHO_N_GROUPS="8")
        assert EXIT_OK == result.returncode
        assert 1 == result.stderr.count(FOREIGN)

    def test_quiet_success_prints_nothing(self) -> None:
        """--quiet: exit 0 and no output at all."""
        result = script("check", "--quiet", PTYCHO_NEPOCHS="3", PTYCHO_N_GROUPS="8")
        assert (EXIT_OK, "", "") == (result.returncode, result.stdout, result.stderr)

    def test_quiet_failure_prints_nothing(self) -> None:
        """--quiet: a bad value exits 3, silently."""
        result = script("check", "--quiet", PTYCHO_BATCH_SIZE="12", PTYCHO_N_GROUPS="8")
        assert (3, "", "") == (result.returncode, result.stdout, result.stderr)

    def test_missing_env_file(self, tmp_path: Path) -> None:
        """A missing .env file is a missing file: exit 4."""
        result = script("check", PTYCHO_ENV_FILE=str(tmp_path / "missing.env"))
        assert 4 == result.returncode
        assert "env file not found" in result.stderr.lower()


class TestEnvListing:
    """env lists every spelling of every variable."""

    def test_every_spelling(self) -> None:
        """The sectioned name, the bare name and alias spellings all appear."""
        out = script("env").stdout
        assert "PTYCHO_TRAINING__BATCH_SIZE  (default 16; int)" in out
        also = "    also PTYCHO_NEPOCHS, PTYCHO_TRAINING__MAX_EPOCHS, PTYCHO_MAX_EPOCHS, "
        assert also + "PTYCHO_TRAINING__EPOCHS, PTYCHO_EPOCHS" in out
        assert "PTYCHO_ENV_FILE" in out

    def test_every_key_is_listed(self) -> None:
        """Each key's sectioned variable has its own line."""
        lines = script("env").stdout.splitlines()
        for key in KEYS.values():
            assert any(line.startswith(f"{key.env}  (default ") for line in lines)


# -- the JSON Schema of a config file ----------------------------------------------------------

SCHEMA = config_file_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def sectioned(*configs: Any) -> dict[str, Any]:
    """Configs as a file with one table per section."""
    document: dict[str, Any] = {}
    for config in configs:
        dumped = config.model_dump(mode="json", exclude={"n_images"})
        for nested in ("model", "torch"):  # sections nested in a config are tables of a file
            if nested in dumped:
                document[nested] = dumped.pop(nested)
        document[config.section] = dumped
    return document


def bare_means(name: str) -> set[str]:
    """The keys a bare name stands for in the payloads where it names one."""
    found = [lookup(name, kind) for kind in PAYLOAD_SECTIONS]
    return {f.key.qualified for f in found if isinstance(f, Match)}


def bare(document: dict[str, Any]) -> dict[str, Any]:
    """The same file with every key that may stand bare at the top level moved there."""
    flat: dict[str, Any] = {}
    for section, values in document.items():
        for name, value in values.items():
            movable = name in SCHEMA["properties"] and f"{section}.{name}" in bare_means(name)
            target = flat if movable and name not in flat else None
            if target is None:
                flat.setdefault(section, {})[name] = value
            else:
                target[name] = value
    return flat


class TestSchema:
    """schema prints one draft 2020-12 document that both file layouts validate against."""

    def test_one_document(self) -> None:
        """The printed document is the schema, and a valid draft 2020-12 schema."""
        printed = json.loads(script("schema").stdout)
        assert SCHEMA == printed
        assert "https://json-schema.org/draft/2020-12/schema" == printed["$schema"]
        jsonschema.Draft202012Validator.check_schema(printed)

    def test_bundled_example_validates(self) -> None:
        """The bundled example config is valid."""
        document = yaml.safe_load((EXAMPLE_DIR / "config.yaml").read_text(encoding="utf-8"))
        VALIDATOR.validate(document)

    @given(training_configs(), execution_configs(), st.booleans())
    def test_generated_training_files_validate(
        self, training: Any, execution: Any, flat: bool
    ) -> None:
        """Any valid training configuration, written in either layout, validates and resolves."""
        # the fields both sections declare are one value: a file gives them once
        execution = execution.model_copy(update={k: getattr(training, k) for k in SHARED_FIELDS})
        document = sectioned(training, execution)
        document = bare(document) if flat else document
        VALIDATOR.validate(document)
        assert training == from_file(document, "training").training_config

    @given(inference_configs(), st.booleans())
    def test_generated_inference_files_validate(self, inference: Any, flat: bool) -> None:
        """Any valid inference configuration validates too, in either layout."""
        document = sectioned(inference)
        document = bare(document) if flat else document
        VALIDATOR.validate(document)
        assert inference == from_file(document, "inference").inference_config

    def test_example_command_writes_a_valid_file(self, tmp_path: Path) -> None:
        """The config file `example` writes validates."""
        assert EXIT_OK == script("example", str(tmp_path / "ex")).returncode
        text = (tmp_path / "ex" / "config.yaml").read_text(encoding="utf-8")
        VALIDATOR.validate(yaml.safe_load(text))

    @pytest.mark.parametrize(
        "document",
        [
            {"training": {"nepochs": 0}},
            {"training": {"batch_sise": 8}},
            {"nepochs": "many"},
            {"scheduler": "Sometimes"},
            {"execution": {"accelerator": "tpu"}},
            {"model": [1, 2]},
            {"unknown_section": {}},
        ],
    )
    def test_invalid_documents_fail(self, document: dict[str, Any]) -> None:
        """Out-of-range values, unknown or ambiguous keys and wrong shapes fail."""
        assert not VALIDATOR.is_valid(document)


def from_file(document: dict[str, Any], kind: str) -> Any:
    """The resolution of a document written as a config file: the file source accepts it."""
    resolve = resolve_training if kind == "training" else resolve_inference
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        return resolve(config_file=path, environ={})
