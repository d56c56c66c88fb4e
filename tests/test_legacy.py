"""The legacy bridge: to/from the flat legacy dict, populate, and ``ptycho.config.config``."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given

import ptycho.params
import ptycho_config._schemas.sections as schemas
from ptycho.config import config as legacy_config
from ptycho.config.config import (
    KEY_MAPPINGS,
    InferenceConfig,
    ModelConfig,
    TrainingConfig,
    dataclass_to_legacy_dict,
    load_yaml_config,
    update_legacy_dict,
    validate_inference_config,
    validate_model_config,
    validate_training_config,
)
from ptycho_config._errors import (
    ArgumentTypeError,
    InvalidValueError,
    ModelArchiveNotFoundError,
    UnknownKeyError,
)
from ptycho_config._legacy.bridge import (
    from_legacy_dict,
    populate_legacy_params,
    populate_quietly,
    to_legacy_dict,
)
from ptycho_config._schemas.object_policy import resolved_policy
from ptycho_config._schemas.registry import LEGACY_RENAMES
from ptycho_config._schemas.sections import TorchBackendConfig
from ptycho_config.testing import inference_configs, training_configs

DATA = Path(__file__).parent / "data"
MISSING = object()


def _training(**kwargs: Any) -> TrainingConfig:
    return TrainingConfig(n_groups=8, **kwargs)


def _inference(**kwargs: Any) -> InferenceConfig:
    return InferenceConfig(
        **{"model_path": Path("model"), "test_data_file": Path("test.npz"), **kwargs}
    )


class TestBaseline:
    """The reference's legacy dict is reproduced key for key."""

    def test_training_then_inference_rebuilds_baseline_params(self) -> None:
        """update_legacy_dict with the baseline training then inference config yields every
        key and value of baseline_params.json (the dict may hold newer keys, e.g. architecture).
        """
        inputs = json.loads((DATA / "baseline_inputs.json").read_text())
        expected = json.loads((DATA / "baseline_params.json").read_text())
        model = ModelConfig(**inputs["model"])
        cfg = ptycho.params.cfg
        cfg.clear()
        # the baseline sets object_big, deprecated on the reference's next branch
        with pytest.warns(DeprecationWarning, match="object_big is deprecated"):
            update_legacy_dict(cfg, TrainingConfig(model=model, **inputs["training"]))
        with pytest.warns(DeprecationWarning, match="object_big is deprecated"):
            update_legacy_dict(cfg, InferenceConfig(model=model, **inputs["inference"]))
        assert expected == {key: cfg.get(key, MISSING) for key in expected}

    def test_only_newer_fields_add_keys(self) -> None:
        """Beyond the baseline's keys, the legacy dicts hold exactly the newer fields' keys."""
        baseline = json.loads((DATA / "baseline_params.json").read_text())
        written = {*to_legacy_dict(_training()), *to_legacy_dict(_inference())}
        newer = {
            "architecture", "enable_oversampling", "neighbor_pool_size", "n_images", "backend",
            "torch_loss_mode", "optimizer", "momentum", "weight_decay", "adam_beta1",
            "adam_beta2", "scheduler", "lr_warmup_epochs", "lr_min_ratio",
            "torch_mae_pred_l2_match_target", "gradient_clip_val", "gradient_clip_algorithm",
            "plateau_factor", "plateau_patience", "plateau_min_lr", "plateau_threshold",
            "fno_modes", "fno_width", "fno_blocks", "fno_cnn_blocks", "learned_input_channels",
            "max_hidden_channels", "resnet_width", "fno_input_transform",
            "generator_output_mode", "probe_mask_sigma", "probe_mask_diameter",
            "object_layout", "training_canvas", "training_patch_weighting",
        }  # fmt: skip
        assert newer | set(baseline) == written


# The GUI sets object_big, which the reference's next branch deprecates (with this warning).
@pytest.mark.filterwarnings("ignore:ModelConfig.object_big is deprecated:DeprecationWarning")
class TestGuiConstruction:
    """Configs built by keyword as the Ptychodus GUI does, copied into params.cfg."""

    @staticmethod
    def _model() -> ModelConfig:
        return ModelConfig(
            N=64,
            gridsize=1,
            n_filters_scale=2,
            model_type="pinn",
            amp_activation="sigmoid",
            object_big=True,
            probe_big=True,
            probe_mask=False,
            pad_object=True,
            probe_scale=4.0,
            gaussian_smoothing_sigma=0.0,
        )

    def test_training_config_written_with_legacy_names(self) -> None:
        """A GUI training config lands under legacy names, and its None test file is skipped."""
        config = TrainingConfig(
            model=self._model(),
            train_data_file=Path(),
            test_data_file=None,
            batch_size=16,
            nepochs=50,
            mae_weight=0.0,
            nll_weight=1.0,
            realspace_mae_weight=0.0,
            realspace_weight=0.0,
            nphotons=1e9,
            positions_provided=True,
            probe_trainable=True,
            intensity_scale_trainable=True,
            output_dir=Path(),
        )
        cfg = ptycho.params.cfg
        update_legacy_dict(cfg, config)
        expected = {
            "N": 64,
            "gridsize": 1,
            "object.big": True,
            "probe.big": True,
            "probe.mask": False,
            "probe.trainable": True,
            "intensity_scale.trainable": True,
            "positions.provided": True,
            "output_prefix": ".",
            "train_data_file_path": ".",
            "nepochs": 50,
        }
        assert expected == {key: cfg[key] for key in expected}
        assert "test_data_file_path" not in cfg

    def test_inference_config_written_with_legacy_names(self) -> None:
        """A GUI inference config writes model_path, test_data_file_path and debug."""
        config = InferenceConfig(
            model=self._model(),
            model_path=Path(),
            test_data_file=Path(),
            debug=False,
            output_dir=Path(),
        )
        cfg = ptycho.params.cfg
        update_legacy_dict(cfg, config)
        expected = {"model_path": ".", "test_data_file_path": ".", "debug": False, "N": 64}
        assert expected == {key: cfg[key] for key in expected}


class TestToLegacyDict:
    """Every field, flattened and renamed, with paths as strings."""

    def test_renamed_and_flattened(self) -> None:
        """Model fields sit at the top level under their legacy names."""
        legacy = to_legacy_dict(_training(model=ModelConfig(probe_big=False)))
        assert (legacy["probe.big"], legacy["N"]) == (False, 64)
        assert not {"model", "probe_big", "output_dir"} & set(legacy)

    def test_every_field_and_none_included(self) -> None:
        """The keys are exactly the legacy names of all training and model fields."""
        names = [*ModelConfig.model_fields, *TrainingConfig.model_fields]
        expected = {LEGACY_RENAMES.get(n, n) for n in names if n not in ("model", "torch")}
        legacy = to_legacy_dict(_training())
        assert expected == set(legacy)
        assert legacy["test_data_file_path"] is None

    def test_paths_become_strings(self) -> None:
        """Path values are written as str."""
        legacy = to_legacy_dict(_inference(output_dir=Path("/tmp/out")))
        assert (legacy["output_prefix"], legacy["model_path"]) == ("/tmp/out", "model")

    @pytest.mark.parametrize("name", ["none", "NULL", "None"])
    def test_a_path_named_like_none_is_read_back_as_that_path(self, name: str) -> None:
        """Paths are strings, but not the words the legacy dict reads as None: a test data
        file called 'none' is './none', which names the same file."""
        legacy = to_legacy_dict(_training(test_data_file=Path(name)))
        assert f"./{name}" == legacy["test_data_file_path"]
        rebuilt = from_legacy_dict(legacy, "training")
        assert Path(name) == rebuilt.test_data_file

    def test_execution_fields_never_written(self) -> None:
        """No execution-only field appears in the legacy dict."""
        execution_only = set(schemas.ExecutionConfig.model_fields) - set(
            TrainingConfig.model_fields
        )
        assert not execution_only & set(to_legacy_dict(_training()))

    def test_wrong_type_is_rejected(self) -> None:
        """Anything but a config raises TypeError."""
        with pytest.raises(TypeError, match="dict"):
            to_legacy_dict({"N": 64})  # type: ignore[arg-type]


def _comparable(config: TrainingConfig | InferenceConfig) -> dict[str, Any]:
    """The dump without the torch section, the object policy resolved (as the legacy dict
    holds it: an unset policy comes back as the values it meant)."""
    dump = config.model_dump(exclude={"torch"})
    dump["model"].update(resolved_policy(config.model))
    return dump


class TestFromLegacyDict:
    """A legacy dict back to a validated config."""

    @given(training_configs())
    def test_training_round_trip(self, config: TrainingConfig) -> None:
        """Every valid training config survives the trip through the legacy dict, but for the
        backend-only knobs of its torch section, which the legacy dict never holds."""
        rebuilt = from_legacy_dict(to_legacy_dict(config), "training")
        assert _comparable(config) == _comparable(rebuilt)
        assert TorchBackendConfig() == rebuilt.torch

    @given(inference_configs())
    def test_inference_round_trip(self, config: InferenceConfig) -> None:
        """Every valid inference config survives the trip through the legacy dict, but for
        the backend-only knobs of its torch section."""
        rebuilt = from_legacy_dict(to_legacy_dict(config), "inference")
        assert _comparable(config) == _comparable(rebuilt)
        assert TorchBackendConfig() == rebuilt.torch

    def test_reference_and_other_kind_keys_ignored(self) -> None:
        """Reference-only keys, bigN, run-time keys and training keys are ignored for inference."""
        legacy = {
            **ptycho.params.params(),
            **to_legacy_dict(_training()),
            **to_legacy_dict(_inference()),
            "intensity_scale": 3.5,
        }
        assert _comparable(_inference()) == _comparable(from_legacy_dict(legacy, "inference"))

    def test_full_params_dict_reads_as_training(self) -> None:
        """The default params dict reads as a training config carrying its values."""
        config = from_legacy_dict(ptycho.params.params(), "training")
        assert (
            config.model.N,
            config.model.gridsize,
            config.nepochs,
            config.model.probe_big,
        ) == (128, 2, 60, False)

    def test_unknown_key_suggests_the_right_one(self) -> None:
        """A misspelt key raises UnknownKeyError naming the key and the likely one."""
        with pytest.raises(UnknownKeyError, match=r"nepoch.*did you mean 'nepochs'"):
            from_legacy_dict({"nepoch": 3}, "training")

    def test_field_name_suggests_its_legacy_name(self) -> None:
        """A field name used where its legacy name belongs suggests the legacy name first."""
        with pytest.raises(UnknownKeyError) as caught:
            from_legacy_dict({"probe_big": True}, "training")
        assert caught.value.problems[0].suggestions[0] == "probe.big"

    def test_every_unknown_key_listed(self) -> None:
        """All unknown keys are reported at once."""
        with pytest.raises(UnknownKeyError) as caught:
            from_legacy_dict({"foo": 1, "bar": 2}, "inference")
        assert [p.key for p in caught.value.problems] == ["foo", "bar"]

    def test_invalid_value_rejected(self) -> None:
        """A value outside its field's rule raises ValueError."""
        with pytest.raises(ValueError, match="batch_size"):
            from_legacy_dict({"batch_size": 3}, "training")

    def test_wrong_kind_rejected(self) -> None:
        """A kind other than training or inference raises ValueError."""
        with pytest.raises(ValueError, match="kind"):
            from_legacy_dict({}, "execution")


class TestPopulate:
    """populate_legacy_params writes all owned keys at once and warns on clobbering."""

    def test_writes_every_key_none_included(self) -> None:
        """Every legacy key is written, and None replaces a stale value."""
        ptycho.params.cfg["test_data_file_path"] = "stale.npz"
        config = _training()
        populate_legacy_params(config)
        legacy = to_legacy_dict(config)
        assert legacy == {key: ptycho.params.cfg[key] for key in legacy}
        assert ptycho.params.cfg["test_data_file_path"] is None

    def test_wrong_type_rejected(self) -> None:
        """A ModelConfig or any other object raises TypeError and writes nothing."""
        before = dict(ptycho.params.cfg)
        with pytest.raises(TypeError, match="ModelConfig"):
            populate_legacy_params(ModelConfig())  # type: ignore[arg-type]
        assert before == ptycho.params.cfg

    def test_overwriting_a_different_value_warns(self) -> None:
        """A second populate that changes a populated value warns, naming the key."""
        populate_legacy_params(_training(batch_size=16))
        with pytest.warns(UserWarning, match=r"params.cfg already populated.*batch_size"):
            populate_legacy_params(_training(batch_size=32))
        assert ptycho.params.cfg["batch_size"] == 32

    def test_first_populate_over_defaults_is_silent(self) -> None:
        """Replacing reference defaults is no overwrite of an earlier populate."""
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            populate_legacy_params(_training(nepochs=7))
        assert ptycho.params.cfg["nepochs"] == 7

    def test_same_config_twice_is_silent(self) -> None:
        """Populating the same config again changes nothing and does not warn."""
        populate_legacy_params(_training())
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            populate_legacy_params(_training())

    def test_force_and_warn_false_are_silent(self) -> None:
        """force=True, warn=False and populate_quietly replace values without a warning."""
        populate_legacy_params(_training(nepochs=1))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            populate_legacy_params(_training(nepochs=2), force=True)
            populate_legacy_params(_training(nepochs=3), warn=False)
            populate_quietly(to_legacy_dict(_training(nepochs=4)))
        assert ptycho.params.cfg["nepochs"] == 4

    def test_value_changed_by_hand_is_not_an_earlier_populate(self) -> None:
        """A key set by hand after a populate is not reported as a populated value."""
        populate_legacy_params(_training(nepochs=1))
        ptycho.params.set("nepochs", 9)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            populate_legacy_params(_training(nepochs=2))

    def test_concurrent_populates_are_never_torn(self) -> None:
        """Readers see, on the owned keys, the defaults or exactly one writer's config."""
        configs = [
            _training(
                model=ModelConfig(N=(64, 128, 256)[i % 3], gridsize=i + 1),
                batch_size=2**i,
                nepochs=i + 1,
                output_dir=Path(f"out{i}"),
                test_data_file=Path(f"t{i}.npz") if i % 2 else None,
            )
            for i in range(8)
        ]
        owned = list(to_legacy_dict(configs[0]))
        states = [to_legacy_dict(c) for c in configs]
        states.append({k: ptycho.params.DEFAULT_CFG.get(k, MISSING) for k in owned})
        torn: list[dict[str, Any]] = []
        errors: list[BaseException] = []
        done = threading.Event()
        seen = [0]

        def write(config: TrainingConfig) -> None:
            try:
                for _ in range(500):
                    populate_legacy_params(config, force=True)
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        def read() -> None:
            while not done.is_set():
                snapshot = dict(ptycho.params.cfg)
                state = {k: snapshot.get(k, MISSING) for k in owned}
                seen[0] += 1
                if state not in states:
                    torn.append(state)

        with _fast_switching():
            readers = [threading.Thread(target=read) for _ in range(2)]
            writers = [threading.Thread(target=write, args=(c,)) for c in configs]
            for thread in [*readers, *writers]:
                thread.start()
            for thread in writers:
                thread.join()
            done.set()
            for thread in readers:
                thread.join()
        assert (errors, torn[:1]) == ([], [])
        assert seen[0] > 0


@contextlib.contextmanager
def _fast_switching() -> Iterator[None]:
    """Make threads switch far more often than usual, so a torn write would be seen."""
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(saved)


class TestConfigModule:
    """The legacy ptycho.config.config API."""

    def test_same_classes_as_ptycho_config(self) -> None:
        """The re-exported classes are the schema classes themselves."""
        assert (
            schemas.ModelConfig,
            schemas.TrainingConfig,
            schemas.InferenceConfig,
            schemas.PyTorchExecutionConfig,
        ) == (
            legacy_config.ModelConfig,
            legacy_config.TrainingConfig,
            legacy_config.InferenceConfig,
            legacy_config.PyTorchExecutionConfig,
        )

    def test_key_mappings_is_the_rename_table_read_only(self) -> None:
        """KEY_MAPPINGS equals the registry's renames and cannot be changed."""
        assert dict(KEY_MAPPINGS) == LEGACY_RENAMES
        with pytest.raises(TypeError):
            KEY_MAPPINGS["N"] = "n"  # type: ignore[index]

    def test_update_skips_none_but_dataclass_dict_keeps_it(self) -> None:
        """update_legacy_dict leaves keys alone for None values; the plain dict lists them."""
        cfg: dict[str, Any] = {"test_data_file_path": "kept.npz"}
        update_legacy_dict(cfg, _training())
        assert cfg["test_data_file_path"] == "kept.npz"
        assert dataclass_to_legacy_dict(_training())["test_data_file_path"] is None

    @pytest.mark.parametrize("config", [None, 5, {"N": 64}])
    def test_update_of_no_config_is_a_type_error(self, config: Any) -> None:
        """As in the reference (a TypeError), the library's own: nothing is written."""
        cfg: dict[str, Any] = {}
        with pytest.raises(ArgumentTypeError, match="expected a TrainingConfig"):
            update_legacy_dict(cfg, config)
        assert {} == cfg

    def test_validators_accept_valid_configs(self, tmp_path: Path) -> None:
        """Valid configs pass the three validators (the inference model exists on disk)."""
        (tmp_path / "wts.h5.zip").write_bytes(b"")
        validate_model_config(ModelConfig())
        validate_training_config(_training())
        validate_inference_config(_inference(model_path=tmp_path))

    def test_model_directory_needs_the_archive(self, tmp_path: Path) -> None:
        """A model directory without wts.h5.zip fails with the reference's message."""
        with pytest.raises(
            ModelArchiveNotFoundError, match=r"Model archive not found: .*wts\.h5\.zip"
        ):
            validate_inference_config(_inference(model_path=tmp_path))

    @pytest.mark.parametrize("existing", ["wts.h5", "wts.zip", "wts.h5.zip"])
    def test_model_file_or_its_zip_may_exist(self, tmp_path: Path, existing: str) -> None:
        """model_path wts.h5 is found as itself, with a .zip suffix, or as wts.h5.zip."""
        (tmp_path / existing).write_bytes(b"")
        validate_inference_config(_inference(model_path=tmp_path / "wts.h5"))

    def test_missing_model_names_every_path_checked(self, tmp_path: Path) -> None:
        """A missing model_path fails naming it and the other paths tried (a ValueError)."""
        path = tmp_path / "wts.h5"
        with pytest.raises(ValueError, match="model_path does not exist") as caught:
            validate_inference_config(_inference(model_path=path))
        assert f"{path} (also checked {tmp_path / 'wts.zip'}, {tmp_path / 'wts.h5.zip'})" in str(
            caught.value
        )

    def test_validators_reject_an_invalid_config(self) -> None:
        """A config that bypassed validation raises ValueError naming the field."""
        broken = ModelConfig.model_construct(N=65)
        with pytest.raises(ValueError, match="N"):
            validate_model_config(broken)
        with pytest.raises(ValueError, match="N"):
            validate_training_config(_training().model_copy(update={"model": broken}))

    def test_validators_reject_the_wrong_type(self) -> None:
        """A config of another kind raises TypeError."""
        with pytest.raises(TypeError, match="InferenceConfig"):
            validate_inference_config(_training())  # type: ignore[arg-type]


class TestLoadYamlConfig:
    """load_yaml_config reads a mapping; errors name the file."""

    def test_reads_a_mapping(self, tmp_path: Path) -> None:
        """A YAML mapping is returned as a dict."""
        path = tmp_path / "c.yaml"
        path.write_text("model:\n  N: 128\n")
        assert load_yaml_config(path) == {"model": {"N": 128}}

    def test_empty_file_is_empty_mapping(self, tmp_path: Path) -> None:
        """An empty file reads as {}."""
        path = tmp_path / "empty.yaml"
        path.write_text("")
        assert load_yaml_config(str(path)) == {}

    def test_syntax_error_names_the_file(self, tmp_path: Path) -> None:
        """Broken YAML raises the same YAML error type, naming the file, chained."""
        path = tmp_path / "broken.yaml"
        path.write_text("model: [1, 2\n")
        with pytest.raises(yaml.YAMLError, match=r"broken\.yaml") as caught:
            load_yaml_config(path)
        assert isinstance(caught.value.__cause__, yaml.YAMLError)

    def test_undecodable_file_names_the_file(self, tmp_path: Path) -> None:
        """Bytes YAML cannot decode raise a YAML error naming the file, not a TypeError."""
        path = tmp_path / "bytes.yaml"
        path.write_bytes(b"model:\n  N: \xff\xfe128\n")
        with pytest.raises(yaml.YAMLError, match=r"bytes\.yaml") as caught:
            load_yaml_config(path)
        assert isinstance(caught.value.__cause__, yaml.YAMLError)

    def test_missing_file_names_the_file(self, tmp_path: Path) -> None:
        """A missing file raises FileNotFoundError naming the file."""
        with pytest.raises(FileNotFoundError, match=r"absent\.yaml"):
            load_yaml_config(tmp_path / "absent.yaml")

    @pytest.mark.parametrize("path", ["", " ", "a\0b", 5, None])
    def test_no_path_is_no_file(self, path: Any) -> None:
        """An empty string is no path (not the working directory '.'); nor is a number."""
        with pytest.raises(InvalidValueError, match=r"^config file must be a path"):
            load_yaml_config(path)

    def test_read_as_config_files_are(self, tmp_path: Path) -> None:
        """The library's YAML rules hold here too: a key twice is an error, 0100 is no octal."""
        twice = tmp_path / "twice.yaml"
        twice.write_text("model:\n  N: 64\n  N: 128\n")
        with pytest.raises(ValueError, match=r"twice\.yaml.*'N' twice"):
            load_yaml_config(twice)
        octal = tmp_path / "octal.yaml"
        octal.write_text("nepochs: 0100\n")
        assert load_yaml_config(octal) != {"nepochs": 64}

    def test_alias_bomb_refused(self, tmp_path: Path) -> None:
        """Aliases expanding a few lines beyond 100,000 values are refused, as in a config file."""
        lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
        lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 6)]
        path = tmp_path / "bomb.yaml"
        path.write_text("\n".join(lines) + "\n")
        with pytest.raises(ValueError, match=r"bomb\.yaml.*expands to more than 100000 values"):
            load_yaml_config(path)

    def test_non_mapping_rejected(self, tmp_path: Path) -> None:
        """A top-level list raises ValueError naming the file."""
        path = tmp_path / "list.yaml"
        path.write_text("- 1\n- 2\n")
        with pytest.raises(ValueError, match=r"list\.yaml"):
            load_yaml_config(path)
