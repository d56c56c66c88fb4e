"""The portable export: only what explicit sources set, and it resolves back to the same run."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptycho_config import (
    ExecutionConfig,
    create_inference_payload,
    create_training_payload,
    fingerprint,
    resolve_training,
    save_snapshot,
    to_env,
)
from ptycho_config._factories.export import EXPORTED_KINDS
from ptycho_config._schemas.registry import KEYS, SHARED_FIELDS
from ptycho_config._sources.environment import env_text
from ptycho_config.testing import execution_configs, training_configs
from tests.conftest import make_model_dir, write_npz

SCRIPT = str(Path(sys.executable).with_name("ptycho-config"))


def values_of(training: Any, execution: ExecutionConfig) -> dict[str, Any]:
    """Every value of two configs by qualified key; the fields both declare take training's."""
    values = {f"model.{k}": v for k, v in training.model.model_dump().items()}
    values |= {f"torch.{k}": v for k, v in training.torch.model_dump(exclude_unset=True).items()}
    values |= {
        f"training.{k}": v for k, v in training.model_dump().items() if f"training.{k}" in KEYS
    }
    values |= {f"execution.{k}": v for k, v in execution.model_dump().items()}
    return values | {f"execution.{name}": values[f"training.{name}"] for name in SHARED_FIELDS}


class TestWhatIsExported:
    """Explicit sources are exported; inferred, checkpoint and host-resolved values are not."""

    def test_explicit_kinds(self) -> None:
        """The exported kinds are the explicit ones, nothing from data, models or defaults."""
        explicit = {"override", "execution_config", "env", "dotenv", "secret", "settings"}
        assert explicit | {"file", "profile"} == set(EXPORTED_KINDS)

    def test_inferred_values_are_left_out(self, tmp_path: Path) -> None:
        """N read from the data's probe is not exported; an explicit value is."""
        data = write_npz(tmp_path / "train.npz", size=128)
        payload = create_training_payload(data, tmp_path / "o", {"n_groups": 8}, environ={})
        assert 128 == payload.training_config.model.N
        exported = to_env(payload)
        assert "PTYCHO_MODEL__N" not in exported
        assert "8" == exported["PTYCHO_TRAINING__N_GROUPS"]

    def test_host_resolution_stays_auto(self, tmp_path: Path) -> None:
        """An explicit accelerator 'auto' resolved to 'cpu' here is exported as 'auto'."""
        data = write_npz(tmp_path / "train.npz")
        environ = {"PTYCHO_ACCELERATOR": "auto", "PTYCHO_N_GROUPS": "8"}
        payload = create_training_payload(data, tmp_path / "o", environ=environ)
        assert "cpu" == payload.execution_config.accelerator
        assert "auto" == to_env(payload)["PTYCHO_EXECUTION__ACCELERATOR"]

    def test_defaults_are_left_out(self, tmp_path: Path) -> None:
        """A default accelerator, resolved for this host, is not exported at all."""
        data = write_npz(tmp_path / "train.npz")
        payload = create_training_payload(data, tmp_path / "o", {"n_groups": 8}, environ={})
        assert "PTYCHO_EXECUTION__ACCELERATOR" not in to_env(payload)

    def test_checkpoint_values_are_left_out(self, tmp_path: Path) -> None:
        """The trained model's values, read from its snapshot, are not exported."""
        data = write_npz(tmp_path / "data.npz")
        model = tmp_path / "model"
        make_model_dir(model)
        trained = create_training_payload(
            data, tmp_path / "o", {"n_groups": 8, "gridsize": 2}, environ={}
        )
        save_snapshot(trained, model)
        payload = create_inference_payload(model, data, tmp_path / "i", {"n_groups": 8}, environ={})
        assert "checkpoint" == payload.provenance["model.gridsize"].kind
        exported = to_env(payload)
        assert "PTYCHO_MODEL__GRIDSIZE" not in exported
        assert str(model) == exported["PTYCHO_INFERENCE__MODEL_PATH"]


class TestRoundTrip:
    """Exported, then resolved from a clean environment: the same configuration."""

    @given(training_configs(), execution_configs(), st.data())
    def test_resolution(
        self, training: Any, execution: ExecutionConfig, data: st.DataObject
    ) -> None:
        """Any mix of overrides and environment exports to a fingerprint-preserving env."""
        values = values_of(training, execution)
        in_env = data.draw(st.sets(st.sampled_from(sorted(values))))
        overrides = {k: v for k, v in values.items() if k not in in_env}
        environ = {KEYS[k].env: env_text(values[k]) for k in in_env}
        original = resolve_training(overrides, environ=environ)
        exported = to_env(original)
        assert all(
            original.provenance[k].kind in EXPORTED_KINDS for k in KEYS if KEYS[k].env in exported
        )
        assert fingerprint(original) == fingerprint(resolve_training(environ=exported))

    def test_console_script(self, tmp_path: Path) -> None:
        """The real script's export, sourced by a shell in a clean environment, replays the run."""
        base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        data = write_npz(tmp_path / "train.npz", size=128)
        command = [SCRIPT, "train", "--train-data", str(data), "--output-dir", "out"]
        first = [*command, "--set", "n_groups=8", "--set", "accelerator=auto"]
        exported = subprocess.run(
            [*first, "--format", "env"], env=base, capture_output=True, text=True, check=True
        ).stdout
        assert "PTYCHO_EXECUTION__ACCELERATOR=auto" in exported.splitlines()
        assert "PTYCHO_MODEL__N" not in exported
        env_file = tmp_path / "run.env"
        env_file.write_text(exported + "\n", encoding="utf-8")
        original = subprocess.run(first, env=base, capture_output=True, text=True, check=True)
        shell = f"set -a; . {shlex.quote(str(env_file))}; set +a; exec {shlex.join(command)}"
        replayed = subprocess.run(
            ["sh", "-c", shell], env=base, capture_output=True, text=True, check=True
        )
        assert _fingerprint(original.stdout) == _fingerprint(replayed.stdout)


def _fingerprint(table: str) -> str:
    return next(line for line in table.splitlines() if line.startswith("fingerprint"))


@pytest.mark.parametrize("command", ["train", "infer"])
def test_example_export_holds_no_inferred_or_checkpoint_value(command: str) -> None:
    """The bundled example's export names only explicitly set keys."""
    result = subprocess.run(
        [SCRIPT, command, "--example", "--format", "env"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    names = {line.split("=", 1)[0] for line in result.stdout.splitlines()}
    assert "PTYCHO_MODEL__N" not in names
    assert "PTYCHO_MODEL__GRIDSIZE" not in names
    assert "PTYCHO_EXECUTION__SEED" in names


class _Opaque:
    """A value pydantic has no JSON form for, as an extension's list may hold."""

    def __str__(self) -> str:
        return "opaque"


def test_a_value_with_no_json_form_is_written_as_its_text() -> None:
    """env_text writes what JSON cannot hold as its text, as for any other value, rather than
    failing the whole export."""
    assert '["opaque", 1]' == env_text([_Opaque(), 1])
    assert '{"a": "opaque"}' == env_text({"a": _Opaque()})
