"""The drop-in bridge: reference-next.md §1 (mappings, checks, override order) and §8.5."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from ptycho_config import InferenceConfig, ModelConfig, TrainingConfig
from ptycho_config.compat.config_bridge import (
    to_inference_config,
    to_model_config,
    to_training_config,
)
from ptycho_config.compat.config_params import DataConfig
from ptycho_config.compat.config_params import InferenceConfig as PTInferenceConfig
from ptycho_config.compat.config_params import ModelConfig as PTModelConfig
from ptycho_config.compat.config_params import TrainingConfig as PTTrainingConfig

TRAINING = {"n_groups": 8, "nphotons": 1e9, "train_data_file": "train.npz"}


def _training(overrides: dict[str, Any] | None = None, **pt: Any) -> TrainingConfig:
    model = to_model_config(DataConfig(), PTModelConfig())
    given = {**TRAINING, "test_data_file": "test.npz", **(overrides or {})}
    return to_training_config(model, DataConfig(), PTModelConfig(), PTTrainingConfig(**pt), given)


class TestToModelConfig:
    def test_defaults(self) -> None:
        """Default PT inputs give N 64, gridsize 2, 'pinn', 'swish' and probe_scale 4.0."""
        model = to_model_config(DataConfig(), PTModelConfig())
        assert isinstance(model, ModelConfig)
        got = (model.N, model.gridsize, model.model_type, model.amp_activation, model.probe_scale)
        assert (64, 2, "pinn", "swish", 4.0) == got

    @pytest.mark.parametrize(
        ("mode", "expected"), [("Unsupervised", "pinn"), ("Supervised", "supervised")]
    )
    def test_mode_names(self, mode: str, expected: str) -> None:
        assert expected == to_model_config(DataConfig(), PTModelConfig(mode=mode)).model_type

    @pytest.mark.parametrize(
        ("given", "expected"),
        [("silu", "swish"), ("SiLU", "swish"), ("sigmoid", "sigmoid"), ("relu", "relu"),
         ("swish", "swish"), ("softplus", "softplus")],
    )  # fmt: skip
    def test_activation_aliases(self, given: str, expected: str) -> None:
        model = to_model_config(DataConfig(), PTModelConfig(amp_activation=given))
        assert expected == model.amp_activation

    def test_forwarded_fields(self) -> None:
        """Same-named fields travel; probe_scale comes from the data config; 77edc75 fields too."""
        pt = PTModelConfig(
            architecture="fno", fno_modes=7, n_filters_scale=3, generator_output_mode="amp_phase",
            probe_mask_sigma=2.5, probe_mask_diameter=30.0, gaussian_smoothing_sigma=0.5,
        )  # fmt: skip
        model = to_model_config(DataConfig(probe_scale=2.0, N=128, grid_size=(3, 3)), pt)
        assert ("fno", 7, 3, "amp_phase") == (
            model.architecture, model.fno_modes, model.n_filters_scale, model.generator_output_mode
        )  # fmt: skip
        assert (2.5, 30.0, 0.5) == (
            model.probe_mask_sigma, model.probe_mask_diameter, model.gaussian_smoothing_sigma
        )  # fmt: skip
        assert (2.0, 128, 3) == (model.probe_scale, model.N, model.gridsize)

    @pytest.mark.parametrize(
        ("mask", "tensor", "expected"),
        [(None, None, False), (False, None, False), (True, None, True), (1, None, True),
         (False, object(), True)],
    )  # fmt: skip
    def test_probe_mask(self, mask: Any, tensor: Any, expected: bool) -> None:
        pt = PTModelConfig(probe_mask=mask, probe_mask_tensor=tensor)
        assert expected is to_model_config(DataConfig(), pt).probe_mask

    def test_non_square_grid(self) -> None:
        with pytest.raises(
            ValueError, match=r"Non-square grids not supported .*grid_size=\(2, 3\)"
        ):
            to_model_config(DataConfig(grid_size=(2, 3)), PTModelConfig())

    def test_bad_mode_is_case_sensitive(self) -> None:
        with pytest.raises(
            ValueError, match=r"Invalid mode 'unsupervised'\. Must be 'Unsupervised'"
        ):
            to_model_config(DataConfig(), PTModelConfig(mode="unsupervised"))

    def test_bad_activation_lists_the_supported_values(self) -> None:
        expected = (
            "Unknown activation 'tanh'. Supported values: "
            "['silu', 'SiLU', 'sigmoid', 'swish', 'softplus', 'relu']"
        )
        with pytest.raises(ValueError) as caught:
            to_model_config(DataConfig(), PTModelConfig(amp_activation="tanh"))
        assert expected == str(caught.value)

    def test_checks_run_in_order(self) -> None:
        """A non-square grid is reported before a bad mode."""
        with pytest.raises(ValueError, match="Non-square"):
            to_model_config(DataConfig(grid_size=(1, 2)), PTModelConfig(mode="x"))

    def test_overrides_win_and_bypass_translation(self) -> None:
        model = to_model_config(DataConfig(), PTModelConfig(), {"gridsize": 3, "N": 128})
        assert (3, 128) == (model.gridsize, model.N)

    def test_unknown_override_is_a_type_error(self) -> None:
        with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
            to_model_config(DataConfig(), PTModelConfig(), {"bogus": 1})

    def test_inputs_are_untouched(self) -> None:
        data, pt, overrides = DataConfig(), PTModelConfig(), {"N": 128}
        to_model_config(data, pt, overrides)
        assert (DataConfig(), PTModelConfig(), {"N": 128}) == (data, pt, overrides)

    def test_object_policy_is_forwarded_resolved(self) -> None:
        """§8.5: the pair and weighting travel; object_big is derived from them."""
        pt = PTModelConfig(
            object_layout="single_patch", training_canvas="independent",
            training_patch_weighting="probe",
        )  # fmt: skip
        model = to_model_config(DataConfig(), pt)
        assert (False, "single_patch", "independent", "probe") == (
            model.object_big, model.object_layout, model.training_canvas,
            model.training_patch_weighting,
        )  # fmt: skip

    def test_object_big_alone_is_resolved_without_a_warning(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model = to_model_config(DataConfig(), PTModelConfig(object_big=False))
        assert ("single_patch", "independent") == (model.object_layout, model.training_canvas)

    def test_contradicting_object_big_override_is_a_conflict(self) -> None:
        pt = PTModelConfig(object_layout="single_patch", training_canvas="independent")
        with pytest.raises(ValueError, match="object_big"):
            to_model_config(DataConfig(), pt, {"object_big": True})


class TestToTrainingConfig:
    def test_mappings(self) -> None:
        """epochs → nepochs, nll → nll_weight, K → neighbor_count, the PT model's trainable."""
        config = _training(epochs=7, batch_size=32, nll=False)
        assert isinstance(config, TrainingConfig)
        assert (7, 32, 0.0, 6) == (
            config.nepochs, config.batch_size, config.nll_weight, config.neighbor_count
        )  # fmt: skip
        assert (False, "pytorch") == (config.intensity_scale_trainable, config.backend)
        assert Path("training_outputs") == config.output_dir

    def test_forwarded_optimiser_fields(self) -> None:
        config = _training(optimizer="sgd", momentum=0.5, scheduler="MultiStage")
        assert ("sgd", 0.5, "MultiStage") == (config.optimizer, config.momentum, config.scheduler)

    def test_not_forwarded(self) -> None:
        """gradient_clip_val and plateau_* keep the canonical defaults (reference gap 12)."""
        config = _training(gradient_clip_val=1.0, plateau_factor=0.9)
        assert (None, 0.5) == (config.gradient_clip_val, config.plateau_factor)

    def test_subsample_seed_comes_from_data(self) -> None:
        model = to_model_config(DataConfig(), PTModelConfig())
        data = DataConfig(subsample_seed=5, n_subsample=3)
        given = {**TRAINING, "test_data_file": "t.npz"}
        config = to_training_config(model, data, PTModelConfig(), PTTrainingConfig(), given)
        assert (5, None) == (config.subsample_seed, config.n_subsample)

    def test_paths_become_paths(self) -> None:
        config = _training({"output_dir": "out"})
        assert (Path("train.npz"), Path("test.npz"), Path("out")) == (
            config.train_data_file, config.test_data_file, config.output_dir
        )  # fmt: skip

    def test_nphotons_guard(self) -> None:
        """The PT default 1e5 with no nphotons override is the divergence error, word for word."""
        model = to_model_config(DataConfig(), PTModelConfig())
        given = {"n_groups": 8, "train_data_file": "a.npz", "test_data_file": "b.npz"}
        with pytest.raises(ValueError) as caught:
            to_training_config(model, DataConfig(), PTModelConfig(), PTTrainingConfig(), given)
        assert (
            "nphotons default divergence detected: PyTorch default (100000.0) differs from "
            "TensorFlow default (1000000000.0). Provide explicit nphotons override to resolve: "
            "overrides=dict(..., nphotons=1000000000.0)"
        ) == str(caught.value)

    def test_nphotons_from_data_when_not_the_torch_default(self) -> None:
        model = to_model_config(DataConfig(), PTModelConfig())
        given = {"n_groups": 8, "train_data_file": "a.npz", "test_data_file": "b.npz"}
        data = DataConfig(nphotons=5e6)
        config = to_training_config(model, data, PTModelConfig(), PTTrainingConfig(), given)
        assert 5e6 == config.nphotons

    @pytest.mark.parametrize("overrides", [{}, {"n_groups": None}])
    def test_n_groups_required(self, overrides: dict[str, Any]) -> None:
        given = {k: v for k, v in TRAINING.items() if k != "n_groups"}
        model = to_model_config(DataConfig(), PTModelConfig())
        pt = PTTrainingConfig(test_data_file="t.npz")
        with pytest.raises(ValueError, match="n_groups is required in overrides for TrainingConf"):
            to_training_config(model, DataConfig(), PTModelConfig(), pt, {**given, **overrides})

    def test_missing_test_file_warns_at_the_caller(self) -> None:
        model = to_model_config(DataConfig(), PTModelConfig())
        with pytest.warns(UserWarning, match="test_data_file not provided") as record:
            to_training_config(model, DataConfig(), PTModelConfig(), PTTrainingConfig(), TRAINING)
        assert __file__ == record[0].filename

    def test_missing_train_file_warns_first_then_fails(self) -> None:
        model = to_model_config(DataConfig(), PTModelConfig())
        given = {"n_groups": 8, "nphotons": 1e9}
        with (
            pytest.warns(UserWarning, match="test_data_file not provided"),
            pytest.raises(ValueError, match="train_data_file is req"),
        ):
            to_training_config(model, DataConfig(), PTModelConfig(), PTTrainingConfig(), given)

    def test_unknown_override_fails_after_the_warning(self) -> None:
        model = to_model_config(DataConfig(), PTModelConfig())
        given = {**TRAINING, "bogus": 1}
        with (
            pytest.warns(UserWarning, match="test_data_file not provided"),
            pytest.raises(TypeError, match="'bogus'"),
        ):
            to_training_config(model, DataConfig(), PTModelConfig(), PTTrainingConfig(), given)


class TestToInferenceConfig:
    def test_mapping(self) -> None:
        model = to_model_config(DataConfig(), PTModelConfig())
        given = {"model_path": "m", "test_data_file": "t.npz"}
        config = to_inference_config(model, DataConfig(K=5), PTInferenceConfig(), given)
        assert isinstance(config, InferenceConfig)
        assert (5, "pytorch", Path("m"), None) == (
            config.neighbor_count, config.backend, config.model_path, config.n_groups
        )  # fmt: skip
        assert (None, Path("inference_outputs")) == (config.subsample_seed, config.output_dir)

    def test_inference_argument_is_never_read(self) -> None:
        model = to_model_config(DataConfig(), PTModelConfig())
        given = {"model_path": "m", "test_data_file": "t.npz"}
        assert to_inference_config(model, DataConfig(), None, given).model_path == Path("m")

    @pytest.mark.parametrize(
        ("given", "phrase"),
        [({"test_data_file": "t"}, "model_path is required"),
         ({"model_path": "m"}, "test_data_file is required in overrides for InferenceConfig")],
    )  # fmt: skip
    def test_required_paths(self, given: dict[str, Any], phrase: str) -> None:
        model = to_model_config(DataConfig(), PTModelConfig())
        with pytest.raises(ValueError, match=phrase):
            to_inference_config(model, DataConfig(), PTInferenceConfig(), given)
