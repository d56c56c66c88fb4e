"""Layered resolution: precedence pair by pair, every environment rule, files and errors."""

from __future__ import annotations

import copy
import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptycho_config import (
    ConfigFileNotFoundError,
    ConflictError,
    ExecutionConfig,
    InvalidValueError,
    PtychoConfigError,
    Source,
    UnknownKeyError,
    resolve_inference,
    resolve_training,
)
from ptycho_config._merge.resolve import merge, read_layers
from ptycho_config._schemas.registry import KEYS, PayloadKind
from ptycho_config._schemas.sections import TorchBackendConfig
from ptycho_config._sources.environment import Environment
from ptycho_config._sources.kinds import SourceKind
from ptycho_config._sources.layer import Layer
from ptycho_config._sources.mapping import MappingSource
from tests.conftest import PRECEDENCE

INFER = {"model_path": "/m", "test_data_file": "/t.npz"}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


class TestPrecedencePairs:
    """Each source beats the one directly below it, and provenance names the winner."""

    def test_override_beats_execution_config(self) -> None:
        """An override wins over a field set explicitly on an ExecutionConfig."""
        resolved = resolve_training(
            {"accelerator": "cpu"}, ExecutionConfig(accelerator="gpu"), environ={}
        )
        assert resolved.execution_config.accelerator == "cpu"
        assert resolved.provenance["execution.accelerator"].kind == "override"

    def test_execution_config_beats_env(self) -> None:
        """An explicitly set execution field wins over the environment."""
        resolved = resolve_training(
            None, ExecutionConfig(num_workers=2), environ={"PTYCHO_NUM_WORKERS": "4"}
        )
        assert resolved.execution_config.num_workers == 2
        assert resolved.provenance["execution.num_workers"].kind == "execution_config"

    def test_execution_default_fields_do_not_beat_env(self) -> None:
        """Fields left at their default on the instance do not outrank the environment."""
        resolved = resolve_training(
            None, ExecutionConfig(num_workers=2), environ={"PTYCHO_ACCELERATOR": "cpu"}
        )
        assert resolved.execution_config.accelerator == "cpu"
        assert resolved.provenance["execution.accelerator"].detail == "PTYCHO_ACCELERATOR"

    def test_env_beats_file(self, tmp_path: Path) -> None:
        """The environment wins over a config file."""
        config = write(tmp_path / "c.yaml", "training:\n  batch_size: 8\n")
        resolved = resolve_training(environ={"PTYCHO_BATCH_SIZE": "32"}, config_file=config)
        assert resolved.training_config.batch_size == 32
        assert resolved.provenance["training.batch_size"].kind == "env"

    def test_file_beats_checkpoint(self, tmp_path: Path) -> None:
        """A config file wins over the checkpoint snapshot."""
        config = write(tmp_path / "c.json", json.dumps({"model": {"N": 256}}))
        resolved = resolve_inference(
            INFER, environ={}, config_file=config, checkpoint={"model.N": 128}
        )
        assert resolved.inference_config.model.N == 256
        assert resolved.provenance["model.N"] == resolved.provenance["model.N"].__class__(
            "file", str(config)
        )

    def test_checkpoint_beats_inferred(self) -> None:
        """The checkpoint snapshot wins over a value inferred from data."""
        resolved = resolve_inference(
            INFER, environ={}, checkpoint={"model.N": 128}, inferred={"N": 64}
        )
        assert resolved.inference_config.model.N == 128
        assert resolved.provenance["model.N"].kind == "checkpoint"

    def test_file_beats_inferred(self, tmp_path: Path) -> None:
        """A config file wins over a value inferred from data."""
        config = write(tmp_path / "c.toml", "[model]\nN = 256\n")
        resolved = resolve_training(environ={}, config_file=config, inferred={"N": 64})
        assert resolved.training_config.model.N == 256
        assert resolved.provenance["model.N"].kind == "file"

    def test_inferred_beats_default(self) -> None:
        """A value inferred from data wins over the schema default."""
        resolved = resolve_training(environ={}, inferred={"N": 128})
        assert resolved.training_config.model.N == 128
        assert resolved.provenance["model.N"].kind == "inferred"

    def test_default_when_nothing_sets_a_key(self) -> None:
        """An untouched key keeps the schema default and says so."""
        resolved = resolve_training(environ={})
        assert resolved.training_config.nepochs == 50
        assert resolved.provenance["training.nepochs"].kind == "default"

    def test_override_beats_inferred_probe_size(self) -> None:
        """An explicit N override beats the N inferred from the data."""
        resolved = resolve_training({"N": 128}, environ={}, inferred={"N": 64})
        assert resolved.training_config.model.N == 128
        assert resolved.applied == {"N": 128}


class TestEnvironment:
    """The PTYCHO_* environment rules."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1", True), ("0", False), ("true", True), ("FALSE", False), ("Yes", True),
            ("no", False), ("ON", True), ("off", False),
        ],
    )  # fmt: skip
    def test_booleans(self, text: str, expected: bool) -> None:
        """Booleans accept 1/0, true/false, yes/no and on/off in any case."""
        resolved = resolve_training(environ={"PTYCHO_PROBE_TRAINABLE": text})
        assert resolved.training_config.probe_trainable is expected

    @pytest.mark.parametrize("text", ["none", "NULL", "None"])
    def test_none_sets_optional_to_none(self, text: str) -> None:
        """'none' or 'null' sets an optional field to None, beating a lower source."""
        resolved = resolve_training(
            environ={"PTYCHO_N_SUBSAMPLE": text}, inferred={"n_subsample": 10}
        )
        assert resolved.training_config.n_subsample is None
        assert resolved.provenance["training.n_subsample"].kind == "env"

    @pytest.mark.parametrize("key", sorted(k for k, spec in KEYS.items() if spec.default is None))
    def test_every_optional_key_reads_none(self, key: str) -> None:
        """Each key whose default is None can be set back to None from text."""
        environ = {KEYS[key].env: "null"}
        if key.startswith("inference."):
            resolved = resolve_inference(INFER, environ=environ)
        else:
            resolved = resolve_training(environ=environ, inferred={})
        assert resolved.value(key) is None
        assert resolved.provenance[key].kind == "env"

    def test_none_on_required_field_is_invalid(self) -> None:
        """'none' for a field that cannot be None is an invalid value, not a silent default."""
        with pytest.raises(InvalidValueError, match="PTYCHO_BATCH_SIZE"):
            resolve_training(environ={"PTYCHO_BATCH_SIZE": "none"})

    @pytest.mark.parametrize("text", ["[2, 2]", "2,2", " 3 , 3 "])
    def test_pairs(self, text: str) -> None:
        """A square pair is accepted as JSON or comma-separated."""
        resolved = resolve_training(environ={"PTYCHO_GRID_SIZE": text})
        assert resolved.training_config.model.gridsize == int(text.strip(" [").split(",")[0])

    def test_non_square_pair_rejected(self) -> None:
        """A non-square grid_size pair is rejected naming the variable."""
        with pytest.raises(InvalidValueError, match=r"PTYCHO_GRID_SIZE.*square"):
            resolve_training(environ={"PTYCHO_GRID_SIZE": "2,3"})

    def test_qualified_and_bare_names(self) -> None:
        """PTYCHO_<SECTION>__<FIELD> always works and PTYCHO_<FIELD> works when unambiguous."""
        resolved = resolve_training(
            environ={
                "PTYCHO_MODEL__N": "128",
                "PTYCHO_N_GROUPS": "256",
                "PTYCHO_ACCELERATOR": "cpu",
            }
        )
        assert (resolved.training_config.model.N, resolved.training_config.n_groups) == (128, 256)
        assert resolved.execution_config.accelerator == "cpu"

    def test_names_are_case_insensitive(self) -> None:
        """Variable names match in any case."""
        resolved = resolve_training(environ={"ptycho_batch_size": "64", "Ptycho_Model__N": "256"})
        assert resolved.training_config.batch_size == 64
        assert resolved.training_config.model.N == 256

    def test_aliases(self) -> None:
        """Aliases work in the environment too."""
        resolved = resolve_training(environ={"PTYCHO_MAX_EPOCHS": "7", "PTYCHO_K": "6"})
        assert resolved.training_config.nepochs == 7
        assert resolved.training_config.neighbor_count == 6
        assert resolved.provenance["training.nepochs"].detail == "PTYCHO_MAX_EPOCHS"

    @pytest.mark.parametrize(
        "name",
        [
            "PTYCHO_CONFIG_FILE", "PTYCHO_DEBUG_PARITY", "PTYCHO_DISABLE_MEMOIZE",
            "PTYCHO_MEMOIZE_KEY_MODE", "PTYCHO_TORCH_STITCH_DEBUG", "PTYCHO_TORCH_SEED",
            "ptycho_torch_seed",
        ],
    )  # fmt: skip
    def test_reserved_switches_are_not_keys(self, name: str, tmp_path: Path) -> None:
        """The reserved runtime switches, in any case, are neither errors nor keys."""
        value = str(write(tmp_path / "c.yaml", "{}")) if name == "PTYCHO_CONFIG_FILE" else "1"
        resolved = resolve_training(environ={name: value})
        assert resolved.training_config.batch_size == 16

    def test_unknown_variable_suggests(self) -> None:
        """A misspelled variable fails and suggests the right one."""
        with pytest.raises(UnknownKeyError, match="did you mean 'PTYCHO_BATCH_SIZE'"):
            resolve_training(environ={"PTYCHO_BATCH_SIZ": "16"})

    def test_unknown_variable_warns_when_not_strict(self) -> None:
        """strict_env=False turns an unknown variable into a warning."""
        with pytest.warns(UserWarning, match="PTYCHO_BATCH_SIZ.*PTYCHO_BATCH_SIZE"):
            resolved = resolve_training(environ={"PTYCHO_BATCH_SIZ": "16"}, strict_env=False)
        assert resolved.provenance["training.batch_size"].kind == "default"

    def test_bare_name_of_a_shared_field_sets_the_one_value(self) -> None:
        """PTYCHO_SCHEDULER names training's and execution's scheduler, which are one value."""
        resolved = resolve_training(environ={"PTYCHO_SCHEDULER": "Exponential"})
        assert resolved.training_config.scheduler == "Exponential"
        assert resolved.execution_config.scheduler == "Exponential"

    def test_shared_field_keys_from_two_sources_take_the_higher(self) -> None:
        """training.scheduler and execution.scheduler from different sources: the higher
        source's value and provenance hold for both keys."""
        resolved = resolve_training(
            {"execution.scheduler": "Exponential"},
            environ={"PTYCHO_TRAINING__SCHEDULER": "WarmupCosine"},
        )
        assert resolved.training_config.scheduler == "Exponential"
        assert resolved.execution_config.scheduler == "Exponential"
        origin = resolved.provenance["training.scheduler"]
        assert Source("override", "execution.scheduler") == origin

    def test_shared_field_keys_from_one_source_must_agree(self) -> None:
        """One source giving training.scheduler and execution.scheduler different values is a
        conflict naming both."""
        given = {"training.scheduler": "Exponential", "execution.scheduler": "WarmupCosine"}
        with pytest.raises(ConflictError, match=r"training\.scheduler and execution\.scheduler"):
            resolve_training(given, environ={})
        same = {"training.scheduler": "Exponential", "execution.scheduler": "Exponential"}
        assert resolve_training(same, environ={}).execution_config.scheduler == "Exponential"

    def test_two_spellings_with_different_values(self) -> None:
        """The same key spelled twice with different values is an error naming both."""
        with pytest.raises(ConflictError, match=r"PTYCHO_N_GROUPS.*PTYCHO_TRAINING__N_GROUPS"):
            resolve_training(environ={"PTYCHO_N_GROUPS": "5", "PTYCHO_TRAINING__N_GROUPS": "6"})

    def test_two_spellings_with_the_same_value(self) -> None:
        """The same key spelled twice with one value is fine."""
        resolved = resolve_training(
            environ={"PTYCHO_N_GROUPS": "6", "PTYCHO_TRAINING__N_GROUPS": "6"}
        )
        assert resolved.training_config.n_groups == 6

    def test_power_of_two_message(self) -> None:
        """An invalid value names the variable, the raw text and the rule."""
        with pytest.raises(InvalidValueError) as caught:
            resolve_training(environ={"PTYCHO_BATCH_SIZE": "12"})
        message = str(caught.value)
        assert "PTYCHO_BATCH_SIZE" in message
        assert "'12'" in message
        assert "power of two" in message

    def test_type_error_message_names_expected_type(self) -> None:
        """A value of the wrong type says what type was expected."""
        with pytest.raises(InvalidValueError, match=r"'many'.*PTYCHO_NEPOCHS.*integer"):
            resolve_training(environ={"PTYCHO_NEPOCHS": "many"})

    def test_other_payload_variables_are_ignored(self) -> None:
        """Training-only variables do not break an inference resolution, and are reported."""
        resolved = resolve_inference(INFER, environ={"PTYCHO_BATCH_SIZE": "8"})
        assert any("PTYCHO_BATCH_SIZE" in note for note in resolved.ignored)

    def test_environ_is_not_mutated(self) -> None:
        """Resolution reads the mapping and never changes it."""
        environ = {"PTYCHO_BATCH_SIZE": "32", "HOME": "/root"}
        resolve_training(environ=environ)
        assert environ == {"PTYCHO_BATCH_SIZE": "32", "HOME": "/root"}

    def test_config_file_from_environment(self, tmp_path: Path) -> None:
        """PTYCHO_CONFIG_FILE names the config file when no argument does."""
        config = write(tmp_path / "c.yaml", "nepochs: 3\n")
        resolved = resolve_training(environ={"PTYCHO_CONFIG_FILE": str(config)})
        assert resolved.training_config.nepochs == 3
        assert resolved.provenance["training.nepochs"].detail == str(config)


class TestConfigFile:
    """YAML, TOML and JSON files with sections or bare keys."""

    def test_yaml_sections_and_bare_keys(self, tmp_path: Path) -> None:
        """Sections and bare unambiguous keys may be mixed."""
        config = write(
            tmp_path / "c.yml", "model:\n  gridsize: 2\nexecution:\n  seed: 7\nnepochs: 9\n"
        )
        resolved = resolve_training(environ={}, config_file=config)
        assert resolved.training_config.model.gridsize == 2
        assert resolved.execution_config.seed == 7
        assert resolved.training_config.nepochs == 9

    def test_yaml_exponent_without_dot_is_a_float(self, tmp_path: Path) -> None:
        """A YAML 1.1 number like 1e6 (a string to safe_load) is accepted for float fields."""
        config = write(tmp_path / "c.yaml", "nphotons: 1e6\n")
        resolved = resolve_training(environ={}, config_file=config)
        assert resolved.training_config.nphotons == 1e6

    def test_yaml_is_loaded_safely(self, tmp_path: Path) -> None:
        """A YAML tag that would construct a Python object is refused."""
        config = write(tmp_path / "c.yaml", "nepochs: !!python/object/apply:os.getpid []\n")
        with pytest.raises(InvalidValueError, match="cannot parse config file"):
            resolve_training(environ={}, config_file=config)

    def test_unknown_key_in_file_suggests(self, tmp_path: Path) -> None:
        """A misspelled key in a file is reported with the file and a suggestion."""
        config = write(tmp_path / "c.toml", "[training]\nbatch_sise = 8\n")
        with pytest.raises(UnknownKeyError, match=r"c\.toml.*did you mean 'training.batch_size'"):
            resolve_training(environ={}, config_file=config)

    def test_other_payload_section_is_skipped(self, tmp_path: Path) -> None:
        """One file may hold both training and inference sections."""
        config = write(tmp_path / "c.yaml", "training:\n  nepochs: 5\ninference:\n  debug: true\n")
        trained = resolve_training(environ={}, config_file=config)
        inferred = resolve_inference(INFER, environ={}, config_file=config)
        assert trained.training_config.nepochs == 5
        assert inferred.inference_config.debug is True

    def test_missing_file(self, tmp_path: Path) -> None:
        """A config file that does not exist is a file-not-found error naming it."""
        missing = tmp_path / "nope.yaml"
        with pytest.raises(ConfigFileNotFoundError, match=r"nope\.yaml"):
            resolve_training(environ={}, config_file=missing)

    def test_missing_file_is_a_file_not_found_error(self, tmp_path: Path) -> None:
        """Callers catching FileNotFoundError catch it too."""
        with pytest.raises(FileNotFoundError):
            resolve_training(environ={}, config_file=tmp_path / "nope.json")

    @pytest.mark.parametrize(
        ("name", "text"),
        [("c.yaml", "a: [1, 2"), ("c.toml", "a = "), ("c.json", "{"), ("c.yaml", "- 1\n- 2\n")],
    )
    def test_unreadable_file(self, tmp_path: Path, name: str, text: str) -> None:
        """Broken or non-mapping files are clear errors naming the file."""
        config = write(tmp_path / name, text)
        with pytest.raises(InvalidValueError, match=name):
            resolve_training(environ={}, config_file=config)

    def test_unsupported_extension(self, tmp_path: Path) -> None:
        """An extension that is no known format is rejected, listing the supported ones."""
        config = write(tmp_path / "c.ini", "[x]\n")
        with pytest.raises(InvalidValueError, match=r"\.json, \.toml"):
            resolve_training(environ={}, config_file=config)


class TestOverridesAndErrors:
    """Overrides use the registry's spellings; every problem is reported at once."""

    def test_reference_style_flat_keys(self) -> None:
        """Flat reference-style keys and aliases resolve to their fields."""
        resolved = resolve_training(
            {"n_groups": 512, "batch_size": 8, "gridsize": 2, "max_epochs": 20, "K": 7},
            environ={},
        )
        config = resolved.training_config
        assert (config.n_groups, config.batch_size, config.model.gridsize) == (512, 8, 2)
        assert (config.nepochs, config.neighbor_count) == (20, 7)

    def test_model_type_either_naming(self) -> None:
        """model_type accepts both the canonical and the reference naming."""
        resolved = resolve_training({"model_type": "Supervised"}, environ={})
        assert resolved.training_config.model.model_type == "supervised"

    @given(
        st.sampled_from([
            ("model.architecture", "fno_vanilla"), ("training.optimizer", "adamw"),
            ("training.scheduler", "WarmupCosine"), ("training.torch_loss_mode", "mae"),
            ("execution.precision", "bf16-mixed"), ("model.fno_input_transform", "log1p"),
        ]),
        st.data(),
    )  # fmt: skip
    def test_a_choice_in_any_letter_case(self, choice: tuple[str, str], data: Any) -> None:
        """A word of a fixed set is read in any letter case and with spaces around it, from
        an override and from the environment alike."""
        key, word = choice
        cases = data.draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
        text = "".join(c.upper() if up else c.lower() for c, up in zip(word, cases, strict=True))
        text = f" {text}\t"
        variable = "PTYCHO_" + key.replace(".", "__").upper()
        for resolved in (
            resolve_training({key: text}, environ={}),
            resolve_training(environ={variable: text}),
        ):
            assert word == resolved.value(key)

    def test_a_suggestion_names_each_key_once(self) -> None:
        """Of the spellings of one key close to a typo (epochs, nepochs and max_epochs all
        name training.nepochs) only the closest is suggested."""
        with pytest.raises(UnknownKeyError) as caught:
            resolve_training({"epoch": 3}, environ={})
        assert ("epochs",) == caught.value.problems[0].suggestions

    def test_deprecated_alias_warns(self) -> None:
        """n_images still works for n_groups but warns."""
        with pytest.warns(DeprecationWarning, match="n_images"):
            resolved = resolve_training({"n_images": 99}, environ={})
        assert resolved.training_config.n_groups == 99

    def test_all_problems_listed_together(self) -> None:
        """Unknown, ambiguous and invalid keys from several sources come in one error."""
        with pytest.raises(PtychoConfigError) as caught:
            resolve_training(
                {"n_grops": 5, "scheduler": "Cosine"},
                environ={"PTYCHO_BATCH_SIZE": "12", "PTYCHO_NEPOCS": "3"},
            )
        keys = sorted(problem.key for problem in caught.value.problems)
        assert keys == ["PTYCHO_NEPOCS", "n_grops", "training.batch_size", "training.scheduler"]

    def test_cross_field_problem_names_both_sources(self) -> None:
        """A broken cross-field rule names the keys and where each value came from."""
        with pytest.raises(InvalidValueError) as caught:
            resolve_training(
                {"realspace_mae_weight": 0.5}, environ={"PTYCHO_REALSPACE_WEIGHT": "0"}
            )
        message = str(caught.value)
        assert "override realspace_mae_weight" in message
        assert "env PTYCHO_REALSPACE_WEIGHT" in message

    def test_override_for_the_other_payload_fails(self) -> None:
        """An override that only applies to inference is not silently dropped in training."""
        with pytest.raises(UnknownKeyError, match="does not apply to training payloads"):
            resolve_training({"debug": True}, environ={})

    def test_explain_table(self) -> None:
        """explain() lists every key with its value and source."""
        text = resolve_training({"batch_size": 8}, environ={}).explain()
        lines = text.splitlines()
        assert lines[0].split() == ["key", "value", "source", "detail"]
        row = next(line for line in lines if line.startswith("training.batch_size"))
        assert row.split() == ["training.batch_size", "8", "override", "batch_size"]


class TestProvenance:
    """A resolution's provenance is a read-only mapping of every key, in schema order."""

    def test_every_key_in_schema_order_with_defaults(self) -> None:
        """Keys set by a source carry it; every other key of the payload is a schema default."""
        provenance = resolve_training({"batch_size": 8}, environ={}).provenance
        keys = [key.qualified for key in KEYS.values() if key.section != "inference"]
        assert keys == list(provenance)
        assert len(keys) == len(provenance)
        assert Source("override", "batch_size") == provenance["training.batch_size"]
        assert Source("default", "schema default") == provenance["training.nepochs"]
        assert dict(provenance) == provenance

    def test_keys_of_other_payloads_are_absent(self) -> None:
        """A key the payload does not have is a KeyError, as in any mapping."""
        provenance = resolve_training({}, environ={}).provenance
        assert "inference.debug" not in provenance
        with pytest.raises(KeyError):
            provenance["inference.debug"]
        assert provenance.get("nope") is None

    def test_read_only(self) -> None:
        """Nothing can replace a recorded source."""
        provenance = resolve_training({}, environ={}).provenance
        with pytest.raises(TypeError):
            provenance["training.nepochs"] = Source("override")  # type: ignore[index]

    def test_noting_adds_to_the_detail_of_one_key_in_a_copy(self) -> None:
        """A note joins the detail of one key's source; the original is unchanged."""
        resolved = resolve_training({"batch_size": 8}, environ={})
        noted = resolved.with_note("training.batch_size", "checked")
        assert Source("override", "batch_size; checked") == noted.provenance["training.batch_size"]
        assert Source("override", "batch_size") == resolved.provenance["training.batch_size"]
        default = noted.with_note("training.nepochs", "kept").provenance["training.nepochs"]
        assert Source("default", "schema default; kept") == default


class TestUnsetSections:
    """A section that no source sets is exactly its schema's defaults."""

    def test_unset_sections_equal_fresh_defaults(self) -> None:
        """Nothing set: torch and execution are the schema defaults, with no field marked set."""
        resolved = resolve_training({}, environ={})
        assert TorchBackendConfig() == resolved.training_config.torch
        assert ExecutionConfig() == resolved.execution_config
        assert set() == resolved.training_config.torch.model_fields_set

    def test_a_value_set_once_does_not_stay(self) -> None:
        """A resolution that sets a torch or execution field leaves later resolutions alone."""
        resolve_training({"torch.K_quadrant": 7, "execution.num_workers": 3}, environ={})
        resolved = resolve_training({}, environ={})
        assert 30 == resolved.training_config.torch.K_quadrant
        assert 0 == resolved.execution_config.num_workers


class TestOneSourceMechanism:
    """Every source is read into a layer, and precedence is the order of PRECEDENCE."""

    @pytest.mark.parametrize(
        ("higher", "lower"),
        [(a, b) for i, a in enumerate(PRECEDENCE[:-1]) for b in PRECEDENCE[i + 1 : -1]],
    )
    def test_each_kind_beats_every_later_kind(self, higher: SourceKind, lower: SourceKind) -> None:
        """Of any two kinds, the earlier in PRECEDENCE wins, whatever the order given."""
        sources = [
            MappingSource(lower, {"batch_size": 8}, {"batch_size": "low"}),
            MappingSource(higher, {"batch_size": 32}, {"batch_size": "high"}),
        ]
        resolved = merge("training", read_layers("training", sources))
        assert 32 == resolved.training_config.batch_size
        assert Source(higher, "high") == resolved.provenance["training.batch_size"]

    def test_a_new_source_is_one_class(self) -> None:
        """Any object with a kind and a read method is a source; provenance names its kind."""

        @dataclass(frozen=True)
        class Constant:
            kind: SourceKind = "settings"

            def read(self, payload: PayloadKind) -> Layer:
                return MappingSource(self.kind, {"nepochs": 7}, {"nepochs": "vault"}).read(payload)

        layers = read_layers("training", [Constant(), Environment({"PTYCHO_NEPOCHS": "9"})])
        resolved = merge("training", layers)
        assert 9 == resolved.training_config.nepochs
        assert ["env", "settings"] == [layer.kind for layer in layers]


@pytest.mark.parametrize("kind", ["training", "inference"])
def test_value_of_each_key_is_its_entry_in_values(kind: PayloadKind, tmp_path: Path) -> None:
    """`value(key)` reads the one key `values()` lists under it, in every section."""
    given = {"n_groups": 3, "model.gridsize": 2, "execution.seed": 7}
    if kind == "training":
        resolved = resolve_training(given, environ={})
    else:
        paths = {"model_path": str(tmp_path), "test_data_file": str(tmp_path / "t.npz")}
        resolved = resolve_inference({**given, **paths}, environ={})
    values = resolved.values()
    assert {resolved.value(key) for key in ("model.gridsize", "execution.seed")} == {2, 7}
    for key, value in values.items():
        assert resolved.value(key) is value, key


def test_a_resolution_pickles_and_copies_whole() -> None:
    """A resolution crosses process boundaries (pickle) and copies like any value; its
    provenance stays a read-only mapping."""
    resolved = resolve_training({"n_groups": 3}, environ={"PTYCHO_NEPOCHS": "7"})
    for copied in (
        pickle.loads(pickle.dumps(resolved)),
        copy.copy(resolved),
        copy.deepcopy(resolved),
    ):
        assert copied == resolved
        assert copied.provenance["training.nepochs"] == resolved.provenance["training.nepochs"]
        assert dict(copied.provenance) == dict(resolved.provenance)
        assert copied.applied == resolved.applied
        with pytest.raises(TypeError):
            copied.provenance["training.nepochs"] = resolved.provenance["model.N"]  # type: ignore[index]
