"""What the factories return: the canonical configs, the backend objects and the audit trail.
The PyTorch objects (``pt_*``, some 130 fields) are built on first access: a TensorFlow run
never reads them."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ptycho_config._merge.provenance import Source, ViewsPickled, explain
from ptycho_config._schemas.registry import values_of
from ptycho_config._schemas.sections import ExecutionConfig, InferenceConfig, TrainingConfig
from ptycho_config._torch.config import (
    torch_data_config,
    torch_inference_config,
    torch_model_config,
    torch_training_config,
)
from ptycho_config._torch.objects import (
    TorchDataConfig,
    TorchInferenceConfig,
    TorchModelConfig,
    TorchTrainingConfig,
)
from ptycho_config._torch.torchrun import TorchrunLaunch


@dataclass(frozen=True, kw_only=True)
class _Payload(ViewsPickled):
    """What every payload carries besides its canonical config."""

    execution_config: ExecutionConfig
    overrides_applied: Mapping[str, Any]
    provenance: Mapping[str, Source]
    legacy_params: Mapping[str, Any]
    launch: TorchrunLaunch | None = None
    # the trained model's configuration (inference) and the data's photon count, if known
    trained: TrainingConfig | None = field(default=None, repr=False, compare=False)
    data_nphotons: float | None = field(default=None, repr=False, compare=False)

    @property
    def config(self) -> TrainingConfig | InferenceConfig:
        raise NotImplementedError  # each payload kind names its canonical config

    @property
    def training(self) -> TrainingConfig | None:
        """The training the backend objects follow: this run's, or the trained model's."""
        return self.config if isinstance(self.config, TrainingConfig) else self.trained

    @functools.cached_property
    def values(self) -> Mapping[str, Any]:
        """Every resolved value by qualified key."""
        return MappingProxyType(values_of(self.config, self.execution_config))

    @functools.cached_property
    def pt_data_config(self) -> TorchDataConfig:
        return torch_data_config(self.config, self.training, self.data_nphotons)

    @functools.cached_property
    def pt_model_config(self) -> TorchModelConfig:
        return torch_model_config(self.config, self.training, self.execution_config)

    @functools.cached_property
    def pt_inference_config(self) -> TorchInferenceConfig:
        return torch_inference_config(self.execution_config, self.training, self.config.torch)

    def explain(self, *, changed_only: bool = False) -> str:
        """A readable table of every key with its value, source kind and detail; under torchrun,
        then the Trainer's devices and num_nodes that the launch sets. ``changed_only``: only
        the values that do not come from the defaults."""
        more: list[tuple[str, Any, Source]] = []
        if (launch := self.launch) is not None:
            given = launch.trainer_kwargs()
            more = [(f"launch.{k}", v, launch.provenance[k]) for k, v in given.items()]
        return explain(self.values, self.provenance, more, changed_only=changed_only)


@dataclass(frozen=True, kw_only=True)
class TrainingPayload(_Payload):
    """Everything a training run needs, and where every value came from."""

    training_config: TrainingConfig

    @property
    def config(self) -> TrainingConfig:
        return self.training_config

    @property
    def tf_training_config(self) -> TrainingConfig:
        """The reference's name for the canonical training config."""
        return self.training_config

    @functools.cached_property
    def pt_training_config(self) -> TorchTrainingConfig:
        return torch_training_config(self.training_config, self.execution_config)


@dataclass(frozen=True, kw_only=True)
class InferencePayload(_Payload):
    """Everything an inference run needs, and where every value came from."""

    inference_config: InferenceConfig

    @property
    def config(self) -> InferenceConfig:
        return self.inference_config

    @property
    def tf_inference_config(self) -> InferenceConfig:
        """The reference's name for the canonical inference config."""
        return self.inference_config
