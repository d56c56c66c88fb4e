"""Drop-in for ``ptycho_torch.config_bridge``: backend configs to the canonical ones.

The three functions build keyword arguments from the backend (PT) configs, check the PT
inputs, apply ``overrides`` on top (unchecked, as in the reference), run the post-override
checks and construct the library's canonical config, which validates every value. Renames
and value maps are the inverses of those the library uses the other way (`_torch.config`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

from ptycho.object_compatibility import resolve_public_object_policy
from ptycho_config._schemas.base import Schema
from ptycho_config._schemas.sections import InferenceConfig, ModelConfig, TrainingConfig
from ptycho_config._schemas.types import Activation
from ptycho_config._torch.config import _ACTIVATION, _MODE
from ptycho_config._torch.objects import TorchDataConfig

__all__ = ["to_inference_config", "to_model_config", "to_training_config"]

_ACTIVATION_OF = {torch: canonical for canonical, torch in _ACTIVATION.items()}
_MODE_OF = {torch: canonical for canonical, torch in _MODE.items()}
# The reference bridge's activation spellings: torch's SiLU names, then the canonical choices.
_ACTIVATIONS = {
    **dict.fromkeys(("silu", "SiLU"), _ACTIVATION_OF["silu"]),
    **{name: name for name in get_args(get_args(Activation)[0])},
}
# Model fields taken from the PT ModelConfig under the same name, when it has them.
_SAME_NAME = (
    "architecture", "fno_modes", "fno_width", "fno_blocks", "fno_cnn_blocks",
    "fno_input_transform", "learned_input_channels", "max_hidden_channels", "resnet_width",
    "generator_output_mode", "n_filters_scale", "probe_big", "pad_object",
    "gaussian_smoothing_sigma", "probe_mask_sigma", "probe_mask_diameter",
)  # fmt: skip
# Training fields read from the PT TrainingConfig when present (unvalidated there).
_TRAINING_SAME_NAME = (
    "torch_loss_mode", "torch_mae_pred_l2_match_target", "gradient_clip_algorithm",
    "optimizer", "momentum", "weight_decay", "adam_beta1", "adam_beta2", "scheduler",
    "lr_warmup_epochs", "lr_min_ratio",
)  # fmt: skip


def _default(schema: type[Schema], name: str) -> Any:
    return schema.model_fields[name].default


def _construct(schema: type[Schema], kwargs: dict[str, Any]) -> Any:
    """The canonical config; an unknown keyword is a TypeError, as from a dataclass."""
    for name in kwargs:
        if name not in schema.model_fields:
            message = f"{schema.__name__}.__init__() got an unexpected keyword argument {name!r}"
            raise TypeError(message)
    return schema(**kwargs)


def _probe_mask(model: Any) -> bool:
    if getattr(model, "probe_mask_tensor", None) is not None:
        return True
    mask = model.probe_mask
    return mask if isinstance(mask, bool) else mask is not None


def to_model_config(data: Any, model: Any, overrides: Mapping[str, Any] | None = None) -> Any:
    """The canonical ModelConfig of a PT DataConfig and ModelConfig."""
    policy = resolve_public_object_policy(
        object_big=model.object_big,
        object_layout=getattr(model, "object_layout", None),
        training_canvas=getattr(model, "training_canvas", None),
        training_patch_weighting=getattr(model, "training_patch_weighting", None),
        pad_object=model.pad_object,
        probe_big=model.probe_big,
        backend="torch",
        warn_deprecated=False,
    )
    rows, columns = data.grid_size
    if rows != columns:
        raise ValueError(
            f"Non-square grids not supported by TensorFlow backend: grid_size={data.grid_size}. "
            "Use square grids (e.g., (2, 2))."
        )
    if model.mode not in _MODE_OF:
        raise ValueError(f"Invalid mode '{model.mode}'. Must be 'Unsupervised' or 'Supervised'.")
    if model.amp_activation not in _ACTIVATIONS:
        raise ValueError(
            f"Unknown activation '{model.amp_activation}'. Supported values: {list(_ACTIVATIONS)}"
        )
    kwargs: dict[str, Any] = {
        "N": data.N,
        "gridsize": rows,
        "model_type": _MODE_OF[model.mode],
        "amp_activation": _ACTIVATIONS[model.amp_activation],
        "probe_scale": data.probe_scale,
        "probe_mask": _probe_mask(model),
        "object_big": policy.object_big,
        "object_layout": policy.object_layout,
        "training_canvas": policy.training_canvas,
        "training_patch_weighting": policy.training_patch_weighting,
        **{name: getattr(model, name) for name in _SAME_NAME if hasattr(model, name)},
    }
    kwargs.update(overrides or {})
    return _construct(ModelConfig, kwargs)


def to_training_config(
    model: Any, data: Any, pt_model: Any, training: Any, overrides: Mapping[str, Any] | None = None
) -> Any:
    """The canonical TrainingConfig; ``model`` is an already bridged canonical ModelConfig."""
    given = dict(overrides or {})
    kwargs: dict[str, Any] = {
        "model": model,
        "batch_size": training.batch_size,
        "nepochs": training.epochs,
        "nll_weight": 1.0 if training.nll else 0.0,
        "neighbor_count": data.K,
        "nphotons": data.nphotons,
        "intensity_scale_trainable": pt_model.intensity_scale_trainable,
        "backend": "pytorch",
        "train_data_file": training.train_data_file,
        "test_data_file": training.test_data_file,
        "n_groups": training.n_groups,
        "subsample_seed": data.subsample_seed,
        "output_dir": Path(training.output_dir or _default(TrainingConfig, "output_dir")),
        **{n: getattr(training, n) for n in _TRAINING_SAME_NAME if hasattr(training, n)},
    }
    kwargs.update(given)
    torch_default = TorchDataConfig.nphotons
    if "nphotons" not in given and data.nphotons == torch_default:
        ours = _default(TrainingConfig, "nphotons")
        raise ValueError(
            f"nphotons default divergence detected: PyTorch default ({torch_default}) differs "
            f"from TensorFlow default ({ours}). Provide explicit nphotons override to resolve: "
            f"overrides=dict(..., nphotons={ours})"
        )
    if kwargs["n_groups"] is None:
        raise ValueError(
            "n_groups is required in overrides for TrainingConfig. Missing override leaves "
            "params.cfg['n_groups'] = None, breaking downstream workflows. Provide as: "
            "overrides=dict(..., n_groups=512)"
        )
    if kwargs["test_data_file"] is None:
        warnings.warn(
            "test_data_file not provided in TrainingConfig overrides. Evaluation workflows "
            "require test_data_file to be set during inference update. Consider providing: "
            "overrides=dict(..., test_data_file=Path('test.npz'))",
            UserWarning,
            stacklevel=2,
        )
    _paths(kwargs, "train_data_file", "test_data_file", "output_dir")
    if kwargs["train_data_file"] is None:
        raise ValueError(
            "train_data_file is required in overrides for TrainingConfig. Provide as: "
            "overrides=dict(train_data_file=Path('train.npz'))"
        )
    return _construct(TrainingConfig, kwargs)


def to_inference_config(
    model: Any, data: Any, inference: Any, overrides: Mapping[str, Any] | None = None
) -> Any:
    """The canonical InferenceConfig (the reference never reads ``inference``)."""
    kwargs: dict[str, Any] = {
        "model": model,
        "neighbor_count": data.K,
        "backend": "pytorch",
        "model_path": None,
        "test_data_file": None,
    }
    kwargs.update(overrides or {})
    _paths(kwargs, "model_path", "test_data_file", "output_dir")
    for name, example in (("model_path", "model_dir"), ("test_data_file", "test.npz")):
        if kwargs[name] is None:
            raise ValueError(
                f"{name} is required in overrides for InferenceConfig. Provide as: "
                f"overrides=dict({name}=Path('{example}'))"
            )
    return _construct(InferenceConfig, kwargs)


def _paths(kwargs: dict[str, Any], *names: str) -> None:
    """Text paths become Paths, as the reference converts them."""
    for name in names:
        if isinstance(kwargs.get(name), str):
            kwargs[name] = Path(kwargs[name])
