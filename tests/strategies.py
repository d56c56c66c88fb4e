"""Hypothesis strategies that build valid configuration values and objects.

Public names (kept stable, other test modules import them):

- ``paths()``: simple relative or absolute paths.
- ``field_values(section, standalone=True)``: field name -> strategy of valid raw values.
  With ``standalone=True`` every value is valid whatever the other fields hold (values that
  a cross-field rule could reject are left out); with ``standalone=False`` each field covers
  its own rule only, ignoring cross-field rules.
- ``valid_values``: qualified key ('model.N', 'training.batch_size', ...) -> strategy of
  values valid for that key alone, for every key of ``ptycho_config._registry.KEYS``.
- ``PAIRED_KEYS``: keys that are only valid given together (left out of single-key tests).
- ``model_configs()``, ``training_configs()``, ``inference_configs()``,
  ``execution_configs()``: valid config instances over the whole valid space, cross-field
  rules respected, fields sometimes left at their defaults; never the deprecated n_images.
"""

from __future__ import annotations

import typing
from pathlib import Path, PurePosixPath
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from pydantic import BaseModel

from ptycho_config import ExecutionConfig, InferenceConfig, ModelConfig, TrainingConfig
from ptycho_config._registry import KEYS
from ptycho_config._torch_section import TorchBackendConfig

MAX_INT = 2**31 - 1  # counts are bounded by the schemas' MAX_COUNT
MIN_SEED = -(2**63)
MAX_SEED = 2**64 - 1


def _finite(**bounds: Any) -> SearchStrategy[float]:
    return st.floats(allow_nan=False, allow_infinity=False, **bounds)


def _ints(low: int, high: int = MAX_INT) -> SearchStrategy[int]:
    return st.integers(min_value=low, max_value=high)


def _optional(values: SearchStrategy[Any]) -> SearchStrategy[Any]:
    return st.none() | values


def choices(schema: type[BaseModel], name: str) -> SearchStrategy[Any]:
    """Any of a Literal field's choices, read from the schema so strategies follow it."""

    def literal_args(annotation: Any) -> list[Any]:
        if typing.get_origin(annotation) is typing.Literal:
            return list(typing.get_args(annotation))
        return [c for arg in typing.get_args(annotation) for c in literal_args(arg)]

    return st.sampled_from(literal_args(schema.model_fields[name].annotation))


def paths() -> SearchStrategy[Path]:
    """Simple relative or absolute paths of one to three plain segments."""
    segment = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,11}", fullmatch=True)
    parts = st.lists(segment, min_size=1, max_size=3)
    return st.builds(
        lambda absolute, names: Path(str(PurePosixPath("/" if absolute else "", *names))),
        st.booleans(),
        parts,
    )


POSITIVE_FLOAT = _finite(min_value=0.0, exclude_min=True)
NON_NEGATIVE_FLOAT = _finite(min_value=0.0)
UNIT_FLOAT = _finite(min_value=0.0, max_value=1.0)
HALF_OPEN_UNIT_FLOAT = _finite(min_value=0.0, max_value=1.0, exclude_max=True)
OPEN_UNIT_FLOAT = _finite(min_value=0.0, max_value=1.0, exclude_min=True, exclude_max=True)
POWER_OF_TWO = st.integers(min_value=0, max_value=40).map(lambda k: 2**k)
METRIC_NAME = st.sampled_from(["val_loss", "train_loss"]) | st.from_regex(
    r"[a-z][a-z0-9_/]{0,15}", fullmatch=True
)

_MODEL: dict[str, SearchStrategy[Any]] = {
    "N": st.sampled_from([64, 128, 256]),
    "gridsize": _ints(1),
    "n_filters_scale": _ints(1),
    "model_type": choices(ModelConfig, "model_type"),
    "architecture": choices(ModelConfig, "architecture"),
    "fno_modes": _ints(1),
    "fno_width": _ints(1),
    "fno_blocks": _ints(1),
    "fno_cnn_blocks": _ints(0),
    "learned_input_channels": _ints(1),
    "max_hidden_channels": _optional(_ints(1)),
    "resnet_width": _optional(_ints(1)),
    "fno_input_transform": choices(ModelConfig, "fno_input_transform"),
    "generator_output_mode": choices(ModelConfig, "generator_output_mode"),
    "amp_activation": choices(ModelConfig, "amp_activation"),
    "object_big": st.booleans(),
    "probe_big": st.booleans(),
    "probe_mask": st.booleans(),
    "probe_mask_sigma": POSITIVE_FLOAT,
    "probe_mask_diameter": _optional(POSITIVE_FLOAT),
    "pad_object": st.booleans(),
    "probe_scale": POSITIVE_FLOAT,
    "gaussian_smoothing_sigma": NON_NEGATIVE_FLOAT,
}

# Fields shared by training and inference: data selection and grouping.
_GROUPING: dict[str, SearchStrategy[Any]] = {
    "n_subsample": _optional(_ints(1)),
    "subsample_seed": _optional(_ints(MIN_SEED, MAX_SEED)),
    "neighbor_count": _ints(1),
    "enable_oversampling": st.booleans(),
    "neighbor_pool_size": _optional(_ints(1)),
    "backend": choices(TrainingConfig, "backend"),
    "output_dir": paths(),
}

_TRAINING: dict[str, SearchStrategy[Any]] = {
    "train_data_file": _optional(paths()),
    "test_data_file": _optional(paths()),
    "batch_size": POWER_OF_TWO,
    "nepochs": _ints(1),
    "mae_weight": UNIT_FLOAT,
    "nll_weight": UNIT_FLOAT,
    "realspace_mae_weight": NON_NEGATIVE_FLOAT,
    "realspace_weight": NON_NEGATIVE_FLOAT,
    "nphotons": POSITIVE_FLOAT,
    "n_groups": _ints(1),
    **_GROUPING,
    "positions_provided": st.booleans(),
    "probe_trainable": st.booleans(),
    "intensity_scale_trainable": st.booleans(),
    "sequential_sampling": st.booleans(),
    "torch_loss_mode": choices(TrainingConfig, "torch_loss_mode"),
    "torch_mae_pred_l2_match_target": st.booleans(),
    "gradient_clip_val": _optional(POSITIVE_FLOAT),
    "gradient_clip_algorithm": choices(TrainingConfig, "gradient_clip_algorithm"),
    "optimizer": choices(TrainingConfig, "optimizer"),
    "momentum": HALF_OPEN_UNIT_FLOAT,
    "weight_decay": NON_NEGATIVE_FLOAT,
    "adam_beta1": HALF_OPEN_UNIT_FLOAT,
    "adam_beta2": HALF_OPEN_UNIT_FLOAT,
    "scheduler": choices(TrainingConfig, "scheduler"),
    "lr_warmup_epochs": _ints(0),
    "lr_min_ratio": UNIT_FLOAT,
    "plateau_factor": OPEN_UNIT_FLOAT,
    "plateau_patience": _ints(0),
    "plateau_min_lr": NON_NEGATIVE_FLOAT,
    "plateau_threshold": NON_NEGATIVE_FLOAT,
}

_INFERENCE: dict[str, SearchStrategy[Any]] = {
    "model_path": paths(),
    "test_data_file": paths(),
    "n_groups": _optional(_ints(1)),
    **_GROUPING,
    "debug": st.booleans(),
}

_EXECUTION: dict[str, SearchStrategy[Any]] = {
    "accelerator": choices(ExecutionConfig, "accelerator"),
    "devices": _ints(1) | st.just("auto"),
    "strategy": choices(ExecutionConfig, "strategy"),
    "deterministic": st.sampled_from([True, False, "warn"]),
    "precision": choices(ExecutionConfig, "precision"),
    "seed": _optional(_ints(MIN_SEED, MAX_SEED)),
    "gradient_clip_val": _optional(POSITIVE_FLOAT),
    "gradient_clip_algorithm": choices(ExecutionConfig, "gradient_clip_algorithm"),
    "accum_steps": _ints(1),
    "num_workers": _ints(0, 64),
    "pin_memory": st.booleans(),
    "persistent_workers": st.booleans(),
    "prefetch_factor": _optional(_ints(1)),
    "learning_rate": POSITIVE_FLOAT,
    "scheduler": st.sampled_from(
        ["Default", "Exponential", "MultiStage", "Adaptive", "WarmupCosine", "ReduceLROnPlateau"]
    ),
    "enable_progress_bar": st.booleans(),
    "enable_checkpointing": st.booleans(),
    "checkpoint_save_top_k": _ints(-1),
    "checkpoint_monitor_metric": METRIC_NAME,
    "checkpoint_mode": choices(ExecutionConfig, "checkpoint_mode"),
    "early_stop_patience": _ints(1),
    "logger_backend": st.sampled_from(["csv", "tensorboard", "mlflow", None]),
    "recon_log_every_n_epochs": _optional(_ints(1)),
    "recon_log_num_patches": _ints(1),
    "recon_log_fixed_indices": _optional(st.lists(_ints(0), max_size=4)),
    "recon_log_stitch": st.booleans(),
    "recon_log_max_stitch_samples": _optional(_ints(1)),
    "ffno_encoder_blocks": _ints(1),
    "ffno_encoder_modes": _ints(1),
    "ffno_encoder_share_weights": st.booleans(),
    "ffno_encoder_gate_init": POSITIVE_FLOAT,
    "ffno_encoder_norm": st.sampled_from(["instance", "layer", "batch"]),
    "ffno_encoder_mlp_ratio": POSITIVE_FLOAT,
    "spectral_bottleneck_blocks": _ints(1),
    "spectral_bottleneck_modes": _ints(1),
    "spectral_bottleneck_share_weights": st.booleans(),
    "spectral_bottleneck_gate_init": _finite(),
    "spectral_bottleneck_gate_mode": choices(ExecutionConfig, "spectral_bottleneck_gate_mode"),
    "inference_batch_size": _optional(_ints(1)),
    "middle_trim": _ints(0),
    "pad_eval": st.booleans(),
}

_TORCH: dict[str, SearchStrategy[Any]] = {
    name: (
        st.booleans()
        if info.annotation is bool
        else choices(TorchBackendConfig, name)
        if "Literal" in str(info.annotation)
        else st.none()
    )
    for name, info in TorchBackendConfig.model_fields.items()
} | {
    "K_quadrant": _ints(1),
    "n_subsample": _ints(1),
    "min_neighbor_distance": NON_NEGATIVE_FLOAT,
    "max_neighbor_distance": NON_NEGATIVE_FLOAT,
    "x_bounds": st.tuples(UNIT_FLOAT, UNIT_FLOAT),
    "y_bounds": st.tuples(UNIT_FLOAT, UNIT_FLOAT),
    "intensity_scale": POSITIVE_FLOAT,
    "max_position_jitter": _ints(0),
    "num_datasets": _ints(1),
    "edge_pad": _ints(0),
    "decoder_last_c_outer_fraction": UNIT_FLOAT,
    "decoder_last_amp_channels": _ints(1),
    "decoder_spatial_kernel": _ints(1),
    "offset": _ints(0),
    "amplitude_physics_gain": POSITIVE_FLOAT,
    "amp_loss": st.sampled_from(["Total_Variation", "Mean_Deviation", None]),
    "phase_loss": st.sampled_from(["Total_Variation", "Mean_Deviation", None]),
    "amp_loss_coeff": NON_NEGATIVE_FLOAT,
    "phase_loss_coeff": NON_NEGATIVE_FLOAT,
    "training_directories": st.lists(st.sampled_from(["data/a", "data/b"]), max_size=2),
    "epochs_fine_tune": _ints(0),
    "fine_tune_gamma": POSITIVE_FLOAT,
    "grad_norm_log_freq": _ints(1),
    "stage_1_epochs": _ints(0),
    "stage_2_epochs": _ints(0),
    "stage_3_epochs": _ints(0),
    "stage_3_lr_factor": POSITIVE_FLOAT,
    "experiment_name": st.sampled_from(["Synthetic_Runs", "run-1"]),
    "notes": st.sampled_from(["", "a note"]),
    "model_name": st.sampled_from(["PtychoPINNv2", "net"]),
    "experiment_number": _ints(0),
    "window": _ints(0),
    "patch_stats_limit": _optional(_ints(1)),
}

# The scale-contract pair must be given together: a key of it alone is never valid.
PAIRED_KEYS = frozenset({"torch.scale_contract_version", "torch.measurement_domain"})

_OWN_RULE: dict[str, dict[str, SearchStrategy[Any]]] = {
    "model": _MODEL,
    "training": _TRAINING,
    "inference": _INFERENCE,
    "execution": _EXECUTION,
    "torch": _TORCH,
}

# Values that no cross-field rule can reject, whatever the other fields hold.
_STANDALONE: dict[str, dict[str, SearchStrategy[Any]]] = {
    "model": {},
    "training": {
        "realspace_mae_weight": st.just(0.0),
        "enable_oversampling": st.just(False),
        "neighbor_pool_size": st.none(),
        "lr_warmup_epochs": st.just(0),
    },
    "inference": {
        "enable_oversampling": st.just(False),
        "neighbor_pool_size": st.none(),
    },
    "execution": {
        "persistent_workers": st.just(False),
        "prefetch_factor": st.none(),
    },
    "torch": {
        "physics_forward_mode": st.just("amplitude"),
        "rect_s1s2_init": st.just("ones"),
    },
}


def field_values(section: str, *, standalone: bool = True) -> dict[str, SearchStrategy[Any]]:
    """Field name -> strategy of valid raw values for one section (see the module docstring)."""
    values = dict(_OWN_RULE[section])
    if standalone:
        values.update(_STANDALONE[section])
    return values


valid_values: dict[str, SearchStrategy[Any]] = {
    qualified: field_values(key.section)[key.name] for qualified, key in KEYS.items()
}


def _some_of(fields: dict[str, SearchStrategy[Any]]) -> SearchStrategy[dict[str, Any]]:
    """A random subset of the fields, the rest left at their defaults."""
    return st.fixed_dictionaries({}, optional=fields)


@st.composite
def model_configs(draw: st.DrawFn) -> ModelConfig:
    """Any valid ModelConfig."""
    return ModelConfig(**draw(_some_of(_MODEL)))


@st.composite
def _grouping(draw: st.DrawFn, gridsize: int) -> dict[str, Any]:
    # neighbor_pool_size >= neighbor_count; oversampling needs gridsize > 1 and pool >= gridsize²
    kwargs: dict[str, Any] = {}
    count = draw(st.none() | _ints(1))
    if count is not None:
        kwargs["neighbor_count"] = count
    floor = count if count is not None else 4
    oversample = 1 < gridsize and gridsize**2 <= MAX_INT and draw(st.booleans())
    if oversample:
        floor = max(floor, gridsize**2)
        kwargs["enable_oversampling"] = True
        kwargs["neighbor_pool_size"] = draw(_ints(floor))
    else:
        if draw(st.booleans()):
            kwargs["enable_oversampling"] = False
        if draw(st.booleans()):
            kwargs["neighbor_pool_size"] = draw(_optional(_ints(floor)))
    return kwargs


_DEPENDENT_GROUPING = ("neighbor_count", "enable_oversampling", "neighbor_pool_size")


@st.composite
def training_configs(draw: st.DrawFn) -> TrainingConfig:
    """Any valid TrainingConfig (cross-field rules respected, n_images never set)."""
    dependent = {*_DEPENDENT_GROUPING, "realspace_mae_weight", "realspace_weight"}
    dependent |= {"nepochs", "lr_warmup_epochs"}
    kwargs = draw(_some_of({k: v for k, v in _TRAINING.items() if k not in dependent}))
    model = draw(st.none() | model_configs())
    if model is not None:
        kwargs["model"] = model
    kwargs.update(draw(_grouping(model.gridsize if model is not None else 1)))
    realspace = draw(st.none() | NON_NEGATIVE_FLOAT)
    if realspace is not None:
        kwargs["realspace_weight"] = realspace
        if realspace > 0 and draw(st.booleans()):
            kwargs["realspace_mae_weight"] = draw(NON_NEGATIVE_FLOAT)
        elif draw(st.booleans()):
            kwargs["realspace_mae_weight"] = 0.0
    nepochs = draw(st.none() | _ints(1))
    if nepochs is not None:
        kwargs["nepochs"] = nepochs
    if draw(st.booleans()):
        kwargs["lr_warmup_epochs"] = draw(_ints(0, (nepochs if nepochs is not None else 50) - 1))
    return TrainingConfig(**kwargs)


@st.composite
def inference_configs(draw: st.DrawFn) -> InferenceConfig:
    """Any valid InferenceConfig (cross-field rules respected, n_images never set)."""
    required = {k: _INFERENCE[k] for k in ("model_path", "test_data_file")}
    optional = {k: v for k, v in _INFERENCE.items() if k not in (*required, *_DEPENDENT_GROUPING)}
    kwargs = draw(st.fixed_dictionaries(required, optional=optional))
    model = draw(st.none() | model_configs())
    if model is not None:
        kwargs["model"] = model
    kwargs.update(draw(_grouping(model.gridsize if model is not None else 1)))
    return InferenceConfig(**kwargs)


@st.composite
def execution_configs(draw: st.DrawFn) -> ExecutionConfig:
    """Any valid ExecutionConfig (worker options only with num_workers > 0)."""
    dependent = ("num_workers", "persistent_workers", "prefetch_factor")
    kwargs = draw(_some_of({k: v for k, v in _EXECUTION.items() if k not in dependent}))
    workers = draw(st.none() | _EXECUTION["num_workers"])
    if workers is not None:
        kwargs["num_workers"] = workers
    if workers:
        kwargs.update(
            draw(
                _some_of(
                    {
                        "persistent_workers": _EXECUTION["persistent_workers"],
                        "prefetch_factor": _EXECUTION["prefetch_factor"],
                    }
                )
            )
        )
    else:
        kwargs.update(
            draw(_some_of({"persistent_workers": st.just(False), "prefetch_factor": st.none()}))
        )
    return ExecutionConfig(**kwargs)
