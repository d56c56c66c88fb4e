"""The legacy global dict ``ptycho.params``: defaults, get/set, validate, seal, reset."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

import ptycho.params as params
from ptycho_config import InvalidValueError
from ptycho_config._legacy.bridge import populate_legacy_params
from ptycho_config._schemas.sections import TrainingConfig

REFERENCE_DEFAULTS = {
    "N": 128,
    "offset": 4,
    "gridsize": 2,
    "outer_offset_train": None,
    "outer_offset_test": None,
    "batch_size": 16,
    "nepochs": 60,
    "n_filters_scale": 2,
    "output_prefix": "outputs",
    "big_gridsize": 10,
    "max_position_jitter": 10,
    "sim_jitter_scale": 0.0,
    "default_probe_scale": 0.7,
    "mae_weight": 0.0,
    "nll_weight": 1.0,
    "tv_weight": 0.0,
    "realspace_mae_weight": 0.0,
    "realspace_weight": 0.0,
    "nphotons": 1e9,
    "nimgs_train": 9,
    "nimgs_test": 3,
    "data_source": "generic",
    "probe.trainable": False,
    "intensity_scale.trainable": False,
    "positions.provided": False,
    "object.big": True,
    "probe.big": False,
    "probe_scale": 10.0,
    "set_phi": False,
    "probe.mask": True,
    "pad_object": True,
    "model_type": "pinn",
    "label": "",
    "size": 392,
    "amp_activation": "sigmoid",
    "h5_path": "wts.h5",
    "npseed": 42,
    "debug": True,
    "gaussian_smoothing_sigma": 0.0,
    "use_xla_translate": True,
}


class TestDefaults:
    """DEFAULT_CFG is the reference's 40 defaults, read-only, and seeds cfg."""

    def test_reference_defaults(self) -> None:
        """DEFAULT_CFG holds exactly the reference's keys and values."""
        assert dict(params.DEFAULT_CFG) == REFERENCE_DEFAULTS

    def test_read_only(self) -> None:
        """DEFAULT_CFG cannot be changed in place."""
        with pytest.raises(TypeError):
            params.DEFAULT_CFG["N"] = 64  # type: ignore[index]

    def test_cfg_starts_from_defaults(self) -> None:
        """After a reset cfg equals the defaults."""
        assert params.cfg == REFERENCE_DEFAULTS


class TestGet:
    """get reads a key, derives bigN, and honours a default."""

    def test_existing_key(self) -> None:
        """A present key returns its value."""
        assert params.get("probe.big") is False

    def test_missing_key_raises(self) -> None:
        """A missing key without a default raises KeyError."""
        with pytest.raises(KeyError, match="nonexistent"):
            params.get("nonexistent")

    def test_missing_key_default(self) -> None:
        """A missing key with a default returns the default, None included."""
        assert params.get("nonexistent", None) is None

    def test_big_n_derived(self) -> None:
        """bigN is N + (gridsize - 1) * offset, following later changes."""
        assert params.get("bigN") == 128 + (2 - 1) * 4
        params.set("gridsize", 3)
        params.set("N", 64)
        assert params.get("bigN") == 64 + 2 * 4

    def test_missing_default_key_is_restored(self) -> None:
        """A default key deleted from cfg is put back (ensure_defaults) before deriving bigN."""
        del params.cfg["offset"]
        assert 128 + 4 == params.get("bigN")
        assert 4 == params.cfg["offset"]

    @pytest.mark.parametrize(
        "call", [lambda: params.get("nepochs"), params.params, params.validate, params.get_bigN]
    )
    def test_every_reader_restores_a_deleted_default_first(self, call: Any) -> None:
        """get, params, validate and get_bigN call ensure_defaults first, as the reference
        does: a default key deleted from cfg is back, with the reference's value."""
        del params.cfg["nepochs"]
        call()
        assert 60 == params.cfg["nepochs"]

    @pytest.mark.parametrize(
        "call", [lambda: params.get("bigN", 0), params.params, params.validate]
    )
    def test_bad_direct_write_raises_the_library_error(self, call: Any) -> None:
        """After a bad direct write, get('bigN', default), params() and validate() raise."""
        params.cfg["offset"] = "four"
        with pytest.raises(InvalidValueError, match="bigN"):
            call()


class TestSet:
    """set validates with the schema's rules and stores only valid values."""

    def test_valid_value_stored(self) -> None:
        """A valid value is stored under its key."""
        params.set("batch_size", 64)
        assert params.cfg["batch_size"] == 64

    def test_path_stored_as_string(self) -> None:
        """A path for a path field is stored as str."""
        params.set("output_prefix", Path("/tmp/run"))
        assert params.cfg["output_prefix"] == "/tmp/run"

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("N", 65),
            ("batch_size", 3),
            ("nepochs", True),
            ("nll_weight", 1.5),
            ("nphotons", float("inf")),
            ("probe.big", "maybe"),
            ("amp_activation", "tanh"),
        ],
    )
    def test_invalid_field_value_rejected(self, key: str, value: object) -> None:
        """A value breaking its field's rule raises ValueError naming both, and is not kept."""
        before = params.cfg[key]
        with pytest.raises(ValueError, match=key.replace(".", r"\.")) as caught:
            params.set(key, value)
        assert repr(value) in str(caught.value)
        assert params.cfg[key] == before

    def test_a_choice_is_read_in_any_letter_case(self) -> None:
        """A choice reads as the schemas read it: letter case and surrounding spaces do not
        matter, and the canonical spelling is stored."""
        params.set("model_type", " Supervised ")
        params.set("amp_activation", "SIGMOID")
        assert (params.cfg["model_type"], params.cfg["amp_activation"]) == ("supervised", "sigmoid")

    def test_shared_key_accepts_either_kind(self) -> None:
        """n_groups may be None, as inference allows, though training requires a number."""
        params.set("n_groups", None)
        assert params.cfg["n_groups"] is None

    def test_reference_key_typed_like_default(self) -> None:
        """A reference-only key takes the type of its default."""
        params.set("offset", 6)
        with pytest.raises(ValueError, match="offset"):
            params.set("offset", "six")
        assert params.cfg["offset"] == 6

    def test_other_keys_stored_as_given(self) -> None:
        """Keys no schema declares, such as the run-time probe, are stored unchanged."""
        probe = [[1 + 1j]]
        params.set("probe", probe)
        assert params.cfg["probe"] is probe


class TestParams:
    """params returns a copy with bigN."""

    def test_copy_with_big_n(self) -> None:
        """The copy holds every key plus bigN, and changing it leaves cfg alone."""
        copy = params.params()
        assert copy == {**REFERENCE_DEFAULTS, "bigN": 132}
        copy["N"] = 256
        assert params.cfg["N"] == 128


class TestValidate:
    """validate checks the whole dict and lists every problem."""

    def test_defaults_valid(self) -> None:
        """The defaults pass."""
        params.validate()

    def test_every_problem_listed(self) -> None:
        """Values written straight into cfg are all reported in one ValueError."""
        params.cfg["N"] = 65
        params.cfg["batch_size"] = 3
        with pytest.raises(ValueError, match=r"2 problem") as caught:
            params.validate()
        assert "N = 65" in str(caught.value)
        assert "batch_size = 3" in str(caught.value)

    def test_underivable_big_n_reported(self) -> None:
        """A dict whose offset is not a number is invalid because bigN cannot be derived."""
        params.cfg["offset"] = None
        with pytest.raises(ValueError, match="bigN"):
            params.validate()

    def test_reference_rules(self) -> None:
        """The reference's validate() rules: data_source in its list, realspace weights paired."""
        params.cfg["data_source"] = "nonsense"
        params.cfg["realspace_mae_weight"] = 0.5
        with pytest.raises(InvalidValueError) as caught:
            params.validate()
        keys = sorted({problem.key for problem in caught.value.problems})
        assert ["data_source", "realspace_mae_weight", "realspace_weight"] == keys


class TestReferenceRulesOnSet:
    """set enforces every rule of the reference's validate(), and keeps nothing invalid."""

    def test_unknown_data_source_is_rejected(self) -> None:
        """params.set('data_source', 'nonsense') fails naming the choices and stores nothing."""
        with pytest.raises(ValueError, match="Invalid data source") as caught:
            params.set("data_source", "nonsense")
        assert "'generic'" in str(caught.value)
        assert "generic" == params.cfg["data_source"]

    @pytest.mark.parametrize("source", params.DATA_SOURCES)
    def test_every_data_source_is_accepted(self, source: str) -> None:
        """Each data source of the reference's list is stored."""
        params.set("data_source", source)
        assert source == params.cfg["data_source"]

    def test_realspace_mae_weight_needs_realspace_weight(self) -> None:
        """A positive realspace_mae_weight needs a positive realspace_weight first."""
        with pytest.raises(ValueError, match="realspace_weight > 0"):
            params.set("realspace_mae_weight", 0.5)
        params.set("realspace_weight", 1.0)
        params.set("realspace_mae_weight", 0.5)
        assert 0.5 == params.cfg["realspace_mae_weight"]


class TestDerivedSizes:
    """get_bigN, get_padding_size, get_padded_size and print_params, as the reference has them."""

    def test_sizes_from_the_defaults(self) -> None:
        """bigN 128 + 4, padding (2 - 1)·4 + 10, padded bigN + 10."""
        assert (132, 14, 142) == (
            params.get_bigN(),
            params.get_padding_size(),
            params.get_padded_size(),
        )

    def test_sizes_follow_changes(self) -> None:
        """The sizes follow N, gridsize, offset and max_position_jitter."""
        params.set("N", 64)
        params.set("gridsize", 3)
        params.set("max_position_jitter", 2)
        assert (72, 10, 74) == (
            params.get_bigN(),
            params.get_padding_size(),
            params.get_padded_size(),
        )

    def test_print_params(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Every key is printed sorted, with bigN; an array as its shape and statistics."""
        import numpy as np

        params.set("probe", np.ones((2, 2)))
        params.print_params()
        out = capsys.readouterr().out
        assert out.startswith("Current Parameters:\n")
        assert "bigN: 132\n" in out
        assert "probe:\n  shape: (2, 2)\n  mean: 1.000\n" in out


class TestSeal:
    """While sealed, setting a configuration key logs a warning."""

    def test_sealed_set_logs(self, caplog: pytest.LogCaptureFixture) -> None:
        """A sealed set of a configuration key logs on ptycho.params, and still stores it."""
        params.seal()
        with caplog.at_level(logging.WARNING, logger="ptycho.params"):
            params.set("nepochs", 5)
        line = sys._getframe().f_lineno - 1
        assert [r.name for r in caplog.records] == ["ptycho.params"]
        # the reference's wording, naming the line that wrote
        expected = f"post-seal params.cfg write: nepochs (from {__file__}:{line})"
        assert expected == caplog.records[0].getMessage()
        assert params.cfg["nepochs"] == 5

    @pytest.mark.parametrize("key", sorted(params.RUNTIME_KEYS))
    def test_runtime_keys_silent(self, key: str, caplog: pytest.LogCaptureFixture) -> None:
        """intensity_scale, probe and timestamp may be set while sealed."""
        params.seal()
        with caplog.at_level(logging.WARNING, logger="ptycho.params"):
            params.set(key, 1.0)
        assert caplog.records == []

    def test_unseal_silences(self, caplog: pytest.LogCaptureFixture) -> None:
        """After unseal, set logs nothing."""
        params.seal()
        params.unseal()
        with caplog.at_level(logging.WARNING, logger="ptycho.params"):
            params.set("nepochs", 5)
        assert (caplog.records, params.is_sealed()) == ([], False)


class TestReset:
    """reset restores the defaults in the same dict object."""

    def test_restores_defaults_in_place(self) -> None:
        """Changed and added keys are gone, and cfg is the same object."""
        held = params.cfg
        params.set("N", 256)
        params.cfg["extra"] = 1
        params.seal()
        params.reset()
        assert (held is params.cfg, params.cfg, params.is_sealed()) == (
            True,
            REFERENCE_DEFAULTS,
            False,
        )

    def test_forgets_populates(self) -> None:
        """After reset, a populate with other values is not an overwrite."""
        populate_legacy_params(TrainingConfig(n_groups=1, nepochs=1))
        params.reset()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            populate_legacy_params(TrainingConfig(n_groups=1, nepochs=2))


def _imported_modules(statement: str) -> set[str]:
    """Top-level names of every module a fresh interpreter imports for ``statement``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines[1:]}


class TestImportCost:
    """The legacy modules import nothing heavy."""

    def test_legacy_modules_skip_frameworks_and_numpy(self) -> None:
        """ptycho.params and ptycho.config.config import no torch, tensorflow or numpy."""
        imported = _imported_modules("import ptycho.params, ptycho.config.config")
        assert {"ptycho", "ptycho_config"} <= imported
        assert not {"torch", "tensorflow", "numpy"} & imported

    def test_params_skips_pydantic(self) -> None:
        """ptycho.params alone does not even import pydantic."""
        imported = _imported_modules("import ptycho.params")
        assert "pydantic" not in imported

    def test_ptycho_config_skips_numpy(self) -> None:
        """The ptycho_config package imports no numpy, torch or tensorflow."""
        imported = _imported_modules("import ptycho_config")
        assert not {"torch", "tensorflow", "numpy"} & imported


class TestFactoriesSeal:
    """The factories unseal before populating and seal after, as the reference's do."""

    def test_populate_by_a_factory_seals(self, tmp_path: Path) -> None:
        """After a factory populated the dict, it is sealed: later sets are logged."""
        from ptycho_config import create_training_payload
        from tests._example import write_example

        example = write_example(tmp_path / "example")
        params.unseal()
        create_training_payload(
            example / "train_data.npz", tmp_path / "out", {"n_groups": 4}, environ={}
        )
        assert params.is_sealed()
        assert 4 == params.cfg["n_groups"]
