"""The settings classes resolve exactly as resolve_* and the factories do, nested or not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ptycho_config import (
    FileReadError,
    InvalidValueError,
    MissingValueError,
    ModelConfig,
    UnknownKeyError,
    create_training_payload,
    fingerprint,
    resolve_inference,
    resolve_training,
)
from ptycho_config._schemas.registry import KEYS, PAYLOAD_SECTIONS
from ptycho_config.settings import InferenceSettings, TrainingSettings
from tests.conftest import write_npz

INFERENCE_PATHS = {"PTYCHO_MODEL_PATH": "model", "PTYCHO_TEST_DATA_FILE": "test.npz"}


class TestGeneratedFields:
    """The sections and their fields come from the registry."""

    @pytest.mark.parametrize("settings", [TrainingSettings, InferenceSettings])
    def test_every_key_is_a_field(self, settings: type[BaseSettings]) -> None:
        """Each section field of the class holds exactly the registry's keys of that section."""
        kind = "training" if settings is TrainingSettings else "inference"
        assert list(PAYLOAD_SECTIONS[kind]) == list(settings.model_fields)
        for section, field in settings.model_fields.items():
            names = [k.name for k in KEYS.values() if k.section == section]
            assert names == list(getattr(field.annotation, "model_fields", {}))

    def test_prefix_and_delimiter(self) -> None:
        """The classes declare PTYCHO_ and __, for tools that read model_config."""
        config = TrainingSettings.model_config
        assert ("PTYCHO_", "__") == (config["env_prefix"], config["env_nested_delimiter"])


class TestSameAsResolve:
    """Instantiating a settings class gives what resolve_* gives for the same inputs."""

    @given(
        values=st.fixed_dictionaries(
            {},
            optional={
                "PTYCHO_BATCH_SIZE": st.sampled_from(["8", "32"]),
                "PTYCHO_MAX_EPOCHS": st.sampled_from(["3", "9"]),
                "PTYCHO_MODEL__N": st.sampled_from(["64", "128"]),
                "ptycho_seed": st.sampled_from(["none", "5"]),
                "PTYCHO_GRID_SIZE": st.sampled_from(["1,1", "[2, 2]"]),
            },
        )
    )
    def test_environment(self, values: dict[str, str]) -> None:
        """For any environment, the settings' configs and fingerprint equal resolve_training's."""
        with pytest.MonkeyPatch.context() as patch:
            for name, text in values.items():
                patch.setenv(name, text)
            settings = TrainingSettings()
        resolved = resolve_training(environ=values)
        assert resolved.training_config == settings.training_config
        assert resolved.execution_config == settings.execution_config
        assert fingerprint(resolved) == fingerprint(settings)

    def test_files(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A .env file, a secrets directory and a config file named by the switches count."""
        (tmp_path / ".env").write_text("PTYCHO_BATCH_SIZE=32\n", encoding="utf-8")
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "PTYCHO_NEPOCHS").write_text("7\n", encoding="utf-8")
        (tmp_path / "c.yaml").write_text("training:\n  n_groups: 8\n", encoding="utf-8")
        environ = {
            "PTYCHO_ENV_FILE": str(tmp_path / ".env"),
            "PTYCHO_SECRETS_DIR": str(tmp_path / "run"),
            "PTYCHO_CONFIG_FILE": str(tmp_path / "c.yaml"),
        }
        for name, text in environ.items():
            monkeypatch.setenv(name, text)
        config = TrainingSettings().training_config
        assert (32, 7, 8) == (config.batch_size, config.nepochs, config.n_groups)
        assert resolve_training(environ=environ).training_config == config

    def test_model_config_names_the_files(self, tmp_path: Path) -> None:
        """An application's subclass can name the .env file and the secrets directory."""
        (tmp_path / "app.env").write_text("PTYCHO_BATCH_SIZE=32\n", encoding="utf-8")
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "ptycho_nepochs").write_text("4", encoding="utf-8")

        class Mine(TrainingSettings):
            model_config = SettingsConfigDict(
                env_file=tmp_path / "app.env", secrets_dir=tmp_path / "run"
            )

        config = Mine().training_config
        assert (32, 4) == (config.batch_size, config.nepochs)
        assert 8 == Mine(_env_file=None, batch_size=8).training_config.batch_size

    def test_keyword_arguments_are_overrides(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Bare or sectioned keyword arguments beat the environment."""
        monkeypatch.setenv("PTYCHO_BATCH_SIZE", "8")
        settings = TrainingSettings(batch_size=32, execution={"seed": 3})
        assert (32, 3) == (settings.training.batch_size, settings.execution.seed)

    def test_inference(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """InferenceSettings resolves like resolve_inference."""
        for name, text in INFERENCE_PATHS.items():
            monkeypatch.setenv(name, text)
        settings = InferenceSettings()
        assert resolve_inference(environ=INFERENCE_PATHS).inference_config == (
            settings.inference_config
        )

    def test_errors_are_the_librarys(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Bad values and missing required values raise the library's errors."""
        monkeypatch.setenv("PTYCHO_BATCH_SIZE", "12")
        with pytest.raises(InvalidValueError, match="PTYCHO_BATCH_SIZE"):
            TrainingSettings()
        with pytest.raises(MissingValueError, match="model_path"):
            InferenceSettings()

    def test_an_unknown_keyword_shows_the_value_given(self) -> None:
        """Only a section's model stands for the fields set on it: under any other name a
        model is the value as given, and the unknown-key message shows it whole."""
        with pytest.raises(UnknownKeyError, match=r"bogus = ModelConfig\(N=128"):
            TrainingSettings(bogus=ModelConfig(N=128))


class TestTheirOwnFiles:
    """A subclass's own .env file is checked as the library checks one, before it is read."""

    def test_a_fifo_is_refused_without_blocking(self, tmp_path: Path) -> None:
        """A FIFO named in model_config or as _env_file is refused: nothing waits for a writer."""
        fifo = tmp_path / "app.env"
        os.mkfifo(fifo)
        script = f"""
from pydantic_settings import SettingsConfigDict
from ptycho_config import FileReadError
from ptycho_config.settings import TrainingSettings

class Mine(TrainingSettings):
    model_config = SettingsConfigDict(env_file={str(fifo)!r})

for build in (Mine, lambda: TrainingSettings(_env_file={str(fifo)!r})):
    try:
        build()
    except FileReadError as error:
        print(error)
"""
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
        lines = done.stdout.splitlines()
        assert (2, "") == (len(lines), done.stderr)
        assert all("FIFO" in line and str(fifo) in line for line in lines)

    def test_a_file_not_in_utf8_is_the_librarys_error(self, tmp_path: Path) -> None:
        """Bytes that are not UTF-8 raise FileReadError naming the file."""
        path = tmp_path / "app.env"
        path.write_bytes(b"PTYCHO_BATCH_SIZE=\xff\n")

        class Mine(TrainingSettings):
            model_config = SettingsConfigDict(env_file=path)

        with pytest.raises(FileReadError, match=r"app\.env"):
            Mine()

    def test_several_files_are_refused_clearly(self, tmp_path: Path) -> None:
        """The library reads one .env file: a list of them is an error that says so."""
        first, second = tmp_path / "a.env", tmp_path / "b.env"
        first.write_text("PTYCHO_BATCH_SIZE=32\n", encoding="utf-8")
        second.write_text("PTYCHO_NEPOCHS=4\n", encoding="utf-8")
        with pytest.raises(InvalidValueError, match=r"one \.env file"):
            TrainingSettings(_env_file=[first, second])


class TestNested:
    """An application nests a settings class in its own BaseSettings."""

    def test_same_values_and_fingerprint_as_the_factory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The nested settings equal the factory's payload, configs and fingerprint."""
        data = write_npz(tmp_path / "train.npz")
        environ = {
            "PTYCHO_N_GROUPS": "8",
            "PTYCHO_BATCH_SIZE": "32",
            "PTYCHO_ACCELERATOR": "cpu",
            "PTYCHO_TRAIN_DATA_FILE": str(data),
            "PTYCHO_TRAINING__OUTPUT_DIR": str(tmp_path / "out"),
            "APP_NAME": "demo",
        }
        for name, text in environ.items():
            monkeypatch.setenv(name, text)

        class App(BaseSettings):
            model_config = SettingsConfigDict(env_prefix="APP_")
            name: str = "?"
            ptycho: TrainingSettings = Field(default_factory=TrainingSettings)

        app = App()
        payload = create_training_payload(data, tmp_path / "out")
        assert "demo" == app.name
        assert payload.training_config == app.ptycho.training_config
        assert payload.execution_config == app.ptycho.execution_config
        assert fingerprint(payload) == fingerprint(app.ptycho)

    def test_enclosing_values_meet_every_rule(self) -> None:
        """Values an enclosing class passes in are checked by the cross-field rules too."""

        class App(BaseSettings):
            ptycho: TrainingSettings

        with pytest.raises(ValueError, match="lr_warmup_epochs must be < nepochs"):
            App(ptycho={"training": {"nepochs": 2, "lr_warmup_epochs": 5}})


class TestImports:
    """The settings module is the only one that needs pydantic-settings at import."""

    def test_library_import_leaves_pydantic_settings_out(self) -> None:
        """import ptycho_config does not import the settings module or pydantic-settings."""
        code = "import sys, ptycho_config; print('pydantic_settings' in sys.modules)"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert "False" == result.stdout.strip()
