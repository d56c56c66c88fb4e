"""The factories: check order, error types and prefixes, overrides, audit trail, snapshots."""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ptycho.params
from ptycho_config import (
    ConfigFileNotFoundError,
    ConflictError,
    ExecutionConfig,
    FileReadError,
    MissingValueError,
    OutputError,
    PtychoConfigError,
    SnapshotError,
    TrainingPayload,
    UnknownKeyError,
    create_inference_payload,
    create_training_payload,
    fingerprint,
    load_snapshot,
    save_snapshot,
)
from ptycho_config._errors import ArgumentTypeError
from tests.conftest import CPU, make_model_dir, write_npz
from tests.test_env_sources import Vault


def snapshot_of_cfg() -> dict[str, Any]:
    return dict(ptycho.params.cfg)


def train(train_file: Path, out: Path, overrides: dict[str, Any] | None = None, **kw: Any) -> Any:
    given = {"n_groups": 512, **(overrides or {})}
    return create_training_payload(train_file, out, given, kw.pop("execution", CPU), **kw)


class TestTrainingChecks:
    """The checks of a training payload, in order, leaving nothing changed when they fail."""

    def test_missing_training_file(self, tmp_path: Path) -> None:
        """A missing data file is a FileNotFoundError with the reference's prefix."""
        before = snapshot_of_cfg()
        missing = tmp_path / "nope.npz"
        with pytest.raises(FileNotFoundError, match=f"^Training data file not found: {missing}"):
            create_training_payload(missing, tmp_path / "out", {"n_groups": 1}, environ={})
        assert snapshot_of_cfg() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == []

    def test_n_groups_required(self, train_file: Path, tmp_path: Path) -> None:
        """n_groups must come from an override, the environment or a file."""
        before = snapshot_of_cfg()
        with pytest.raises(MissingValueError, match=r"^n_groups is required") as caught:
            create_training_payload(train_file, tmp_path / "out", {"batch_size": 8}, environ={})
        assert "PTYCHO_N_GROUPS" in str(caught.value)
        assert "config file" in str(caught.value)
        assert snapshot_of_cfg() == before

    def test_n_groups_check_comes_before_resolution(self, train_file: Path, tmp_path: Path) -> None:
        """A missing n_groups is reported before a bad value elsewhere."""
        with pytest.raises(MissingValueError):
            create_training_payload(train_file, tmp_path / "o", {"batch_size": 12}, environ={})

    @pytest.mark.parametrize(
        "environ", [{"PTYCHO_N_GROUPS": "64"}, {"PTYCHO_TRAINING__N_GROUPS": "64"}]
    )
    def test_n_groups_from_environment(
        self, train_file: Path, tmp_path: Path, environ: dict[str, str]
    ) -> None:
        """n_groups from the environment satisfies the requirement."""
        payload = create_training_payload(train_file, tmp_path / "o", None, CPU, environ=environ)
        assert payload.training_config.n_groups == 64
        assert payload.provenance["training.n_groups"].kind == "env"

    @pytest.mark.parametrize("kind", ["override", "env", "dotenv", "secret", "settings", "file"])
    def test_n_groups_given_by_each_explicit_source(
        self, train_file: Path, tmp_path: Path, kind: str
    ) -> None:
        """n_groups from any source the caller controls satisfies the requirement."""
        arguments: dict[str, Any] = {"environ": {}}
        if kind == "override":
            arguments["overrides"] = {"n_groups": 32}
        elif kind == "env":
            arguments["environ"] = {"PTYCHO_N_GROUPS": "32"}
        elif kind == "dotenv":
            arguments["env_file"] = tmp_path / ".env"
            arguments["env_file"].write_text("PTYCHO_N_GROUPS=32\n", encoding="utf-8")
        elif kind == "secret":
            (tmp_path / "secrets").mkdir()
            (tmp_path / "secrets" / "PTYCHO_N_GROUPS").write_text("32\n", encoding="utf-8")
            arguments["secrets_dir"] = tmp_path / "secrets"
        elif kind == "settings":
            arguments["settings_sources"] = [Vault({"n_groups": "32"})]
        else:
            arguments["config_file"] = tmp_path / "c.yaml"
            arguments["config_file"].write_text("n_groups: 32\n", encoding="utf-8")
        payload = create_training_payload(
            train_file, tmp_path / "o", execution_config=CPU, **arguments
        )
        assert 32 == payload.training_config.n_groups
        assert kind == payload.provenance["training.n_groups"].kind

    def test_resolution_errors_list_everything(self, train_file: Path, tmp_path: Path) -> None:
        """Unknown keys and bad values are reported together, naming their sources."""
        before = snapshot_of_cfg()
        with pytest.raises(PtychoConfigError) as caught:
            train(train_file, tmp_path / "o", {"batch_sise": 8, "nepochs": 0}, environ={})
        message = str(caught.value)
        assert "did you mean 'batch_size'" in message
        assert "training.nepochs = 0 (from override nepochs)" in message
        assert snapshot_of_cfg() == before
        assert not (tmp_path / "o").exists()

    def test_unknown_override_is_not_dropped(self, train_file: Path, tmp_path: Path) -> None:
        """An unknown override fails with a suggestion instead of being ignored."""
        with pytest.raises(UnknownKeyError, match="did you mean 'max_epochs'"):
            train(train_file, tmp_path / "o", {"max_epoch": 3}, environ={})

    def test_output_dir_is_not_created(self, train_file: Path, tmp_path: Path) -> None:
        """Building a payload has no side effect on the file system."""
        train(train_file, tmp_path / "o", environ={})
        assert not (tmp_path / "o").exists()


class TestTrainingOverrides:
    """Reference-style overrides reach the canonical and the backend configs."""

    def test_n_groups_and_batch_size(self, train_file: Path, tmp_path: Path) -> None:
        """n_groups and batch_size land in the config and the audit trail."""
        payload = train(train_file, tmp_path / "o", {"n_groups": 512, "batch_size": 8}, environ={})
        assert payload.training_config.n_groups == 512
        assert payload.pt_training_config.batch_size == 8
        assert payload.overrides_applied["batch_size"] == 8
        assert "overrides_applied=mappingproxy({'n_groups': 512, 'batch_size': 8" in repr(payload)

    def test_gridsize_sets_channels(self, train_file: Path, tmp_path: Path) -> None:
        """gridsize 2 gives four channels everywhere."""
        payload = train(train_file, tmp_path / "o", {"gridsize": 2}, environ={})
        data, model = payload.pt_data_config, payload.pt_model_config
        assert (data.C, model.C_forward, model.C_model) == (4, 4, 4)
        assert data.grid_size == (2, 2)
        assert ptycho.params.cfg["gridsize"] == 2

    def test_max_epochs(self, train_file: Path, tmp_path: Path) -> None:
        """max_epochs is an alias of nepochs and becomes the backend's epochs."""
        payload = train(train_file, tmp_path / "o", {"max_epochs": 20}, environ={})
        assert (payload.training_config.nepochs, payload.pt_training_config.epochs) == (20, 20)
        assert payload.overrides_applied["max_epochs"] == 20

    def test_neighbor_count(self, train_file: Path, tmp_path: Path) -> None:
        """neighbor_count becomes the backend's K."""
        payload = train(train_file, tmp_path / "o", {"neighbor_count": 7}, environ={})
        assert payload.pt_data_config.K == 7

    def test_override_beats_inferred_probe_size(self, train_file: Path, tmp_path: Path) -> None:
        """An explicit N beats the inferred 64, with a warning noted in provenance."""
        with pytest.warns(UserWarning, match=r"model.N = 128 .* contradicts probeGuess .*N = 64"):
            payload = train(train_file, tmp_path / "o", {"N": 128}, environ={})
        assert payload.training_config.model.N == 128
        assert payload.provenance["model.N"].kind == "override"
        expected = "N; contradicts probeGuess in train.npz (N = 64)"
        assert expected == payload.provenance["model.N"].detail

    def test_probe_size_inferred(self, tmp_path: Path) -> None:
        """Without an override, N comes from the data and is in the audit trail."""
        data = write_npz(tmp_path / "t.npz", size=128)
        payload = train(data, tmp_path / "o", environ={})
        assert payload.training_config.model.N == 128
        assert payload.provenance["model.N"].detail == "probeGuess in t.npz"
        assert payload.overrides_applied["N"] == 128

    def test_audit_trail_holds_only_the_data_values_used(self, tmp_path: Path) -> None:
        """An N the environment gives is no override, and the data's N it beats is not used:
        neither is in the audit trail; the photon count read from the data is."""
        data = write_npz(tmp_path / "t.npz", size=128, nphotons=5e8)
        payload = train(data, tmp_path / "o", environ={"PTYCHO_MODEL__N": "128"})
        assert "env" == payload.provenance["model.N"].kind
        applied = dict(payload.overrides_applied)
        assert {"train_data_file", "output_dir", "n_groups", "accelerator", "nphotons"} == set(
            applied
        )
        assert 5e8 == applied["nphotons"]

    def test_nphotons_inferred(self, tmp_path: Path) -> None:
        """nphotons comes from the NPZ metadata when present."""
        data = write_npz(tmp_path / "t.npz", nphotons=5e8)
        payload = train(data, tmp_path / "o", environ={})
        assert payload.training_config.nphotons == 5e8
        assert payload.provenance["training.nphotons"].kind == "inferred"

    def test_probe_fallback_is_recorded(self, tmp_path: Path) -> None:
        """An unreadable probe falls back to 64 with a warning, and provenance says so."""
        data = tmp_path / "t.npz"
        np.savez(data, other=np.zeros(3))
        with pytest.warns(UserWarning, match="probeGuess"):
            payload = train(data, tmp_path / "o", environ={})
        assert payload.training_config.model.N == 64
        assert payload.provenance["model.N"].detail.startswith("fallback 64")

    def test_explicit_execution_config_passes_through(
        self, train_file: Path, tmp_path: Path
    ) -> None:
        """Explicit execution fields arrive unchanged and are audited by field name."""
        execution = ExecutionConfig(
            accelerator="gpu", deterministic=False, enable_progress_bar=True
        )
        payload = train(train_file, tmp_path / "o", execution=execution, environ={})
        assert payload.execution_config == execution
        assert payload.overrides_applied["accelerator"] == "gpu"
        assert payload.provenance["execution.deterministic"].kind == "execution_config"

    def test_auto_accelerator_is_resolved_for_this_host(
        self, train_file: Path, tmp_path: Path
    ) -> None:
        """'auto' becomes a concrete device at payload time, and provenance notes it."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the no-CUDA warning depends on the host
            payload = train(train_file, tmp_path / "o", execution=None, environ={})
        assert payload.execution_config.accelerator in ("cpu", "cuda")
        assert "'auto' resolved to" in payload.provenance["execution.accelerator"].detail

    def test_legacy_dict_populated_last(self, train_file: Path, tmp_path: Path) -> None:
        """The payload's legacy params are what ptycho.params.cfg now holds."""
        payload = train(train_file, tmp_path / "o", {"batch_size": 32}, environ={})
        assert ptycho.params.cfg["batch_size"] == 32
        assert all(ptycho.params.cfg[k] == v for k, v in payload.legacy_params.items())
        assert ptycho.params.cfg["output_prefix"] == str(tmp_path / "o")

    def test_reference_attribute_name(self, train_file: Path, tmp_path: Path) -> None:
        """tf_training_config is the same object as training_config."""
        payload = train(train_file, tmp_path / "o", environ={})
        assert payload.tf_training_config is payload.training_config

    def test_explain_lists_every_key(self, train_file: Path, tmp_path: Path) -> None:
        """explain() has one row per provenance key plus the header."""
        payload = train(train_file, tmp_path / "o", environ={})
        assert len(payload.explain().splitlines()) == len(payload.provenance) + 1

    def test_path_argument_and_override_conflict(self, train_file: Path, tmp_path: Path) -> None:
        """The output directory given twice with different values is an error."""
        with pytest.raises(ConflictError, match="output_dir"):
            train(train_file, tmp_path / "o", {"output_dir": "/elsewhere"}, environ={})

    @pytest.mark.parametrize("paths", [(None, None), ("t.npz", "o")])
    def test_overrides_of_no_mapping(self, paths: tuple[Any, Any]) -> None:
        """Overrides given as pairs are an ArgumentTypeError (a TypeError), with or without
        path arguments, never read as a mapping."""
        with pytest.raises(ArgumentTypeError, match="overrides must be a mapping, got list"):
            create_training_payload(*paths, [("n_groups", 8)], environ={})  # type: ignore[arg-type]

    def test_unreadable_data_file(
        self, train_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A data file that cannot be opened fails with the files' check (docs/errors.md)."""
        real_open = os.open

        def refusing(path: Any, *args: Any, **kwargs: Any) -> int:
            if Path(path) == train_file:
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", refusing)
        expected = f"^cannot read training data file {train_file}: permission denied$"
        with pytest.raises(FileReadError, match=expected):
            train(train_file, tmp_path / "o", environ={})


class TestInferenceChecks:
    """The inference checks, in order."""

    def test_missing_model_directory(self, tmp_path: Path) -> None:
        """A missing model directory is a FileNotFoundError with the reference's prefix."""
        missing = tmp_path / "none"
        with pytest.raises(FileNotFoundError, match=f"^Model directory not found: {missing}"):
            create_inference_payload(missing, tmp_path / "t.npz", tmp_path / "o", environ={})

    def test_missing_model_archive(self, tmp_path: Path) -> None:
        """A model directory without wts.h5.zip is a ValueError naming the archive."""
        (tmp_path / "m").mkdir()
        expected = f"^Model archive not found: {tmp_path / 'm' / 'wts.h5.zip'}"
        with pytest.raises(ValueError, match=expected) as caught:
            create_inference_payload(tmp_path / "m", tmp_path / "t.npz", tmp_path / "o")
        assert not isinstance(caught.value, FileNotFoundError)

    def test_missing_test_file(self, model_dir: Path, tmp_path: Path) -> None:
        """A missing test file is a FileNotFoundError with the reference's prefix."""
        missing = tmp_path / "t.npz"
        with pytest.raises(ConfigFileNotFoundError, match=f"^Test data file not found: {missing}"):
            create_inference_payload(model_dir, missing, tmp_path / "o", environ={})

    def test_n_groups_required(self, model_dir: Path, tmp_path: Path) -> None:
        """Inference needs n_groups too."""
        test = write_npz(tmp_path / "t.npz")
        with pytest.raises(MissingValueError, match=r"^n_groups is required"):
            create_inference_payload(model_dir, test, tmp_path / "o", environ={})


class TestTrainThenInfer:
    """A training snapshot drives the inference payload."""

    def trained(self, tmp_path: Path, model_dir: Path, size: int = 128) -> Any:
        data = write_npz(tmp_path / "train.npz", size=size)
        payload = train(data, tmp_path / "o", {"gridsize": 2}, environ={})
        save_snapshot(payload, model_dir)
        return payload

    def test_checkpoint_does_not_give_n_groups(self, tmp_path: Path, model_dir: Path) -> None:
        """The trained model's snapshot (n_groups=512) does not satisfy inference's n_groups."""
        self.trained(tmp_path, model_dir)
        test = write_npz(tmp_path / "test.npz", size=128)
        with pytest.raises(MissingValueError, match=r"^n_groups is required"):
            create_inference_payload(model_dir, test, tmp_path / "i", None, CPU, environ={})

    def test_model_section_comes_from_the_checkpoint(self, tmp_path: Path, model_dir: Path) -> None:
        """The trained model's settings are the checkpoint source of inference."""
        trained = self.trained(tmp_path, model_dir)
        test = write_npz(tmp_path / "test.npz", size=128)
        payload = create_inference_payload(
            model_dir, test, tmp_path / "i", {"n_groups": 10}, CPU, environ={}
        )
        assert payload.inference_config.model == trained.training_config.model
        assert payload.provenance["model.gridsize"].kind == "checkpoint"
        assert payload.tf_inference_config is payload.inference_config
        assert payload.pt_inference_config.batch_size == trained.training_config.batch_size

    def test_a_choice_spelt_in_another_case_agrees_with_the_checkpoint(
        self, tmp_path: Path, model_dir: Path
    ) -> None:
        """' PINN' is the trained 'pinn' (letter case and spaces do not matter in a choice)."""
        self.trained(tmp_path, model_dir)
        test = write_npz(tmp_path / "test.npz", size=128)
        given = {"n_groups": 10, "model_type": " PINN", "amp_activation": "Sigmoid"}
        payload = create_inference_payload(model_dir, test, tmp_path / "i", given, CPU, environ={})
        assert payload.inference_config.model.model_type == "pinn"
        assert payload.provenance["model.model_type"].kind == "override"

    def test_contradicting_override_fails(self, tmp_path: Path, model_dir: Path) -> None:
        """An override that contradicts the trained gridsize names both values and sources."""
        self.trained(tmp_path, model_dir)
        test = write_npz(tmp_path / "test.npz", size=128)
        before = snapshot_of_cfg()
        with pytest.raises(ConflictError) as caught:
            create_inference_payload(
                model_dir, test, tmp_path / "i", {"n_groups": 10, "gridsize": 3}, CPU, environ={}
            )
        message = str(caught.value)
        assert "override gridsize gives 3" in message
        assert "has 2" in message
        assert "checkpoint" in message
        assert snapshot_of_cfg() == before

    def test_every_model_defining_key_is_checked(self, tmp_path: Path, model_dir: Path) -> None:
        """Each model-defining key docs/factories.md lists, given another value than the
        trained model's, is a conflict: one error naming every one of them."""
        self.trained(tmp_path, model_dir)  # N 128, gridsize 2, the rest at their defaults
        others = {
            "N": 64, "gridsize": 1, "model_type": "supervised", "architecture": "fno",
            "n_filters_scale": 4, "amp_activation": "swish", "object_big": False,
            "probe_big": False, "probe_mask": True, "pad_object": False, "fno_modes": 8,
            "fno_width": 16, "fno_blocks": 2, "fno_cnn_blocks": 1, "learned_input_channels": 2,
            "max_hidden_channels": 64, "resnet_width": 64, "fno_input_transform": "sqrt",
            "generator_output_mode": "amp_phase",
        }  # fmt: skip
        test = write_npz(tmp_path / "test.npz", size=128)
        with pytest.raises(ConflictError) as caught:
            create_inference_payload(
                model_dir, test, tmp_path / "i", {"n_groups": 10, **others}, CPU, environ={}
            )
        assert {f"model.{key}" for key in others} == {p.key for p in caught.value.problems}

    def test_agreeing_override_is_fine(self, tmp_path: Path, model_dir: Path) -> None:
        """Restating the trained value is not a contradiction."""
        self.trained(tmp_path, model_dir)
        test = write_npz(tmp_path / "test.npz", size=128)
        payload = create_inference_payload(
            model_dir, test, tmp_path / "i", {"n_groups": 10, "gridsize": 2}, CPU, environ={}
        )
        assert payload.inference_config.model.gridsize == 2

    def test_test_data_probe_size_differs(self, tmp_path: Path, model_dir: Path) -> None:
        """Test data whose probe size differs from the trained N fails naming both."""
        self.trained(tmp_path, model_dir, size=128)
        test = write_npz(tmp_path / "test.npz", size=64)
        with pytest.raises(ConflictError) as caught:
            create_inference_payload(model_dir, test, tmp_path / "i", {"n_groups": 1}, environ={})
        message = str(caught.value)
        assert "probeGuess in test.npz gives 64" in message
        assert "has 128" in message

    def test_without_snapshot(self, tmp_path: Path, model_dir: Path) -> None:
        """A model trained elsewhere (no snapshot) still works, N inferred from test data."""
        test = write_npz(tmp_path / "test.npz", size=256)
        payload = create_inference_payload(
            model_dir, test, tmp_path / "i", {"n_groups": 1}, CPU, environ={}
        )
        assert payload.inference_config.model.N == 256
        assert ptycho.params.cfg["model_path"] == str(model_dir)


class TestInferenceFromTheTrainedModel:
    """What inference takes from the snapshot besides the model section."""

    def test_fallback_probe_size_defers_to_the_checkpoint(
        self, tmp_path: Path, model_dir: Path
    ) -> None:
        """Test data without probeGuess warns, and N comes from the trained model, not 64."""
        trained = train(write_npz(tmp_path / "d.npz", size=128), tmp_path / "o", environ={})
        save_snapshot(trained, model_dir)
        test = tmp_path / "t.npz"
        np.savez(test, other=np.zeros(2))
        with pytest.warns(UserWarning, match="probeGuess"):
            payload = create_inference_payload(
                model_dir, test, tmp_path / "i", {"n_groups": 1}, CPU, environ={}
            )
        assert payload.inference_config.model.N == 128
        assert payload.provenance["model.N"].kind == "checkpoint"

    def test_photons_and_intensity_scale_come_from_training(
        self, tmp_path: Path, model_dir: Path
    ) -> None:
        """The backend sees the trained nphotons and intensity-scale setting."""
        data = write_npz(tmp_path / "d.npz", nphotons=5e8)
        overrides = {"intensity_scale_trainable": False}
        save_snapshot(train(data, tmp_path / "o", overrides, environ={}), model_dir)
        test = write_npz(tmp_path / "t.npz")
        payload = create_inference_payload(
            model_dir, test, tmp_path / "i", {"n_groups": 1}, CPU, environ={}
        )
        assert payload.pt_data_config.nphotons == 5e8
        assert payload.pt_model_config.intensity_scale_trainable is False

    def test_photons_of_the_test_data_win(self, tmp_path: Path, model_dir: Path) -> None:
        """Test data that states its own photon count is reconstructed with it."""
        data = write_npz(tmp_path / "d.npz", nphotons=5e8)
        save_snapshot(train(data, tmp_path / "o", environ={}), model_dir)
        test = write_npz(tmp_path / "t.npz", nphotons=2e8)
        payload = create_inference_payload(
            model_dir, test, tmp_path / "i", {"n_groups": 1}, CPU, environ={}
        )
        assert payload.pt_data_config.nphotons == 2e8


class TestAuditTrailOnThisHost:
    """The audit trail shows the value a run really uses."""

    def test_auto_accelerator_in_audit_trail(self, train_file: Path, tmp_path: Path) -> None:
        """An 'auto' override is recorded as the device it resolved to."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the no-CUDA warning depends on the host
            payload = train(train_file, tmp_path / "o", {"accelerator": "auto"}, execution=None)
        assert payload.overrides_applied["accelerator"] == payload.execution_config.accelerator
        assert payload.execution_config.accelerator in ("cpu", "cuda")

    def test_values_are_every_key_of_the_run(self, train_file: Path, tmp_path: Path) -> None:
        """``values`` maps every qualified key of the payload to the value the run uses, the
        host's accelerator included, and cannot be changed."""
        payload = train(train_file, tmp_path / "o", {"batch_size": 8}, execution=None)
        values = payload.values
        config, execution = payload.training_config, payload.execution_config
        expected = {
            **{f"training.{n}": getattr(config, n) for n in type(config).model_fields},
            **{f"model.{n}": getattr(config.model, n) for n in type(config.model).model_fields},
            **{f"torch.{n}": getattr(config.torch, n) for n in type(config.torch).model_fields},
            **{f"execution.{n}": getattr(execution, n) for n in type(execution).model_fields},
        }
        del expected["training.model"], expected["training.torch"]
        expected.pop("training.n_images", None)  # a deprecated alias of n_groups, no key
        assert dict(values) == expected
        assert (values["training.batch_size"], values["model.N"]) == (8, 64)
        assert values["execution.accelerator"] == "cpu"  # 'auto' as this host resolved it
        with pytest.raises(TypeError):
            values["model.N"] = 128  # type: ignore[index]
        assert payload.values is values


class TestSnapshots:
    """Snapshots are atomic, versioned and tamper-evident."""

    def payload(self, tmp_path: Path) -> Any:
        return train(write_npz(tmp_path / "d.npz"), tmp_path / "o", environ={})

    def test_round_trip(self, tmp_path: Path, model_dir: Path) -> None:
        """What is saved loads back equal, with provenance and fingerprint."""
        payload = self.payload(tmp_path)
        path = save_snapshot(payload, model_dir)
        loaded = load_snapshot(model_dir)
        assert loaded is not None
        assert loaded.path == path
        assert loaded.training_config == payload.training_config
        assert loaded.provenance == dict(payload.provenance)
        assert loaded.fingerprint == fingerprint(payload)

    def test_no_temporary_files_left(self, tmp_path: Path, model_dir: Path) -> None:
        """Only the snapshot (and the archive) remain in the directory."""
        save_snapshot(self.payload(tmp_path), model_dir)
        assert sorted(p.name for p in model_dir.iterdir()) == ["ptycho_config.json", "wts.h5.zip"]

    def test_failed_write_leaves_nothing(
        self, tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A crash during the write leaves neither a partial snapshot nor a temporary file."""

        def broken_fsync(fd: int) -> None:
            raise OSError("disk full")

        monkeypatch.setattr("os.fsync", broken_fsync)
        with pytest.raises(OSError, match="disk full"):
            save_snapshot(self.payload(tmp_path), model_dir)
        assert sorted(p.name for p in model_dir.iterdir()) == ["wts.h5.zip"]

    def test_into_a_missing_directory(self, tmp_path: Path) -> None:
        """A snapshot directory that does not exist is named, and nothing is created."""
        missing = tmp_path / "none"
        expected = f"^Snapshot directory not found: {missing}"
        with pytest.raises(ConfigFileNotFoundError, match=expected):
            save_snapshot(self.payload(tmp_path), missing)
        assert not missing.exists()

    def test_into_a_file(self, tmp_path: Path) -> None:
        """A snapshot 'directory' that is a file is an output error saying so, not 'not found'."""
        taken = tmp_path / "model"
        taken.write_text("weights", encoding="utf-8")
        with pytest.raises(OutputError, match=r"model: it is not a directory$"):
            save_snapshot(self.payload(tmp_path), taken)
        assert taken.read_text(encoding="utf-8") == "weights"

    def test_into_a_name_the_system_refuses(self, tmp_path: Path) -> None:
        """A directory name too long for the system is the library's output error, not a bare
        OSError from looking at it."""
        with pytest.raises(OutputError, match="File name too long"):
            save_snapshot(self.payload(tmp_path), tmp_path / ("a" * 300))

    def test_fingerprint_of_no_config(self) -> None:
        """An object that is no config, payload or resolution is an ArgumentTypeError naming
        its type."""

        class Checkpoint:
            pass

        with pytest.raises(
            ArgumentTypeError,
            match=r"^cannot fingerprint Checkpoint: give a config, payload or resolution$",
        ):
            fingerprint(Checkpoint())

    def test_missing_is_none(self, model_dir: Path) -> None:
        """No snapshot is not an error."""
        assert load_snapshot(model_dir) is None

    @pytest.mark.parametrize(
        "text",
        [
            "{",
            "[]",
            '{"schema_version": "one"}',
            '{"schema_version": 1}',
            '{"metadata": 1}',
            '{"metadata": {"schema_version": 2}}',
            '{"training": {}, "execution": {}}',
        ],
    )
    def test_corrupt(self, model_dir: Path, text: str) -> None:
        """A corrupt snapshot is a SnapshotError naming the file."""
        (model_dir / "ptycho_config.json").write_text(text, encoding="utf-8")
        with pytest.raises(SnapshotError, match=r"ptycho_config\.json"):
            load_snapshot(model_dir)

    def test_future_version(self, tmp_path: Path, model_dir: Path) -> None:
        """A snapshot from a newer library says to upgrade."""
        path = save_snapshot(self.payload(tmp_path), model_dir)
        document = json.loads(path.read_text(encoding="utf-8"))
        document["metadata"]["schema_version"] = 99
        path.write_text(json.dumps(document), encoding="utf-8")
        with pytest.raises(SnapshotError, match="upgrade ptycho-config"):
            load_snapshot(model_dir)
        # a newer layout may name its sections otherwise (version 2 renamed version 1's): the
        # version is what the message must name, not the sections this library expects
        document["trained"] = document.pop("training")
        path.write_text(json.dumps(document), encoding="utf-8")
        with pytest.raises(SnapshotError, match="upgrade ptycho-config"):
            load_snapshot(model_dir)

    def test_tampered(self, tmp_path: Path, model_dir: Path) -> None:
        """A snapshot edited by hand no longer matches its fingerprint."""
        path = save_snapshot(self.payload(tmp_path), model_dir)
        document = json.loads(path.read_text(encoding="utf-8"))
        document["training"]["model"]["gridsize"] = 5
        path.write_text(json.dumps(document), encoding="utf-8")
        with pytest.raises(SnapshotError, match="modified after it was written"):
            load_snapshot(model_dir)

    def test_corrupt_snapshot_stops_inference(self, tmp_path: Path, model_dir: Path) -> None:
        """Inference refuses a corrupt snapshot instead of guessing."""
        (model_dir / "ptycho_config.json").write_text("{", encoding="utf-8")
        test = write_npz(tmp_path / "t.npz")
        with pytest.raises(SnapshotError):
            create_inference_payload(model_dir, test, tmp_path / "i", {"n_groups": 1}, environ={})

    def test_fingerprint_ignores_provenance(self, tmp_path: Path) -> None:
        """The same values from different sources have the same fingerprint."""
        data = write_npz(tmp_path / "d.npz")
        by_override = train(data, tmp_path / "o", {"batch_size": 8}, environ={})
        by_env = train(data, tmp_path / "o", environ={"PTYCHO_BATCH_SIZE": "8"})
        assert fingerprint(by_override) == fingerprint(by_env)
        assert fingerprint(by_override) != fingerprint(train(data, tmp_path / "o", environ={}))


class TestFailuresChangeNothing:
    """Whatever check fails, the legacy dict and the file system are exactly as before."""

    @pytest.mark.parametrize(
        "case",
        [
            "missing_train", "no_n_groups", "bad_value", "unknown_key", "missing_model_dir",
            "missing_archive", "missing_test", "contradiction", "corrupt_snapshot",
            "missing_config_file",
        ],
    )  # fmt: skip
    def test_nothing_written(self, case: str, tmp_path: Path) -> None:
        """The failure raises a library error and leaves cfg and the directory untouched."""
        data = write_npz(tmp_path / "d.npz", size=128)
        model = tmp_path / "m"
        make_model_dir(model)
        save_snapshot(train(data, tmp_path / "o", environ={}), model)
        ptycho.params.reset()
        before_cfg = snapshot_of_cfg()
        before_files = sorted(str(p) for p in tmp_path.rglob("*"))
        out = tmp_path / "out"
        calls = {
            "missing_train": lambda: train(tmp_path / "x.npz", out, environ={}),
            "no_n_groups": lambda: create_training_payload(data, out, environ={}),
            "bad_value": lambda: train(data, out, {"batch_size": 3}, environ={}),
            "unknown_key": lambda: train(data, out, environ={"PTYCHO_NGROUPS": "1"}),
            "missing_model_dir": lambda: create_inference_payload(tmp_path / "x", data, out),
            "missing_archive": lambda: create_inference_payload(tmp_path, data, out),
            "missing_test": lambda: create_inference_payload(model, tmp_path / "x.npz", out),
            "contradiction": lambda: create_inference_payload(
                model, data, out, {"n_groups": 1, "N": 256}, environ={}
            ),
            "corrupt_snapshot": lambda: (
                (model / "ptycho_config.json").write_text("{}", encoding="utf-8"),
                create_inference_payload(model, data, out, {"n_groups": 1}, environ={}),
            ),
            "missing_config_file": lambda: train(
                data, out, environ={}, config_file=tmp_path / "none.yaml"
            ),
        }
        with pytest.raises((PtychoConfigError, FileNotFoundError)):
            calls[case]()
        assert snapshot_of_cfg() == before_cfg
        assert sorted(str(p) for p in tmp_path.rglob("*")) == sorted(before_files)


class TestRuntimeFromPayload:
    """build_torch_runtime uses the payload's own backend objects."""

    def test_inference_runtime_uses_the_trained_batch_size(
        self, tmp_path: Path, model_dir: Path
    ) -> None:
        """The DataLoader batch size of an inference run is the trained one, as in the payload."""
        pytest.importorskip("torch")
        from ptycho_config import build_torch_runtime

        data = write_npz(tmp_path / "d.npz")
        save_snapshot(train(data, tmp_path / "o", {"batch_size": 64}, environ={}), model_dir)
        payload = create_inference_payload(
            model_dir, write_npz(tmp_path / "t.npz"), tmp_path / "i", {"n_groups": 1}, CPU,
            environ={},
        )  # fmt: skip
        runtime = build_torch_runtime(payload)
        assert 64 == payload.pt_inference_config.batch_size
        assert 64 == runtime.dataloader_kwargs["batch_size"]


class TestPayloadsTravel:
    """A payload pickles and copies (multiprocessing's spawn and DDP workers pickle what they
    are given), whole: its audit trail, its provenance, its launch and what it builds later."""

    @pytest.mark.parametrize("copy_of", ["pickle", "deepcopy"])
    def test_training_and_inference_payloads(
        self, tmp_path: Path, model_dir: Path, copy_of: str
    ) -> None:
        import copy
        import pickle

        def copied(payload: Any) -> Any:
            if copy_of == "pickle":
                return pickle.loads(pickle.dumps(payload))
            return copy.deepcopy(payload)

        data = write_npz(tmp_path / "train.npz", size=128)
        launch = {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
        trained = train(data, tmp_path / "o", {"gridsize": 2}, environ=launch)
        save_snapshot(trained, model_dir)
        inferred = create_inference_payload(
            model_dir, data, tmp_path / "i", {"n_groups": 10}, CPU, environ={}
        )
        for payload in (trained, inferred):
            assert payload.values  # built before copying: the copy builds its own
            again = copied(payload)
            assert again == payload
            assert type(again) is type(payload)
            assert dict(again.provenance) == dict(payload.provenance)
            assert dict(again.overrides_applied) == dict(payload.overrides_applied)
            assert dict(again.legacy_params) == dict(payload.legacy_params)
            assert again.launch == payload.launch
            assert again.explain() == payload.explain()
            assert dict(again.values) == dict(payload.values)
            assert again.pt_inference_config == payload.pt_inference_config
            with pytest.raises(TypeError):  # still read-only
                again.provenance["model.N"] = None
        assert trained.launch is not None
        assert copied(trained).launch.provenance == trained.launch.provenance

    @pytest.mark.parametrize("copy_of", ["copy", "deepcopy", "pickle"])
    def test_a_subclass_keeps_what_its_post_init_set(self, tmp_path: Path, copy_of: str) -> None:
        """A payload subclass that sets an attribute in __post_init__ keeps it in a copy (a
        shallow copy kept it before payloads pickled); what a cached_property built is built
        again."""
        import copy
        import pickle

        payload = train(write_npz(tmp_path / "d.npz"), tmp_path / "o", {"n_groups": 4})
        stamped = StampedPayload(
            **{f.name: getattr(payload, f.name) for f in dataclasses.fields(payload)}
        )
        assert stamped.values
        copied = {
            "copy": copy.copy,
            "deepcopy": copy.deepcopy,
            "pickle": lambda p: pickle.loads(pickle.dumps(p)),
        }[copy_of](stamped)
        assert ("stamped", stamped) == (copied.stamp, copied)
        assert "values" not in vars(copied)
        assert dict(copied.values) == dict(stamped.values)


@dataclasses.dataclass(frozen=True, kw_only=True)
class StampedPayload(TrainingPayload):
    """A payload as an extension author might derive it: an attribute set after __init__."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "stamp", "stamped")
