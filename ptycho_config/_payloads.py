"""What the factories return: the canonical configs, the backend objects and the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ptycho_config._provenance import Source, explain
from ptycho_config._schemas import ExecutionConfig, InferenceConfig, TrainingConfig
from ptycho_config._torch_config import (
    TorchDataConfig,
    TorchInferenceConfig,
    TorchModelConfig,
    TorchTrainingConfig,
)
from ptycho_config._torchrun import TorchrunLaunch


@dataclass(frozen=True, kw_only=True)
class _Payload:
    """What every payload carries besides its canonical config."""

    pt_data_config: TorchDataConfig
    pt_model_config: TorchModelConfig
    pt_inference_config: TorchInferenceConfig
    execution_config: ExecutionConfig
    overrides_applied: Mapping[str, Any]
    provenance: Mapping[str, Source]
    legacy_params: Mapping[str, Any]
    values: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)
    launch: TorchrunLaunch | None = None

    def explain(self) -> str:
        """A readable table of every key with its value, source kind and detail."""
        return explain(self.values, self.provenance)


@dataclass(frozen=True, kw_only=True)
class TrainingPayload(_Payload):
    """Everything a training run needs, and where every value came from."""

    training_config: TrainingConfig
    pt_training_config: TorchTrainingConfig

    @property
    def tf_training_config(self) -> TrainingConfig:
        """The reference's name for the canonical training config."""
        return self.training_config


@dataclass(frozen=True, kw_only=True)
class InferencePayload(_Payload):
    """Everything an inference run needs, and where every value came from."""

    inference_config: InferenceConfig

    @property
    def tf_inference_config(self) -> InferenceConfig:
        """The reference's name for the canonical inference config."""
        return self.inference_config
