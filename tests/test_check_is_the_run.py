"""`check RUN ARGS` is the run: it fails exactly when `RUN ARGS` and the factory fail, with
the same error (class, exit status and problems), for inputs spread over every source.

The existing properties (tests/test_environment_run.py) draw the environment alone, or
`--set` and path flags. Here each drawn value goes to one of the overrides, the environment,
a .env file, a secrets directory or a config file, under a profile or not, against a trained
model directory whose snapshot may disagree, with some inputs broken on purpose (a bad value,
a typo of a variable, a missing or unreadable path or source file, no n_groups).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptycho_config import (
    PtychoConfigError,
    create_inference_payload,
    create_training_payload,
    save_snapshot,
)
from ptycho_config.__main__ import EXIT_OK, main
from ptycho_config._factories.export import env_quoted
from ptycho_config._factories.factories import PATH_FLAGS, RUN_PATHS
from ptycho_config._schemas.registry import KEYS, env_spellings, keys_of
from ptycho_config._sources.config_file import dump_yaml
from ptycho_config._sources.environment import env_text
from ptycho_config.testing import values
from ptycho_config.testing._configs import valid_flat
from tests.conftest import make_model_dir, write_npz

RUNS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
COMMANDS = {"training": "train", "inference": "infer"}
SOURCES = ("set", "env", "dotenv", "secret", "file")
PATH_NAMES = ("train_data_file", "test_data_file", "model_path", "output_dir")
# Text many fields refuse (a key that takes it breaks nothing: both sides must agree anyway).
BROKEN = ["-1", "0", "1.5", "x", "1_000", "nan", "maybe", "[1,", "none", ""]


@pytest.fixture(scope="module")
def files() -> Iterator[dict[str, Path]]:
    """Data files (a 64² and a 128² probe, a file that is no NPZ), models with a snapshot."""
    folder = Path(tempfile.mkdtemp())
    try:
        (folder / "broken.npz").write_bytes(b"no zip")
        model = make_model_dir(folder / "model")
        trained = create_training_payload(
            write_npz(folder / "d64.npz"), folder / "o", {"n_groups": 8, "gridsize": 2},
            environ={},
        )  # fmt: skip
        save_snapshot(trained, model)
        yield {
            "d64": folder / "d64.npz",
            "d128": write_npz(folder / "d128.npz", size=128),
            "broken": folder / "broken.npz",
            "absent": folder / "absent.npz",
            "model": model,
            "bare model": make_model_dir(folder / "bare"),  # no snapshot
            "no model": folder,  # no archive
            "out": folder / "out",
            "work": folder,
        }
    finally:
        shutil.rmtree(folder)


@dataclass
class Inputs:
    """Where each value goes: argv of the run, its environment and the files written."""

    argv: list[str] = field(default_factory=list)
    environ: dict[str, str] = field(default_factory=dict)
    dotenv: dict[str, str] = field(default_factory=dict)
    secret: dict[str, str] = field(default_factory=dict)
    file: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    switched: set[str] = field(default_factory=set)  # options given by their variable instead
    unreadable: str | None = None  # the source whose file is written broken

    def place(self, where: str, key: str, text: str, variable: str) -> None:
        if where == "set":
            self.overrides[key] = text
        elif where == "env":
            self.environ[variable] = text
        elif where in ("dotenv", "secret"):
            getattr(self, where)[variable] = text
        else:
            section, name = key.split(".", 1)
            self.file.setdefault(section, {})[name] = text


@st.composite
def run_inputs(draw: st.DrawFn, kind: Any, files: dict[str, Path]) -> Inputs:
    """A run's inputs over every source, some of them broken."""
    inputs = Inputs()
    flat = draw(valid_flat(kind))
    for key, value in flat.items():
        if KEYS[key].name in PATH_NAMES or KEYS[key].name == "n_groups":
            continue
        variable = draw(st.sampled_from(env_spellings(KEYS[key], kind)))
        inputs.place(draw(st.sampled_from(SOURCES)), key, env_text(value), variable)
    with_n_groups = draw(st.sampled_from([True, True, True, False]))  # else: required, missing
    if with_n_groups:
        key = f"{kind}.n_groups"
        text = env_text(draw(values(key).filter(lambda n: n is not None)))
        inputs.place(draw(st.sampled_from(SOURCES)), key, text, KEYS[key].env)
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):  # a bad value, typo, unknown name
        key = draw(st.sampled_from(sorted(keys_of(kind))))
        what = draw(st.sampled_from(["value", "typo", "unknown"]))
        if what == "value":
            text = draw(st.sampled_from(BROKEN))
            inputs.place(draw(st.sampled_from(SOURCES)), key, text, KEYS[key].env)
        elif what == "typo":
            inputs.environ[KEYS[key].env.replace("_", "", 1 + KEYS[key].env.count("__"))] = "1"
        else:
            inputs.environ["PTYCHO_FLUX_SWEEP_SCRATCH"] = "/scratch"
    # mostly usable paths; an existing file is no output folder
    choices = {
        "train_data_file": ["d64", "d64", "d128", "broken", "absent", None],
        "test_data_file": ["d64", "d64", "d128", "broken", "absent", None],
        "model_path": ["model", "model", "bare model", "no model", None],
        "output_dir": ["out", "out", "out", "d64", None],
    }
    for name in RUN_PATHS[kind]:
        chosen = draw(st.sampled_from(choices[name]))
        if chosen is None:
            continue
        text = str(files[chosen])
        where = draw(st.sampled_from(["flag", *SOURCES]))
        if where == "flag":
            inputs.paths[name] = text
            inputs.argv.append(f"{PATH_FLAGS[name]}={text}")
        else:
            key = f"{kind}.{name}"
            inputs.place(where, key, text, KEYS[key].env)
    # a file that cannot be read: a YAML error, a line of no assignment, a secret not in UTF-8
    inputs.unreadable = draw(st.sampled_from([None, None, None, None, "file", "dotenv", "secret"]))
    if draw(st.sampled_from([False, False, False, True])):  # the bundled example's files
        inputs.argv.append("--example")
    inputs.profile = draw(st.sampled_from([None, "ci"]))
    inputs.switched = draw(st.sets(st.sampled_from(sorted(SWITCHES))))
    return inputs


SWITCHES = {
    "--env-file": "PTYCHO_ENV_FILE",
    "--secrets-dir": "PTYCHO_SECRETS_DIR",
    "--config": "PTYCHO_CONFIG_FILE",
    "--profile": "PTYCHO_PROFILE",
}


def _written(inputs: Inputs, folder: Path) -> list[str]:
    """The files the inputs name, written into ``folder``; the options that name them."""
    options = []
    broken = inputs.unreadable
    if inputs.dotenv or broken == "dotenv":
        path = folder / "run.env"
        lines = [f"{name}={env_quoted(text)}\n" for name, text in inputs.dotenv.items()]
        path.write_text("".join(lines) + ("no assignment\n" if broken == "dotenv" else ""), "utf-8")
        options.append(f"--env-file={path}")
    if inputs.secret or broken == "secret":
        secrets = folder / "secrets"
        shutil.rmtree(secrets, ignore_errors=True)
        secrets.mkdir()
        for name, text in inputs.secret.items():
            (secrets / name).write_text(text, encoding="utf-8")
        if broken == "secret":
            (secrets / "PTYCHO_NOTES").write_bytes(b"\xff")
        options.append(f"--secrets-dir={secrets}")
    if inputs.file or broken == "file":
        path = folder / "config.yaml"
        path.write_text(dump_yaml(inputs.file) + ("a: [\n" if broken == "file" else ""), "utf-8")
        options.append(f"--config={path}")
    if inputs.profile is not None:
        options.append(f"--profile={inputs.profile}")
    return options


def _cli(argv: list[str], environ: dict[str, str]) -> tuple[int, str]:
    """Exit code and the error lines (warnings left out) of the command in-process."""
    err = io.StringIO()
    with (
        mock.patch.dict(os.environ, environ, clear=True),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(err),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        code = main(argv)
    lines = [line for line in err.getvalue().splitlines() if "warning:" not in line]
    return code, "\n".join(lines)


def _factory(kind: Any, inputs: Inputs, options: list[str]) -> PtychoConfigError | None:
    """The factory's error for the same inputs (None when it succeeds)."""
    given = dict(
        option.removeprefix("--").split("=", 1) for option in options if "--set" not in option
    )
    arguments = {
        "overrides": inputs.overrides,
        "environ": inputs.environ,
        "env_file": given.get("env-file"),
        "secrets_dir": given.get("secrets-dir"),
        "config_file": given.get("config"),
        "profile": given.get("profile"),
    }
    factory = create_training_payload if kind == "training" else create_inference_payload
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            factory(**inputs.paths, **arguments)
        except PtychoConfigError as error:
            return error
    return None


@RUNS
@given(
    kind=st.sampled_from(["training", "inference"]),
    form=st.sampled_from(["table", "json", "yaml", "env", "legacy", "config"]),
    data=st.data(),
)
def test_check_fails_as_the_run_and_the_factory_fail(
    files: dict[str, Path], kind: Any, form: str, data: Any
) -> None:
    """`check RUN ARGS`, `RUN ARGS` and the factory agree: all succeed, or all fail with the
    same exit status and the same message (the factory's error, as the command prints it);
    with --example, which no factory argument stands for, the two commands agree."""
    inputs = data.draw(run_inputs(kind, files))
    options = []
    for option in _written(inputs, files["work"]):
        flag, value = option.split("=", 1)
        if flag in inputs.switched:  # PTYCHO_CONFIG_FILE=... instead of --config=...
            inputs.environ[SWITCHES[flag]] = value
        else:
            options.append(option)
    options += [f"--set={key}={text}" for key, text in inputs.overrides.items()]
    command = COMMANDS[kind]
    ran = _cli([command, *inputs.argv, *options, "--format", form], inputs.environ)
    checked = _cli(["check", command, *inputs.argv, *options], inputs.environ)
    assert ran == checked
    if "--example" in inputs.argv:  # no factory argument stands for it
        return
    error = _factory(kind, inputs, options)
    if error is None:
        assert (EXIT_OK, "") == ran
    else:
        prefix = "missing file: " if error.exit_code == 4 else ""
        assert (error.exit_code, f"ptycho-config: {prefix}{error}") == ran
