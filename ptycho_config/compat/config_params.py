"""Drop-in for ``ptycho_torch.config_params``: the PyTorch backend's mutable config classes.

Each class has the fields and defaults of the library's frozen backend object of the same
kind (`ptycho_config._torch.objects`), which reads them from the schemas; here they are
plain mutable dataclasses, as in the reference. ``ModelConfig`` checks its spectral fields
at construction with the library's rules and the reference's messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from ptycho_config._errors import PtychoConfigError
from ptycho_config._schemas.sections import ExecutionConfig
from ptycho_config._torch.objects import (
    TorchDataConfig,
    TorchInferenceConfig,
    TorchModelConfig,
    TorchTrainingConfig,
)

__all__ = [
    "DataConfig",
    "DatagenConfig",
    "InferenceConfig",
    "ModelConfig",
    "TrainingConfig",
    "update_existing_config",
]


def _mutable(frozen: type, name: str, post_init: Callable[[Any], None] | None = None) -> type[Any]:
    """A mutable dataclass with the fields and defaults of a frozen one."""
    fields: list[tuple[str, Any, Any]] = []
    for item in dataclasses.fields(frozen):
        if item.default_factory is not dataclasses.MISSING:
            spec = dataclasses.field(default_factory=item.default_factory)
        else:
            spec = dataclasses.field(default=item.default)
        fields.append((item.name, item.type, spec))
    namespace: dict[str, Any] = {"__doc__": frozen.__doc__, "__module__": __name__}
    if post_init is not None:
        namespace["__post_init__"] = post_init
    return dataclasses.make_dataclass(name, fields, namespace=namespace)


# The spectral fields the reference checks at construction, in its order, with its words.
SPECTRAL_MESSAGES = {
    "spectral_bottleneck_blocks": "spectral_bottleneck_blocks must be positive",
    "spectral_bottleneck_modes": "spectral_bottleneck_modes must be positive",
    "spectral_bottleneck_gate_mode": "invalid spectral_bottleneck_gate_mode",
    "spectral_bottleneck_gate_init": "spectral_bottleneck_gate_init must be finite",
}


def _check_spectral(model: Any) -> None:
    """The first spectral field the library's rules reject raises the reference's ValueError."""
    values = {name: getattr(model, name) for name in SPECTRAL_MESSAGES}
    try:
        ExecutionConfig.model_validate(values)
    except PtychoConfigError as error:
        rejected = {problem.key.rsplit(".", 1)[-1] for problem in error.problems}
        first = next(name for name in SPECTRAL_MESSAGES if name in rejected)
        raise ValueError(SPECTRAL_MESSAGES[first]) from None


DataConfig = _mutable(TorchDataConfig, "DataConfig")
ModelConfig = _mutable(TorchModelConfig, "ModelConfig", _check_spectral)
TrainingConfig = _mutable(TorchTrainingConfig, "TrainingConfig")
InferenceConfig = _mutable(TorchInferenceConfig, "InferenceConfig")


@dataclasses.dataclass
class DatagenConfig:
    """Synthetic data generation settings (converts to and from a SimulationConfig)."""

    objects_per_probe: int = 4
    diff_per_object: int = 7000
    object_class: Any = "dead_leaves"
    image_size: tuple[int, int] = (250, 250)
    probe_paths: list[str] = dataclasses.field(default_factory=list)
    beamstop_diameter: Any = 4

    def to_simulation_config(self, *, base: Any = None) -> Any:
        """This recipe over ``base`` (default: ``SimulationConfig()``), validated."""
        from ptycho.config.simulation import simulation_from_datagen

        return simulation_from_datagen(self, base)

    @classmethod
    def from_simulation_config(cls, simulation: Any) -> DatagenConfig:
        """The datagen settings of a recipe (lossy: N, scan, photons, seed are dropped)."""
        from ptycho.config.simulation import datagen_fields

        return cls(**datagen_fields(simulation))


def update_existing_config(
    instance: Any, updates: Mapping[str, Any], verbose: bool = False
) -> None:
    """Set every key of ``updates`` that ``instance`` has; the others are ignored (listed
    when ``verbose``)."""
    ignored = []
    for key, value in updates.items():
        if hasattr(instance, key):
            setattr(instance, key, value)
        else:
            ignored.append(key)
    if verbose and ignored:
        print(f"Ignored keys not in {type(instance).__name__}: {ignored}")
