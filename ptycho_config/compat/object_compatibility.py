"""Drop-in for ``ptycho_torch.object_compatibility``: the object policy of backend configs."""

from __future__ import annotations

import dataclasses
from typing import Any

from ptycho.object_compatibility import (
    ObjectCompatibilitySpec,
    resolve_public_object_policy,
)
from ptycho_config._schemas.sections import ModelConfig as CanonicalModelConfig
from ptycho_config.compat.config_params import ModelConfig

__all__ = ["resolve_model_object_compatibility", "resolve_torch_model_object_policy"]


def _policy(model: Any, warn_deprecated: bool) -> Any:
    return resolve_public_object_policy(
        object_big=model.object_big,
        object_layout=model.object_layout,
        training_canvas=model.training_canvas,
        training_patch_weighting=model.training_patch_weighting,
        pad_object=model.pad_object,
        probe_big=model.probe_big,
        backend="torch",
        warn_deprecated=warn_deprecated,
    )


def resolve_torch_model_object_policy(model_config: Any, *, warn_deprecated: bool = False) -> Any:
    """A new backend ModelConfig with the four policy fields resolved (torch backend)."""
    if not isinstance(model_config, ModelConfig):
        raise TypeError("model_config must be a Torch ModelConfig")
    policy = _policy(model_config, warn_deprecated)
    return dataclasses.replace(
        model_config,
        object_big=policy.object_big,
        object_layout=policy.object_layout,
        training_canvas=policy.training_canvas,
        training_patch_weighting=policy.training_patch_weighting,
    )


def resolve_model_object_compatibility(model_config: Any) -> ObjectCompatibilitySpec:
    """The versioned object record of a backend or canonical ModelConfig."""
    if not isinstance(model_config, ModelConfig | CanonicalModelConfig):
        raise TypeError("model_config must be a canonical or Torch ModelConfig")
    spec: ObjectCompatibilitySpec = _policy(model_config, False).compatibility
    return spec
