"""The fields explicitly set on an ExecutionConfig instance passed to a factory."""

from __future__ import annotations

from dataclasses import dataclass

from ptycho_config._errors import ArgumentTypeError
from ptycho_config._schemas.registry import PayloadKind, lookup
from ptycho_config._schemas.sections import ExecutionConfig
from ptycho_config._sources.kinds import SourceKind
from ptycho_config._sources.layer import Layer


@dataclass(frozen=True)
class ExecutionSource:
    """Only fields set explicitly count: a field left at its default does not outrank the env."""

    config: ExecutionConfig | None
    kind: SourceKind = "execution_config"

    def read(self, payload: PayloadKind) -> Layer:
        layer = Layer(self.kind, payload)
        if self.config is None:
            return layer
        if not isinstance(self.config, ExecutionConfig):
            got = type(self.config).__name__
            raise ArgumentTypeError(f"execution_config must be an ExecutionConfig, got {got}")
        for name in sorted(self.config.model_fields_set):
            value = getattr(self.config, name)
            layer.add(lookup(f"execution.{name}", payload), name, value, name)
        return layer
