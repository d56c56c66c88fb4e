"""The reference's current canonical configs (SPEC §11.1), walked field by field from a table."""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ptycho.config.config import KEY_MAPPINGS
from ptycho_config import (
    ConflictError,
    ExecutionConfig,
    InferenceConfig,
    InvalidValueError,
    ModelConfig,
    TrainingConfig,
    create_inference_payload,
    create_training_payload,
    resolve_training,
    save_snapshot,
    to_legacy_dict,
)
from ptycho_config._schemas.registry import SHARED_FIELDS
from ptycho_config._schemas.sections import TorchBackendConfig
from ptycho_config._torch.config import (
    TorchDataConfig,
    TorchInferenceConfig,
    TorchModelConfig,
    TorchTrainingConfig,
    torch_data_config,
    torch_inference_config,
    torch_model_config,
    torch_training_config,
)
from tests._example import write_example
from tests.conftest import make_model_dir

SCHEMAS: dict[str, Any] = {
    "model": ModelConfig,
    "training": TrainingConfig,
    "inference": InferenceConfig,
    "execution": ExecutionConfig,
}
REQUIRED = object()
INFERENCE_PATHS = {"model_path": Path("model"), "test_data_file": Path("test.npz")}


@dataclass(frozen=True)
class Ref:
    """One field of the reference: default, choices, first invalid value and its rule's phrase."""

    section: str
    name: str
    default: Any
    choices: tuple[Any, ...] | None = None
    invalid: Any = None
    phrase: str = ""

    def __str__(self) -> str:
        return f"{self.section}.{self.name}"


def _fields(section: str, *rows: tuple[Any, ...]) -> list[Ref]:
    return [Ref(section, *row) for row in rows]


ARCHITECTURES = ("cnn", "ffno", "fno", "fno_vanilla", "neuralop_uno")
GENERATOR_OUTPUTS = ("real_imag", "amp_phase_logits", "amp_phase")
SCHEDULERS = ("Default", "Exponential", "WarmupCosine", "ReduceLROnPlateau")
# reference-head.md §1.1 to §1.4, in the reference's order.
REFERENCE = [
    *_fields(
        "model",
        ("N", 64, (64, 128, 256), 32, "64, 128, 256"),
        ("gridsize", 1, None, 0, "must be positive"),
        ("n_filters_scale", 2, None, 0, "must be positive"),
        ("model_type", "pinn", ("pinn", "supervised"), "gan"),
        ("architecture", "cnn", ARCHITECTURES, "resnet"),
        ("fno_modes", 12),
        ("fno_width", 32),
        ("fno_blocks", 4),
        ("fno_cnn_blocks", 2),
        ("learned_input_channels", 1),
        ("max_hidden_channels", None),
        ("resnet_width", None),
        ("fno_input_transform", "none", ("none", "sqrt", "log1p", "instancenorm"), "exp"),
        ("generator_output_mode", "real_imag", GENERATOR_OUTPUTS, "polar"),
        ("amp_activation", "sigmoid", ("sigmoid", "swish", "softplus", "relu"), "tanh"),
        # reference-next.md §8.1: the public object policy; None is resolved where it is used
        ("object_big", None),
        ("object_layout", None),
        ("training_canvas", None),
        ("training_patch_weighting", None),
        ("probe_big", True),
        ("probe_mask", False),
        ("probe_mask_sigma", 1.0),
        ("probe_mask_diameter", None),
        ("pad_object", True),
        ("probe_scale", 4.0, None, 0.0, "must be positive"),
        ("gaussian_smoothing_sigma", 0.0, None, -math.ulp(0.0), "must be non-negative"),
    ),
    *_fields(
        "training",
        ("train_data_file", None),
        ("test_data_file", None),
        ("batch_size", 16, None, 3, "positive power of two"),
        ("nepochs", 50, None, 0, "must be positive"),
        ("mae_weight", 0.0, None, math.nextafter(1.0, 2.0), "must be in [0,1]"),
        ("nll_weight", 1.0, None, math.nextafter(1.0, 2.0), "must be in [0,1]"),
        ("realspace_mae_weight", 0.0),
        ("realspace_weight", 0.0),
        ("nphotons", 1e9, None, 0.0, "must be positive"),
        ("n_groups", 512),
        ("n_images", None),
        ("n_subsample", None),
        ("subsample_seed", None),
        ("neighbor_count", 4),
        ("enable_oversampling", False),
        ("neighbor_pool_size", None),
        ("positions_provided", True),
        ("probe_trainable", False),
        ("intensity_scale_trainable", True),
        ("output_dir", Path("training_outputs")),
        ("sequential_sampling", False),
        ("backend", "tensorflow", ("tensorflow", "pytorch"), "jax"),
        ("torch_loss_mode", "poisson", ("poisson", "mae"), "mse"),
        ("torch_mae_pred_l2_match_target", False),
        ("gradient_clip_val", None),
        ("gradient_clip_algorithm", "norm", ("norm", "value", "agc"), "max"),
        ("optimizer", "adam", ("adam", "adamw", "sgd"), "rmsprop"),
        ("momentum", 0.9),
        ("weight_decay", 0.0),
        ("adam_beta1", 0.9),
        ("adam_beta2", 0.999),
        ("scheduler", "Default", SCHEDULERS, "Cosine"),
        ("lr_warmup_epochs", 0),
        ("lr_min_ratio", 0.1),
        ("plateau_factor", 0.5),
        ("plateau_patience", 2),
        ("plateau_min_lr", 5e-5),
        ("plateau_threshold", 0.0),
    ),
    *_fields(
        "inference",
        ("model_path", REQUIRED),
        ("test_data_file", REQUIRED),
        ("n_groups", None),
        ("n_images", None),
        ("n_subsample", None),
        ("subsample_seed", None),
        ("neighbor_count", 4),
        ("enable_oversampling", False),
        ("neighbor_pool_size", None),
        ("debug", False),
        ("output_dir", Path("inference_outputs")),
        ("backend", "tensorflow", ("tensorflow", "pytorch"), "jax"),
    ),
    *_fields(
        "execution",
        ("accelerator", "auto", ("auto", "cpu", "gpu", "cuda", "mps"), "tpu", "TPU"),
        ("devices", 1, None, 0, "must be positive"),
        ("strategy", "auto"),
        ("deterministic", True, (True, False, "warn"), "error"),
        ("precision", "32-true", ("32-true", "16-mixed", "bf16-mixed"), "64-true"),
        ("gradient_clip_val", None),
        ("gradient_clip_algorithm", "norm", ("norm", "value", "agc"), "max"),
        ("accum_steps", 1, None, 0, "must be positive"),
        ("num_workers", 0, None, -1, "must be non-negative"),
        ("pin_memory", False),
        ("persistent_workers", False),
        ("prefetch_factor", None),
        ("learning_rate", 1e-3, None, 0.0, "must be positive"),
        ("scheduler", "Default"),
        ("enable_progress_bar", False),
        ("enable_checkpointing", True),
        ("checkpoint_save_top_k", 1, None, -2, "-1 or more"),
        ("checkpoint_monitor_metric", "val_loss"),
        ("checkpoint_mode", "min", ("min", "max"), "avg"),
        ("early_stop_patience", 100, None, 0, "must be positive"),
        ("logger_backend", "csv"),
        ("recon_log_every_n_epochs", None),
        ("recon_log_num_patches", 4),
        ("recon_log_fixed_indices", None),
        ("recon_log_stitch", False),
        ("recon_log_max_stitch_samples", None),
        ("ffno_encoder_blocks", 24, None, 0, "must be positive"),
        ("ffno_encoder_modes", 12, None, 0, "must be positive"),
        ("ffno_encoder_share_weights", True),
        ("ffno_encoder_gate_init", 0.1, None, 0.0, "must be finite and > 0"),
        ("ffno_encoder_norm", "instance"),
        ("ffno_encoder_mlp_ratio", 2.0, None, 0.0, "must be finite and > 0"),
        ("spectral_bottleneck_blocks", 6, None, 0, "must be positive"),
        ("spectral_bottleneck_modes", 12, None, 0, "must be positive"),
        ("spectral_bottleneck_share_weights", True),
        ("spectral_bottleneck_gate_init", 0.1, None, math.inf, "must be finite"),
        ("spectral_bottleneck_gate_mode", "shared", ("shared", "per_block"), "global"),
        ("inference_batch_size", None, None, 0, "must be positive"),
        ("middle_trim", 0),
        ("pad_eval", False),
    ),
]
# Fields only the library has (the nested torch section holds the backend-only knobs), and
# choices it adds because the reference's runtime uses them.
LIBRARY_ONLY = {"execution.seed", "training.torch", "inference.torch"}
EXTRA_CHOICES = {"training.scheduler": {"MultiStage", "Adaptive"}}
WITH_CHOICES = [ref for ref in REFERENCE if ref.choices is not None]
WITH_RULES = [ref for ref in REFERENCE if ref.phrase]


def _build(section: str, **fields: Any) -> Any:
    if section == "inference":
        fields = {**INFERENCE_PATHS, **fields}
    return SCHEMAS[section](**fields)


def _choices(annotation: Any) -> set[Any]:
    if annotation is bool:
        return {True, False}
    if typing.get_origin(annotation) is typing.Literal:
        return set(typing.get_args(annotation))
    found: set[Any] = set()
    for arg in typing.get_args(annotation):
        found |= _choices(arg)
    return found


class TestCanonicalFields:
    """Every field of the reference's four canonical configs, with its default, choices and rule."""

    @pytest.mark.parametrize("ref", REFERENCE, ids=str)
    def test_field_exists_with_the_reference_default(self, ref: Ref) -> None:
        """The field exists and a config built without it holds the reference's default."""
        if ref.default is REQUIRED:
            assert SCHEMAS[ref.section].model_fields[ref.name].is_required()
            return
        config = _build(ref.section)
        assert ref.default == getattr(config, ref.name)

    @pytest.mark.parametrize("section", SCHEMAS)
    def test_no_field_beyond_the_reference(self, section: str) -> None:
        """Every library field is a reference field, except the documented library-only ones."""
        ours = {f"{section}.{name}" for name in SCHEMAS[section].model_fields if name != "model"}
        theirs = {str(ref) for ref in REFERENCE if ref.section == section}
        assert set() == ours - theirs - LIBRARY_ONLY

    @pytest.mark.parametrize("ref", WITH_CHOICES, ids=str)
    def test_choice_list_matches(self, ref: Ref) -> None:
        """The field's choices are the reference's (plus the documented additions), all accepted."""
        assert ref.choices is not None
        annotation = SCHEMAS[ref.section].model_fields[ref.name].annotation
        expected = set(ref.choices) | EXTRA_CHOICES.get(str(ref), set())
        if ref.name != "N":
            assert expected == _choices(annotation)
        for choice in ref.choices:
            assert choice == getattr(_build(ref.section, **{ref.name: choice}), ref.name)

    @pytest.mark.parametrize("ref", [r for r in REFERENCE if r.invalid is not None], ids=str)
    def test_first_invalid_value_is_rejected_naming_the_field(self, ref: Ref) -> None:
        """The first invalid value fails with a message naming the field and the rule's phrase."""
        with pytest.raises(InvalidValueError) as caught:
            _build(ref.section, **{ref.name: ref.invalid})
        assert str(ref) in [problem.key for problem in caught.value.problems]
        assert ref.phrase in str(caught.value)

    @pytest.mark.parametrize("value", ["agc", "norm", "value"])
    def test_clipping_algorithms_of_both_sections(self, value: str) -> None:
        """'agc' and the others are accepted by the training and the execution field alike."""
        assert value == TrainingConfig(gradient_clip_algorithm=value).gradient_clip_algorithm
        assert value == ExecutionConfig(gradient_clip_algorithm=value).gradient_clip_algorithm

    @pytest.mark.parametrize("value", ["MultiStage", "Adaptive"])
    def test_runtime_only_schedulers_are_accepted_in_training(self, value: str) -> None:
        """MultiStage and Adaptive, which the reference's runtime uses, are training choices too."""
        assert value == TrainingConfig(scheduler=value).scheduler


def _legacy_default(ref: Ref) -> Any:
    return str(ref.default) if isinstance(ref.default, Path) else ref.default


# reference-next.md §8.4: the legacy dict holds the resolved object policy.
RESOLVED_POLICY = {
    "object.big": True, "object_layout": "grouped_patches", "training_canvas": "relative_overlap",
    "training_patch_weighting": "central_mask",
}  # fmt: skip


def _reference_legacy(*sections: str) -> dict[str, Any]:
    """The reference's dataclass_to_legacy_dict of a default config: every field, renamed."""
    found = {
        KEY_MAPPINGS.get(ref.name, ref.name): _legacy_default(ref)
        for ref in REFERENCE
        if ref.section in sections and ref.default is not REQUIRED
    }
    return {**found, **RESOLVED_POLICY}


class TestLegacyKeys:
    """Every new field gets its legacy key; the counts and values are the reference's."""

    def test_default_training_config_has_the_reference_64_keys(self) -> None:
        """A default training config's legacy dict is the next reference's (§8.4), key for key."""
        expected = _reference_legacy("model", "training")
        assert 64 == len(expected)
        assert expected == to_legacy_dict(TrainingConfig())

    def test_default_inference_config_has_the_reference_38_keys(self) -> None:
        """A default inference config's legacy dict has the next reference's 38 keys (§8.4)."""
        expected = {
            **_reference_legacy("model", "inference"),
            "model_path": "model",
            "test_data_file_path": "test.npz",
        }
        assert 38 == len(expected)
        assert expected == to_legacy_dict(InferenceConfig(**INFERENCE_PATHS))

    def test_agc_and_sgd_reach_the_legacy_dict(self) -> None:
        """The reference expects cfg['gradient_clip_algorithm'] 'agc' and cfg['optimizer'] 'sgd'."""
        legacy = to_legacy_dict(TrainingConfig(gradient_clip_algorithm="agc", optimizer="sgd"))
        assert ("agc", "sgd") == (legacy["gradient_clip_algorithm"], legacy["optimizer"])


class TestSharedFields:
    """scheduler, gradient_clip_val and gradient_clip_algorithm: one value in two sections."""

    def test_the_shared_fields(self) -> None:
        """The fields declared by both training and execution are exactly these three."""
        assert {"scheduler", "gradient_clip_val", "gradient_clip_algorithm"} == set(SHARED_FIELDS)

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("scheduler", "MultiStage"),
            ("gradient_clip_val", 0.5),
            ("gradient_clip_algorithm", "agc"),
        ],
    )
    def test_flat_key_sets_both_with_its_provenance(self, name: str, value: Any) -> None:
        """A flat override is not ambiguous: both sections get its value, recorded as override."""
        resolved = resolve_training({name: value}, environ={})
        for section in ("training", "execution"):
            assert value == resolved.value(f"{section}.{name}")
            assert "override" == resolved.provenance[f"{section}.{name}"].kind

    def test_higher_source_wins_across_sections(self) -> None:
        """An execution value from the environment beats a training value from a file."""
        resolved = resolve_training(
            {"training.scheduler": "Exponential"},
            environ={"PTYCHO_EXECUTION__SCHEDULER": "WarmupCosine"},
        )
        assert "Exponential" == resolved.execution_config.scheduler
        resolved = resolve_training(
            {"execution.gradient_clip_val": 2.0},
            environ={"PTYCHO_TRAINING__GRADIENT_CLIP_VAL": "1.0"},
        )
        assert 2.0 == resolved.training_config.gradient_clip_val
        assert "override" == resolved.provenance["training.gradient_clip_val"].kind

    def test_one_source_giving_two_values_is_a_conflict(self) -> None:
        """One source setting the two sections differently is an error naming both spellings."""
        with pytest.raises(ValueError, match=r"training\.scheduler and execution\.scheduler"):
            resolve_training(
                {"training.scheduler": "Exponential", "execution.scheduler": "WarmupCosine"},
                environ={},
            )

    def test_bad_value_is_reported_once(self) -> None:
        """An invalid flat value is one problem, under the training key."""
        with pytest.raises(InvalidValueError) as caught:
            resolve_training({"scheduler": "Cosine"}, environ={})
        assert ["training.scheduler"] == [problem.key for problem in caught.value.problems]


class TestOlderSnapshots:
    """A snapshot written before fields were added still loads, with their defaults."""

    def test_snapshot_without_the_new_fields_loads(self, tmp_path: Path) -> None:
        """Dropping every newer field from a snapshot (as 0.1.0 wrote it) keeps it valid."""
        import hashlib
        import json

        from ptycho_config import load_snapshot

        newer = {"plateau_factor", "gradient_clip_val", "torch_mae_pred_l2_match_target"}
        document = {
            "schema_version": 1,
            "kind": "training",
            "training_config": {
                k: v for k, v in TrainingConfig().model_dump(mode="json").items() if k not in newer
            },
            "execution_config": {"accelerator": "cpu"},
            "provenance": {},
        }
        # the fingerprint leaves out where outputs go and the host's accelerator
        training = {k: v for k, v in document["training_config"].items() if k != "output_dir"}
        sections = {"training": training, "execution": {}}
        text = json.dumps(sections, sort_keys=True, separators=(",", ":"))
        document["fingerprint"] = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
        (tmp_path / "ptycho_config.json").write_text(json.dumps(document))
        snapshot = load_snapshot(tmp_path)
        assert snapshot is not None
        assert 0.5 == snapshot.training_config.plateau_factor


# reference-head.md §2: the PyTorch backend's classes constructed with no arguments.
TORCH_DEFAULTS: dict[type, dict[str, Any]] = {
    TorchDataConfig: {
        "nphotons": 1e5, "scale_contract_version": "ci_intensity_v2",
        "measurement_domain": "count_intensity", "N": 64, "C": 4, "K": 6, "K_quadrant": 30,
        "n_subsample": 7, "subsample_seed": None, "grid_size": (2, 2),
        "neighbor_function": "Nearest", "min_neighbor_distance": 0.0,
        "max_neighbor_distance": 3.0, "scan_pattern": "Isotropic", "normalize": "Batch",
        "probe_scale": 4.0, "probe_normalize": True, "data_scaling": "Parseval",
        "phase_subtraction": True, "x_bounds": (0.1, 0.9), "y_bounds": (0.1, 0.9),
    },
    TorchModelConfig: {
        "mode": "Unsupervised", "architecture": "cnn", "fno_modes": 12, "fno_width": 32,
        "fno_blocks": 4, "fno_cnn_blocks": 2, "learned_input_channels": 1,
        "fno_input_transform": "none", "max_hidden_channels": None, "resnet_width": None,
        "spectral_bottleneck_blocks": 6, "spectral_bottleneck_modes": 12,
        "spectral_bottleneck_share_weights": True, "spectral_bottleneck_gate_init": 0.1,
        "spectral_bottleneck_gate_mode": "shared", "generator_output_mode": "real_imag",
        "cnn_output_mode": "amp_phase", "use_shared_decoder": False,
        "intensity_scale_trainable": False, "intensity_scale": 10000.0,
        "max_position_jitter": 10, "num_datasets": 1, "C_model": 4, "n_filters_scale": 2,
        "amp_activation": "silu", "batch_norm": False, "probe_mask": False,
        "probe_mask_tensor": None, "probe_mask_sigma": 1.0, "probe_mask_diameter": None,
        "edge_pad": 10, "decoder_last_c_outer_fraction": 0.125, "decoder_last_amp_channels": 1,
        "use_legacy_decoder_channel_override": False, "eca_encoder": False,
        "cbam_encoder": True, "cbam_bottleneck": False, "cbam_decoder": False,
        "eca_decoder": False, "spatial_decoder": False, "decoder_spatial_kernel": 7,
        "object_big": None, "object_layout": None, "training_canvas": None,
        "probe_big": True, "offset": 6, "C_forward": 4,
        "training_patch_weighting": None, "physics_forward_mode": "amplitude",
        "rect_s1s2_trainable": True, "rect_s1s2_init": "ones", "amplitude_physics_gain": 1.0,
        "pad_object": True, "gaussian_smoothing_sigma": 0.0, "loss_function": "Poisson",
        "amp_loss": None, "phase_loss": None, "amp_loss_coeff": 1.0, "phase_loss_coeff": 1.0,
    },
    TorchTrainingConfig: {
        "training_directories": [], "nll": True, "device": "cuda", "strategy": "ddp",
        "n_devices": 1, "framework": "Lightning", "orchestrator": "Mlflow",
        "learning_rate": 1e-3, "epochs": 50, "batch_size": 16, "epochs_fine_tune": 0,
        "fine_tune_gamma": 0.1, "scheduler": "Default", "lr_warmup_epochs": 0,
        "lr_min_ratio": 0.1, "plateau_factor": 0.5, "plateau_patience": 2,
        "plateau_min_lr": 5e-5, "plateau_threshold": 0.0, "num_workers": 4, "accum_steps": 1,
        "gradient_clip_val": None, "gradient_clip_algorithm": "norm", "optimizer": "adam",
        "momentum": 0.9, "weight_decay": 0.0, "adam_beta1": 0.9, "adam_beta2": 0.999,
        "log_grad_norm": False, "grad_norm_log_freq": 1, "stage_1_epochs": 0,
        "stage_2_epochs": 0, "stage_3_epochs": 0, "physics_weight_schedule": "cosine",
        "stage_3_lr_factor": 0.1, "torch_loss_mode": "poisson",
        "torch_mae_pred_l2_match_target": False, "experiment_name": "Synthetic_Runs",
        "notes": "", "model_name": "PtychoPINNv2", "output_dir": "training_outputs",
        "train_data_file": None, "test_data_file": None, "n_groups": None,
    },
    TorchInferenceConfig: {
        "middle_trim": 32, "batch_size": 1000, "experiment_number": 0, "pad_eval": True,
        "window": 20, "patch_weighting": "probe", "varpro_scaling": True,
        "log_patch_stats": False, "patch_stats_limit": None,
    },
}  # fmt: skip
# Knobs of the torch section that the objects carry under the same name, with a sample value.
TORCH_SAMPLES = {
    "varpro_scaling": False,
    "patch_weighting": "uniform",
    "log_patch_stats": True,
    "patch_stats_limit": 8,
    "cnn_output_mode": "real_imag",
    "normalize": "Group",
    "x_bounds": (0.2, 0.8),
    "log_grad_norm": True,
    "training_directories": ["data/a"],
}


class TestTorchObjects:
    """The torch-side objects: every reference field, the reference's defaults, frozen."""

    @pytest.mark.parametrize("cls", TORCH_DEFAULTS, ids=lambda c: c.__name__)
    def test_no_argument_construction_gives_the_reference_defaults(self, cls: type) -> None:
        """Every field of the reference class exists, with exactly the reference's default."""
        assert TORCH_DEFAULTS[cls] == dataclasses.asdict(cls())

    @pytest.mark.parametrize("cls", TORCH_DEFAULTS, ids=lambda c: c.__name__)
    def test_objects_are_frozen(self, cls: type) -> None:
        """A constructed object cannot be changed; dataclasses.replace builds a changed copy."""
        first = next(iter(TORCH_DEFAULTS[cls]))
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(cls(), first, None)

    def test_every_backend_only_knob_is_carried_by_an_object(self) -> None:
        """Each torch-section field is a field of one of the four objects."""
        carried = {name for fields in TORCH_DEFAULTS.values() for name in fields}
        assert set() == set(TorchBackendConfig.model_fields) - carried


class TestTorchSection:
    """The backend-only knobs: one home, every source, provenance, rules, pt_* objects."""

    @pytest.mark.parametrize(("name", "value"), TORCH_SAMPLES.items())
    def test_override_reaches_the_objects_with_provenance(self, name: str, value: Any) -> None:
        """A bare override sets torch.<name>, recorded as override, and the pt_* object has it."""
        resolved = resolve_training({name: value}, environ={})
        assert value == resolved.value(f"torch.{name}")
        assert "override" == resolved.provenance[f"torch.{name}"].kind
        config = resolved.training_config
        objects = [
            torch_data_config(config),
            torch_model_config(config),
            torch_training_config(config, resolved.execution_config),
            torch_inference_config(resolved.execution_config, config, config.torch),
        ]
        assert [value] == [getattr(o, name) for o in objects if hasattr(o, name)]

    def test_environment_and_file(self, tmp_path: Path) -> None:
        """PTYCHO_TORCH__<FIELD>, the bare variable and a file's torch table all set knobs."""
        config = tmp_path / "config.yaml"
        config.write_text("torch:\n  window: 7\n  experiment_name: from-file\n")
        environ = {"PTYCHO_TORCH__WINDOW": "9", "PTYCHO_VARPRO_SCALING": "false"}
        resolved = resolve_training(environ=environ, config_file=config)
        assert (9, False, "from-file") == (
            resolved.value("torch.window"),
            resolved.value("torch.varpro_scaling"),
            resolved.value("torch.experiment_name"),
        )
        kinds = [resolved.provenance[f"torch.{n}"].kind for n in ("window", "experiment_name")]
        assert ["env", "file"] == kinds

    def test_canonical_field_keeps_the_bare_name(self) -> None:
        """n_subsample names the training field; the backend's coordinate factor is qualified."""
        resolved = resolve_training({"n_subsample": 100, "torch.n_subsample": 3}, environ={})
        values = (resolved.training_config.n_subsample, resolved.value("torch.n_subsample"))
        assert (100, 3) == values

    def test_knobs_stay_out_of_the_legacy_dict(self) -> None:
        """No torch-section key is written to the legacy dict."""
        legacy = to_legacy_dict(resolve_training({"window": 3}, environ={}).training_config)
        assert set() == set(legacy) & (set(TorchBackendConfig.model_fields) - {"n_subsample"})
        assert "torch" not in legacy

    @pytest.mark.parametrize(
        ("name", "value", "phrase"),
        [
            ("amplitude_physics_gain", 0.0, "must be positive and finite"),
            ("amplitude_physics_gain", True, "must be a number, not a boolean"),
            ("patch_stats_limit", 0, "must be positive"),
            ("patch_weighting", "gaussian", "'uniform', 'probe'"),
            ("normalize", "Layer", "'Group', 'Batch', 'None'"),
        ],
    )
    def test_rules(self, name: str, value: Any, phrase: str) -> None:
        """A bad knob value is rejected naming torch.<name> and the rule."""
        with pytest.raises(InvalidValueError) as caught:
            resolve_training({name: value}, environ={})
        assert [f"torch.{name}"] == [problem.key for problem in caught.value.problems]
        assert phrase in str(caught.value)


# reference-head.md §2: the choices of the backend-only knobs.
TORCH_CHOICES = {
    "scale_contract_version": {"ci_intensity_v2", "legacy_v1"},
    "measurement_domain": {"count_intensity", "normalized_amplitude"},
    "neighbor_function": {"Nearest", "Min_dist", "4_quadrant"},
    "scan_pattern": {"Isotropic", "Rectangular"},
    "normalize": {"Group", "Batch", "None"},
    "data_scaling": {"Parseval", "Max"},
    "cnn_output_mode": {"amp_phase", "real_imag"},
    "physics_forward_mode": {"amplitude", "rectangular_scaled"},
    "rect_s1s2_init": {"ones", "data"},
    "loss_function": {"MAE", "Poisson"},
    "amp_loss": {"Total_Variation", "Mean_Deviation"},
    "phase_loss": {"Total_Variation", "Mean_Deviation"},
    "framework": {"Default", "Lightning"},
    "orchestrator": {"Mlflow", "Lightning"},
    "physics_weight_schedule": {"linear", "cosine", "exponential"},
    "patch_weighting": {"uniform", "probe"},
}


class TestTorchChoices:
    """Every choice list of the backend-only knobs is the reference's, and nothing else is."""

    @pytest.mark.parametrize(("name", "choices"), TORCH_CHOICES.items())
    def test_choice_list_matches(self, name: str, choices: set[str]) -> None:
        """The knob's choices are exactly the reference's."""
        assert choices == _choices(TorchBackendConfig.model_fields[name].annotation)

    def test_no_other_knob_has_choices(self) -> None:
        """Knobs with a fixed set of choices are exactly those of the table."""
        with_choices = {
            name
            for name, info in TorchBackendConfig.model_fields.items()
            if info.annotation is not bool and _choices(info.annotation)
        }
        assert set(TORCH_CHOICES) == with_choices


class TestGeneratorShapeIsModelDefining:
    """The FNO and generator fields define the trained network, like N and gridsize."""

    def test_contradicting_the_trained_fno_width_fails(self, tmp_path: Path) -> None:
        """An inference override of fno_width other than the trained one names both values."""
        example = write_example(tmp_path / "example")
        trained = create_training_payload(
            example / "train_data.npz",
            tmp_path / "out",
            {"n_groups": 4, "accelerator": "cpu", "fno_width": 48},
            environ={},
        )
        model = tmp_path / "model"
        make_model_dir(model)
        save_snapshot(trained, model)
        with pytest.raises(ConflictError, match=r"model\.fno_width.*gives 32.*has 48"):
            create_inference_payload(
                model,
                example / "test_data.npz",
                tmp_path / "rec",
                {"n_groups": 2, "fno_width": 32},
                environ={},
            )


INFERENCE_KNOBS = {
    "patch_weighting": "uniform",
    "varpro_scaling": False,
    "log_patch_stats": True,
    "patch_stats_limit": 12,
}


class TestPayloadInferenceConfig:
    """Both payloads carry pt_inference_config with the VarPro and patch-statistics fields."""

    def test_both_payloads(self, tmp_path: Path) -> None:
        """Overrides of the four knobs reach pt_inference_config of both payload kinds."""
        example = write_example(tmp_path / "example")
        given = {"n_groups": 4, "accelerator": "cpu", **INFERENCE_KNOBS}
        training = create_training_payload(
            example / "train_data.npz", tmp_path / "out", given, environ={}
        )
        inference = create_inference_payload(
            example / "model", example / "test_data.npz", tmp_path / "rec", given, environ={}
        )
        for payload in (training, inference):
            carried = {name: getattr(payload.pt_inference_config, name) for name in INFERENCE_KNOBS}
            assert INFERENCE_KNOBS == carried
