"""The fields explicitly set on an ExecutionConfig instance passed to a factory."""

from __future__ import annotations

from ptycho_config._registry import PayloadKind, lookup
from ptycho_config._schemas import ExecutionConfig
from ptycho_config._sources.layer import Layer


def execution_layer(config: ExecutionConfig | None, payload: PayloadKind) -> Layer:
    """Only fields set explicitly count: a field left at its default does not outrank the env."""
    layer = Layer("execution_config", payload)
    if config is None:
        return layer
    if not isinstance(config, ExecutionConfig):
        raise TypeError(f"execution_config must be an ExecutionConfig, got {type(config).__name__}")
    for name in sorted(config.model_fields_set):
        layer.add(lookup(f"execution.{name}", payload), name, getattr(config, name), name)
    return layer
