"""Sources for containers: unknown PTYCHO_* names, .env files, secrets, settings sources."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from ptycho_config import (
    ConfigFileNotFoundError,
    ConflictError,
    ExecutionConfig,
    FileReadError,
    InvalidValueError,
    PtychoConfigError,
    UnknownKeyError,
    create_training_payload,
    resolve_inference,
    resolve_training,
)
from ptycho_config._schemas.registry import PAYLOAD_SECTIONS, env_names, lookup_env
from ptycho_config._sources.environment import ptycho_variables
from ptycho_config._sources.kinds import SOURCE_KINDS
from ptycho_config._sources.unknown import typo_suggestions
from tests.conftest import write_npz

FOREIGN = "PTYCHO_FLUX_SWEEP_SCRATCH"
KNOWN = sorted({name for kind in PAYLOAD_SECTIONS for name in env_names(kind)})


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def secrets(folder: Path, **values: str) -> Path:
    """A secrets directory with one file per variable, as Docker and Kubernetes mount them."""
    folder.mkdir()
    for name, value in values.items():
        write(folder / name, value + "\n")
    return folder


class Vault(PydanticBaseSettingsSource):
    """A dict-backed stand-in for a cloud secret store."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(BaseSettings)
        self.values = values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


class TestUnknownVariables:
    """Typo-like names fail with a suggestion; other tools' names are skipped with a warning."""

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("PTYCHO_BATCHSIZE", "PTYCHO_BATCH_SIZE"),
            ("PTYCHO_BATCH_SIZ", "PTYCHO_BATCH_SIZE"),
            ("PTYCHO_NEPOHCS", "PTYCHO_NEPOCHS"),
            ("PTYCHO_MODEL_N", "PTYCHO_MODEL__N"),
            ("ptycho_model.n", "PTYCHO_MODEL__N"),
            ("PTYCHO_EXECUTION__BATCH_SIZE", "PTYCHO_TRAINING__BATCH_SIZE"),
            ("PTYCHO_MODEL__MAX_EPOCHS", "PTYCHO_TRAINING__NEPOCHS"),
            ("PTYCHO_CONFIG_FIEL", "PTYCHO_CONFIG_FILE"),
            ("PTYCHO_SECRET_DIR", "PTYCHO_SECRETS_DIR"),
        ],
    )
    def test_typo_like_names_fail_with_a_suggestion(self, name: str, expected: str) -> None:
        """A name close to a known one, or a known field elsewhere, is an error suggesting it."""
        with pytest.raises(UnknownKeyError, match=f"did you mean .*'{expected}'"):
            resolve_training(environ={name: "16"})

    def test_foreign_name_is_skipped_listed_and_warned_once(self) -> None:
        """Another tool's variable is skipped, listed in ignored, with one warning."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resolved = resolve_training(environ={FOREIGN: "/scratch", "PTYCHO_NEPOCHS": "3"})
        assert [f"unknown environment variable {FOREIGN} ignored"] == [
            str(w.message) for w in caught
        ]
        assert (f"{FOREIGN}: unknown variable, skipped",) == resolved.ignored
        assert 3 == resolved.training_config.nepochs

    def test_factory_warns_once(self, tmp_path: Path) -> None:
        """A factory, which reads the environment twice, still warns once."""
        data = write_npz(tmp_path / "train.npz")
        environ = {FOREIGN: "/scratch", "PTYCHO_N_GROUPS": "8", "PTYCHO_ACCELERATOR": "cpu"}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            create_training_payload(data, tmp_path / "out", environ=environ)
        assert 1 == len(caught)

    def test_strict_makes_every_unknown_name_an_error(self) -> None:
        """strict_env=True fails on another tool's variable too."""
        with pytest.raises(UnknownKeyError, match=FOREIGN):
            resolve_inference(
                {"model_path": "m", "test_data_file": "t"}, environ={FOREIGN: "x"}, strict_env=True
            )

    def test_not_strict_makes_no_unknown_name_an_error(self) -> None:
        """strict_env=False only warns, typos included, and keeps the suggestion."""
        with pytest.warns(UserWarning, match="PTYCHO_BATCHSIZE ignored; did you mean"):
            resolved = resolve_training(environ={"PTYCHO_BATCHSIZE": "32"}, strict_env=False)
        assert 16 == resolved.training_config.batch_size

    @given(name=st.sampled_from(KNOWN), data=st.data())
    def test_one_deletion_from_a_long_name_is_a_typo_of_it(
        self, name: str, data: st.DataObject
    ) -> None:
        """For every known name of 9 or more letters, dropping one letter makes a typo-like name."""
        rest = name.removeprefix("PTYCHO_")
        if len(rest) < 9:
            return
        where = data.draw(st.integers(0, len(rest) - 1))
        typo = "PTYCHO_" + rest[:where] + rest[where + 1 :]
        if typo in KNOWN:
            return
        assert typo_suggestions(typo), f"{typo} is not taken for a typo of {name}"

    @given(name=st.sampled_from(KNOWN))
    def test_known_names_still_resolve(self, name: str) -> None:
        """No known name is taken for an unknown one (the policy only sees unknown names)."""
        found = [lookup_env(name, kind) for kind in PAYLOAD_SECTIONS]
        assert any(getattr(f, "reason", None) != "unknown" for f in found)


class TestDotEnvAndSecrets:
    """.env files and secrets directories, read by pydantic-settings, each with provenance."""

    def test_dotenv_values_with_provenance(self, tmp_path: Path) -> None:
        """A .env value resolves, and provenance names the file."""
        env_file = write(tmp_path / ".env", "# comment\nPTYCHO_BATCH_SIZE=32\nOTHER=1\n")
        resolved = resolve_training(environ={}, env_file=env_file)
        assert 32 == resolved.training_config.batch_size
        assert f"dotenv ({env_file})" == str(resolved.provenance["training.batch_size"])

    @pytest.mark.parametrize("switch", ["PTYCHO_PROFILE", "PTYCHO_CONFIG_FILE", "ptycho_env_file"])
    def test_a_switch_in_a_file_is_an_error(self, tmp_path: Path, switch: str) -> None:
        """A switch is read from the environment only: in a file it would be silently dropped
        (PTYCHO_PROFILE=ci in run.env would not pin the CI profile)."""
        env_file = write(tmp_path / ".env", f"PTYCHO_N_GROUPS=4\n{switch}=ci\n")
        with pytest.raises(PtychoConfigError, match=f"{switch}.*environment or its command-line"):
            resolve_training(environ={}, env_file=env_file)
        folder = secrets(tmp_path / "run", PTYCHO_N_GROUPS="4", **{switch: "ci"})
        with pytest.raises(PtychoConfigError, match=f"{switch}.*environment or its command-line"):
            resolve_training(environ={}, secrets_dir=folder)

    @pytest.mark.parametrize(
        ("variable", "argument"),
        [
            ("PTYCHO_CONFIG_FILE", "config_file"),
            ("ptycho_env_file", "env_file"),
            ("PTYCHO_SECRETS_DIR", "secrets_dir"),
            ("PTYCHO_PROFILE", "profile"),
        ],
    )
    def test_an_empty_switch_names_its_variable(self, variable: str, argument: str) -> None:
        """An empty switch is refused naming the variable it came from (where to fix it); an
        empty argument names the argument."""
        with pytest.raises(PtychoConfigError) as caught:
            resolve_training(environ={variable: ""})
        assert variable.upper() in str(caught.value)
        assert variable.upper() == caught.value.problems[0].key
        with pytest.raises(PtychoConfigError) as caught:
            resolve_training(environ={}, **{argument: ""})
        assert "PTYCHO_" not in str(caught.value)

    def test_secret_values_with_provenance(self, tmp_path: Path) -> None:
        """A secret file's stripped content resolves, and provenance names the file."""
        folder = secrets(tmp_path / "run", PTYCHO_NEPOCHS="7", unrelated="x")
        resolved = resolve_training(environ={}, secrets_dir=folder)
        assert 7 == resolved.training_config.nepochs
        expected = f"secret ({folder / 'PTYCHO_NEPOCHS'})"
        assert expected == str(resolved.provenance["training.nepochs"])

    def test_secret_content_is_stripped(self, tmp_path: Path) -> None:
        """A secret's value is its file's content stripped (files end with a newline): a path,
        which is otherwise taken exactly as written, names the folder without it."""
        folder = secrets(tmp_path / "run", PTYCHO_OUTPUT_DIR=" results\t")
        resolved = resolve_training(environ={}, secrets_dir=folder)
        assert Path("results") == resolved.training_config.output_dir

    def test_secret_values_never_show_in_errors(self, tmp_path: Path) -> None:
        """An invalid secret is reported by its file, its content redacted."""
        folder = secrets(tmp_path / "run", PTYCHO_BATCH_SIZE="s3cr3t")
        with pytest.raises(InvalidValueError) as caught:
            resolve_training(environ={}, secrets_dir=folder)
        message = str(caught.value)
        assert "s3cr3t" not in message
        assert f"secret {folder / 'PTYCHO_BATCH_SIZE'}" in message

    def test_kubernetes_secret_volume_layout(self, tmp_path: Path) -> None:
        """Files that are links into a hidden timestamped folder, as Kubernetes mounts them."""
        folder = tmp_path / "run"
        data = folder / "..2026_11_29_00_00_00.000"
        data.mkdir(parents=True)
        write(data / "PTYCHO_NEPOCHS", "7")
        (folder / "..data").symlink_to(data.name)
        (folder / "PTYCHO_NEPOCHS").symlink_to("..data/PTYCHO_NEPOCHS")
        resolved = resolve_training(environ={}, secrets_dir=folder)
        assert 7 == resolved.training_config.nepochs

    def test_foreign_secret_is_skipped(self, tmp_path: Path) -> None:
        """Another tool's PTYCHO_* secret is skipped like a foreign variable."""
        folder = secrets(tmp_path / "run", PTYCHO_FLUX_SWEEP_TOKEN="x")
        with pytest.warns(UserWarning, match="PTYCHO_FLUX_SWEEP_TOKEN .from secret"):
            resolved = resolve_training(environ={}, secrets_dir=folder)
        assert 1 == len(resolved.ignored)

    def test_switches_name_the_file_and_the_directory(self, tmp_path: Path) -> None:
        """PTYCHO_ENV_FILE and PTYCHO_SECRETS_DIR work like the arguments."""
        env_file = write(tmp_path / "run.env", "PTYCHO_BATCH_SIZE=32\n")
        folder = secrets(tmp_path / "run", PTYCHO_NEPOCHS="7")
        environ = {"PTYCHO_ENV_FILE": str(env_file), "PTYCHO_SECRETS_DIR": str(folder)}
        resolved = resolve_training(environ=environ)
        assert (32, 7) == (resolved.training_config.batch_size, resolved.training_config.nepochs)

    def test_arguments_beat_the_switches(self, tmp_path: Path) -> None:
        """An env_file argument replaces PTYCHO_ENV_FILE."""
        chosen = write(tmp_path / "a.env", "PTYCHO_BATCH_SIZE=32\n")
        environ = {"PTYCHO_ENV_FILE": str(tmp_path / "missing.env")}
        assert 32 == resolve_training(environ=environ, env_file=chosen).value("training.batch_size")

    def test_dotenv_follows_the_environment_rules(self, tmp_path: Path) -> None:
        """Bare names, aliases, any case and sectioned names work in a .env file."""
        text = "ptycho_max_epochs=9\nPTYCHO_MODEL__N=128\nexport PTYCHO_GRID_SIZE='2,2'\n"
        resolved = resolve_training(environ={}, env_file=write(tmp_path / ".env", text))
        config = resolved.training_config
        assert (9, 128, 2) == (config.nepochs, config.model.N, config.model.gridsize)

    def test_dotenv_typo_is_an_error_naming_the_file(self, tmp_path: Path) -> None:
        """A typo in a .env file fails like one in the environment, naming the file."""
        env_file = write(tmp_path / ".env", "PTYCHO_BATCHSIZE=32\n")
        with pytest.raises(UnknownKeyError, match=f"dotenv {env_file}.*PTYCHO_BATCH_SIZE"):
            resolve_training(environ={}, env_file=env_file)

    def test_dotenv_line_without_value_is_an_error(self, tmp_path: Path) -> None:
        """A bare name line in a .env file is reported, not dropped."""
        env_file = write(tmp_path / ".env", "PTYCHO_BATCH_SIZE\n")
        with pytest.raises(InvalidValueError, match=r"PTYCHO_BATCH_SIZE.*has no value"):
            resolve_training(environ={}, env_file=env_file)

    def test_missing_env_file(self, tmp_path: Path) -> None:
        """A named .env file that does not exist is a file-not-found error."""
        with pytest.raises(ConfigFileNotFoundError, match=r"(?i)env file not found"):
            resolve_training(environ={}, env_file=tmp_path / "missing.env")

    def test_missing_secrets_directory(self, tmp_path: Path) -> None:
        """A named secrets directory that does not exist is a file-not-found error."""
        with pytest.raises(ConfigFileNotFoundError, match=r"(?i)secrets directory not found"):
            resolve_training(environ={}, secrets_dir=tmp_path / "missing")

    @pytest.mark.parametrize(
        ("switch", "what"),
        [
            ("PTYCHO_CONFIG_FILE", "Config file"),
            ("PTYCHO_ENV_FILE", "Env file"),
            ("PTYCHO_SECRETS_DIR", "Secrets directory"),
        ],
    )
    def test_a_switch_naming_nothing_is_named(self, tmp_path: Path, switch: str, what: str) -> None:
        """A path from a switch variable that names nothing says which variable gave it; the
        same path as an argument is the caller's own and is not attributed."""
        missing = tmp_path / "missing.yaml"
        with pytest.raises(ConfigFileNotFoundError) as caught:
            resolve_training(environ={switch: str(missing)})
        assert str(caught.value) == f"{what} not found: {missing} (named by {switch})"
        assert caught.value.problems[0].key == switch
        argument = {"PTYCHO_CONFIG_FILE": "config_file", "PTYCHO_ENV_FILE": "env_file"}
        with pytest.raises(ConfigFileNotFoundError) as caught:
            resolve_training(environ={}, **{argument.get(switch, "secrets_dir"): missing})
        assert str(caught.value) == f"{what} not found: {missing}"

    @pytest.mark.parametrize("what", ["env_file", "secret"])
    def test_fifo_is_refused_without_blocking(self, tmp_path: Path, what: str) -> None:
        """A FIFO where a file belongs is an error at once, never a read that blocks."""
        folder = tmp_path / "run"
        folder.mkdir()
        fifo = folder / "PTYCHO_NEPOCHS"
        os.mkfifo(fifo)
        arguments = {"env_file": fifo} if what == "env_file" else {"secrets_dir": folder}
        with pytest.raises(FileReadError, match="not a regular file"):
            resolve_training(environ={}, **arguments)

    def test_unlistable_secrets_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A secrets directory that cannot be listed is an error naming it (the refusal is
        stubbed: CI runs as root, who may list any directory)."""
        folder = secrets(tmp_path / "run", PTYCHO_NEPOCHS="3")
        real_iterdir = Path.iterdir

        def refusing(path: Path) -> Any:
            if path == folder:
                raise PermissionError(13, "Permission denied", str(path))
            return real_iterdir(path)

        monkeypatch.setattr(Path, "iterdir", refusing)
        with pytest.raises(FileReadError, match="cannot read secrets directory"):
            resolve_training(environ={}, secrets_dir=folder)

    def test_huge_file_is_refused(self, tmp_path: Path) -> None:
        """A .env file beyond the size cap is an error, not read."""
        env_file = write(tmp_path / ".env", "# padding\n" * 200_000)
        with pytest.raises(FileReadError, match="larger than"):
            resolve_training(environ={}, env_file=env_file)

    def test_directory_as_env_file(self, tmp_path: Path) -> None:
        """A directory given as the .env file is an error."""
        with pytest.raises(FileReadError, match=r"not a (regular )?file"):
            resolve_training(environ={}, env_file=tmp_path)

    def test_file_as_secrets_directory(self, tmp_path: Path) -> None:
        """A file given as the secrets directory is an error."""
        with pytest.raises(FileReadError, match="not a directory"):
            resolve_training(environ={}, secrets_dir=write(tmp_path / "f", "x"))

    def test_non_utf8_env_file(self, tmp_path: Path) -> None:
        """A .env file that is not UTF-8 is an error naming it."""
        env_file = tmp_path / ".env"
        env_file.write_bytes(b"PTYCHO_NEPOCHS=\xff\xfe\n")
        with pytest.raises(FileReadError, match="env file"):
            resolve_training(environ={}, env_file=env_file)

    def test_dotenv_sets_n_groups_for_the_factory(self, tmp_path: Path) -> None:
        """n_groups from a .env file counts as given."""
        env_file = write(tmp_path / ".env", "PTYCHO_N_GROUPS=8\nPTYCHO_ACCELERATOR=cpu\n")
        data = write_npz(tmp_path / "train.npz")
        payload = create_training_payload(data, tmp_path / "out", environ={}, env_file=env_file)
        assert 8 == payload.training_config.n_groups
        assert "dotenv" == payload.provenance["training.n_groups"].kind


class TestSettingsSources:
    """Any pydantic-settings source is a layer of kind settings, named in provenance."""

    def test_custom_source_values_with_provenance(self) -> None:
        """A dict-backed secret store's values resolve with the source's class in provenance."""
        vault = Vault({"training": {"batch_size": "64"}, "seed": 5})
        resolved = resolve_training(environ={}, settings_sources=[vault])
        assert (64, 5) == (resolved.training_config.batch_size, resolved.execution_config.seed)
        assert "settings (Vault)" == str(resolved.provenance["training.batch_size"])

    def test_unknown_key_from_a_source_is_an_error(self) -> None:
        """A key no schema declares is reported with the source, not dropped."""
        with pytest.raises(UnknownKeyError, match="settings Vault"):
            resolve_training(environ={}, settings_sources=[Vault({"batch_sise": 8})])

    def test_not_a_source(self) -> None:
        """Anything but a PydanticBaseSettingsSource is a TypeError."""
        with pytest.raises(TypeError, match="PydanticBaseSettingsSource"):
            resolve_training(environ={}, settings_sources=[{"batch_size": 8}])

    def test_pydantic_settings_own_source(self, tmp_path: Path) -> None:
        """A source pydantic-settings ships (JSON here) works on the settings class's fields."""
        from pydantic_settings import JsonConfigSettingsSource

        from ptycho_config.settings import TrainingSettings

        path = tmp_path / "vault.json"
        path.write_text('{"training": {"nepochs": 4}, "execution": {"seed": 9}}', "utf-8")
        source = JsonConfigSettingsSource(TrainingSettings, json_file=path)
        resolved = resolve_training(environ={}, settings_sources=[source])
        assert (4, 9) == (resolved.training_config.nepochs, resolved.execution_config.seed)
        expected = "settings (JsonConfigSettingsSource)"
        assert expected == str(resolved.provenance["execution.seed"])

    def test_factory_asks_each_source_once(self, tmp_path: Path) -> None:
        """A factory reads its sources twice (n_groups first) but calls a remote store once."""
        calls: list[int] = []

        class Counting(Vault):
            def __call__(self) -> dict[str, Any]:
                calls.append(1)
                return super().__call__()

        data = write_npz(tmp_path / "train.npz")
        source = Counting({"n_groups": 8, "accelerator": "cpu"})
        create_training_payload(data, tmp_path / "o", environ={}, settings_sources=[source])
        assert [1] == calls

    def test_factory_takes_settings_sources(self, tmp_path: Path) -> None:
        """The factories take settings_sources too."""
        data = write_npz(tmp_path / "train.npz")
        vault = Vault({"n_groups": 8, "accelerator": "cpu"})
        payload = create_training_payload(
            data, tmp_path / "o", environ={}, settings_sources=[vault]
        )
        assert "settings" == payload.provenance["training.n_groups"].kind


class TestPrecedence:
    """override > execution_config > env > dotenv > secret > settings > file, pair by pair."""

    KINDS = ("override", "execution_config", "env", "dotenv", "secret", "settings", "file")

    def test_kinds_follow_source_kinds(self) -> None:
        """The kinds tested here appear in SOURCE_KINDS in this order."""
        assert list(self.KINDS) == [k for k in SOURCE_KINDS if k in self.KINDS]

    @pytest.mark.parametrize(("higher", "lower"), list(itertools.combinations(KINDS, 2)))
    def test_higher_wins(self, tmp_path: Path, higher: str, lower: str) -> None:
        """Of two sources setting num_workers, the higher one's value wins."""
        value = {higher: 2, lower: 5}
        arguments: dict[str, Any] = {"environ": {}}
        for kind, workers in value.items():
            text = str(workers)
            if kind == "override":
                arguments["overrides"] = {"num_workers": workers}
            elif kind == "execution_config":
                arguments["execution_config"] = ExecutionConfig(num_workers=workers)
            elif kind == "env":
                arguments["environ"] = {"PTYCHO_NUM_WORKERS": text}
            elif kind == "dotenv":
                arguments["env_file"] = write(tmp_path / ".env", f"PTYCHO_NUM_WORKERS={text}\n")
            elif kind == "secret":
                arguments["secrets_dir"] = secrets(tmp_path / "run", PTYCHO_NUM_WORKERS=text)
            elif kind == "settings":
                arguments["settings_sources"] = [Vault({"execution": {"num_workers": text}})]
            else:
                config = write(tmp_path / "c.yaml", f"execution:\n  num_workers: {text}\n")
                arguments["config_file"] = config
        resolved = resolve_training(**arguments)
        assert 2 == resolved.execution_config.num_workers
        assert higher == resolved.provenance["execution.num_workers"].kind


class TestLazyImports:
    """The default call never imports pydantic-settings (or python-dotenv)."""

    def test_default_call(self, tmp_path: Path) -> None:
        """create_training_payload(npz, out, {'n_groups': 8}) leaves them unimported."""
        data = write_npz(tmp_path / "train.npz")
        code = (
            "import sys\n"
            "from ptycho_config import create_training_payload\n"
            f"create_training_payload({str(data)!r}, {str(tmp_path / 'o')!r}, {{'n_groups': 8}})\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pydantic_settings', 'dotenv', 'torch')))\n"
        )
        environ = {"PATH": os.environ.get("PATH", "")}
        result = subprocess.run(
            [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
        )
        assert "[]" == result.stdout.strip()


class DownVault(Vault):
    """A secret store that cannot be reached."""

    def __call__(self) -> dict[str, Any]:
        raise ConnectionError("vault down")


class TestHostileSources:
    """Every failure of a source is one of the library's errors, naming the source."""

    def test_secret_that_is_not_text(self, tmp_path: Path) -> None:
        """A secret file that is not UTF-8 is a FileReadError, not pydantic-settings' error."""
        folder = secrets(tmp_path / "run")
        (folder / "PTYCHO_NEPOCHS").write_bytes(b"\xff\xfe3\n")
        with pytest.raises(FileReadError, match="secrets directory"):
            resolve_training(environ={}, secrets_dir=folder)

    def test_settings_source_that_fails(self) -> None:
        """A settings source that raises is a PtychoConfigError naming it, chained."""
        with pytest.raises(PtychoConfigError, match="DownVault failed: ConnectionError") as caught:
            resolve_training(environ={}, settings_sources=[DownVault({})])
        assert isinstance(caught.value.__cause__, ConnectionError)

    def test_settings_source_that_returns_no_mapping(self) -> None:
        """A settings source returning a list is a PtychoConfigError, not a TypeError."""

        class Listing(Vault):
            def __call__(self) -> Any:
                return ["nepochs"]

        with pytest.raises(PtychoConfigError, match="Listing returned list"):
            resolve_training(environ={}, settings_sources=[Listing({})])

    @pytest.mark.parametrize("switch", ["PTYCHO_PROFILE", "PTYCHO_ENV_FILE", "PTYCHO_SECRETS_DIR"])
    def test_two_spellings_of_a_switch(self, switch: str) -> None:
        """A reserved switch under two letter cases with different values is a conflict."""
        environ = {switch: "ci", switch.lower(): "other"}
        with pytest.raises(ConflictError, match=f"{switch} is given twice"):
            resolve_training(environ=environ)


class TestScanningTheProcessEnvironment:
    """os.environ is scanned through its encoded names; the answer is the plain scan's."""

    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["PTYCHO_", "ptycho_", "Ptycho_", "PTYCHO", "P", "XPTYCHO_", ""]),
                st.text(
                    st.characters(exclude_categories=["Cs"], exclude_characters="=\0")
                    | st.sampled_from(
                        ["\udcff", "\udc80"]
                    ),  # undecodable bytes, as Python shows them
                    max_size=6,
                ),
                st.text(
                    st.characters(exclude_categories=["Cs"], exclude_characters="\0"), max_size=4
                ),
            ),
            max_size=6,
        )
    )
    def test_same_as_scanning_a_copy(self, variables: list[tuple[str, str, str]]) -> None:
        """Whatever names are set, the PTYCHO_* variables found are those a plain scan finds."""
        added = {prefix + rest: value for prefix, rest, value in variables if prefix + rest}
        before = dict(os.environ)
        try:
            os.environ.update(added)
            assert ptycho_variables(dict(os.environ)) == ptycho_variables(os.environ)
        finally:
            os.environ.clear()
            os.environ.update(before)
