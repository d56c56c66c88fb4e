"""The drop-in backend config classes: reference-next.md §7, §8.6, §9.9 and reference-head §2."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ptycho_config import ExecutionConfig, ModelConfig, TrainingConfig
from ptycho_config._schemas.sections import TorchBackendConfig
from ptycho_config._torch.objects import (
    TorchDataConfig,
    TorchInferenceConfig,
    TorchModelConfig,
    TorchTrainingConfig,
)
from ptycho_config.compat import config_params as cp

PAIRS = [
    (cp.DataConfig, TorchDataConfig),
    (cp.ModelConfig, TorchModelConfig),
    (cp.TrainingConfig, TorchTrainingConfig),
    (cp.InferenceConfig, TorchInferenceConfig),
]


class TestOneEngine:
    @pytest.mark.parametrize(("compat", "library"), PAIRS)
    def test_defaults_are_the_library_objects(self, compat: type, library: type) -> None:
        """Every compat class has exactly the library object's fields and no-argument values."""
        assert dataclasses.asdict(library()) == dataclasses.asdict(compat())
        assert [f.name for f in dataclasses.fields(library)] == [
            f.name for f in dataclasses.fields(compat)
        ]

    def test_shared_defaults_are_the_registry_defaults(self) -> None:
        """A compat field that a schema declares under its name has the schema's default,
        except the documented backend defaults (reference-head §2)."""
        backend_own = {
            "N", "C", "K", "grid_size", "nphotons", "probe_scale", "mode", "C_model", "C_forward",
            "amp_activation", "intensity_scale_trainable", "probe_mask", "device", "strategy",
            "num_workers", "n_devices", "middle_trim", "batch_size", "pad_eval", "output_dir",
            "train_data_file", "test_data_file", "n_groups", "subsample_seed", "n_subsample",
            "gradient_clip_val", "probe_big", "pad_object", "gaussian_smoothing_sigma",
            "scheduler", "gradient_clip_algorithm",
        }  # fmt: skip
        schemas = (TorchBackendConfig, ModelConfig, TrainingConfig, ExecutionConfig)
        checked = 0
        for compat, _ in PAIRS:
            for item in dataclasses.fields(compat):
                owner = next((s for s in schemas if item.name in s.model_fields), None)
                if owner is None or item.name in backend_own:
                    continue
                expected = owner.model_fields[item.name].get_default(call_default_factory=True)
                assert expected == getattr(compat(), item.name), item.name
                checked += 1
        assert checked > 90

    def test_object_policy_fields_follow_next(self) -> None:
        """§8.1: object_big, object_layout, training_canvas, weighting default to None."""
        model = cp.ModelConfig()
        assert 59 == len(dataclasses.fields(model))
        assert (None, None, None, None) == (
            model.object_big, model.object_layout, model.training_canvas,
            model.training_patch_weighting,
        )  # fmt: skip


class TestMutability:
    @pytest.mark.parametrize(("compat", "_"), PAIRS)
    def test_attributes_can_be_set(self, compat: type, _: type) -> None:
        config = compat()
        config.batch_size = 3  # a new attribute is fine on a plain dataclass too
        assert 3 == config.batch_size

    def test_counts(self) -> None:
        """DataConfig 21, TrainingConfig 44, InferenceConfig 9 fields (reference-head §2)."""
        counts = [len(dataclasses.fields(c)) for c in (cp.DataConfig, cp.TrainingConfig)]
        assert [21, 44, 9] == [*counts, len(dataclasses.fields(cp.InferenceConfig))]

    def test_list_defaults_are_not_shared(self) -> None:
        a, b = cp.TrainingConfig(), cp.TrainingConfig()
        a.training_directories.append("x")
        assert [] == b.training_directories


class TestModelPostInit:
    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("spectral_bottleneck_blocks", 0, "spectral_bottleneck_blocks must be positive"),
            ("spectral_bottleneck_modes", -1, "spectral_bottleneck_modes must be positive"),
            ("spectral_bottleneck_gate_mode", "x", "invalid spectral_bottleneck_gate_mode"),
            ("spectral_bottleneck_gate_init", math.nan, "must be finite"),
            ("spectral_bottleneck_gate_init", math.inf, "must be finite"),
        ],
    )
    def test_first_failing_check(self, field: str, value: object, message: str) -> None:
        with pytest.raises(ValueError) as caught:
            cp.ModelConfig(**{field: value})
        assert message in str(caught.value)
        assert type(caught.value) is ValueError

    def test_order(self) -> None:
        with pytest.raises(ValueError, match="blocks must be positive"):
            cp.ModelConfig(spectral_bottleneck_gate_mode="x", spectral_bottleneck_blocks=0)

    def test_negative_gate_and_later_setattr_are_accepted(self) -> None:
        model = cp.ModelConfig(spectral_bottleneck_gate_init=-0.5)
        model.spectral_bottleneck_blocks = 0
        assert 0 == model.spectral_bottleneck_blocks

    def test_removed_ffno_fields(self) -> None:
        with pytest.raises(TypeError):
            cp.ModelConfig(ffno_encoder_blocks=3)


class TestUpdateExistingConfig:
    def test_sets_known_and_ignores_unknown(self, capsys: pytest.CaptureFixture[str]) -> None:
        config = cp.DataConfig()
        cp.update_existing_config(config, {"N": 128, "bogus": 1})
        assert 128 == config.N
        assert not hasattr(config, "bogus")
        assert "" == capsys.readouterr().out

    def test_verbose_lists_ignored(self, capsys: pytest.CaptureFixture[str]) -> None:
        cp.update_existing_config(cp.DataConfig(), {"bogus": 1}, verbose=True)
        assert "bogus" in capsys.readouterr().out


class TestDatagenConfig:
    def test_defaults(self) -> None:
        config = cp.DatagenConfig()
        assert (4, 7000, "dead_leaves", (250, 250), [], 4) == (
            config.objects_per_probe, config.diff_per_object, config.object_class,
            config.image_size, config.probe_paths, config.beamstop_diameter,
        )  # fmt: skip


SPECTRAL_VALUES = {
    "spectral_bottleneck_blocks": st.integers(-2, 3),
    "spectral_bottleneck_modes": st.integers(-2, 3),
    "spectral_bottleneck_gate_mode": st.sampled_from(["shared", "per_block", "global"]),
    "spectral_bottleneck_gate_init": st.sampled_from([0.1, -1.0, math.nan, math.inf, 0.0]),
}


class TestRulesAreTheRegistrys:
    @settings(max_examples=40)
    @given(st.fixed_dictionaries({}, optional=SPECTRAL_VALUES))
    def test_model_rejects_what_the_library_rejects(self, values: dict[str, object]) -> None:
        """The compat ModelConfig accepts exactly the spectral values the library's rules do."""
        try:
            ExecutionConfig(**values)
            library_accepts = True
        except ValueError:
            library_accepts = False
        try:
            cp.ModelConfig(**values)
            compat_accepts = True
        except ValueError:
            compat_accepts = False
        assert library_accepts == compat_accepts
