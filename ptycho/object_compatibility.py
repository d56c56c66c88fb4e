"""PtychoPINN's versioned object compatibility records and the public object-policy resolver.

The policy itself (pairs, defaults, rules) is the library's
(`ptycho_config._schemas.object_policy`); this module adds the reference's records, schema
id, argument checks and messages.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from ptycho_config._schemas.object_policy import (
    DEFAULT_WEIGHTING,
    DEPRECATION,
    PAIRS,
    check_choices,
    resolve_pair,
)
from ptycho_config._schemas.object_policy import ObjectLayout as PublicObjectLayout
from ptycho_config._schemas.object_policy import PatchWeighting as PublicTrainingPatchWeighting
from ptycho_config._schemas.object_policy import TrainingCanvas as PublicTrainingCanvas

__all__ = [
    "CURRENT_OBJECT_COMPATIBILITY_VERSION",
    "LegacyObjectFields",
    "ObjectCompatibilitySpec",
    "ObjectLayout",
    "PublicObjectLayout",
    "PublicTrainingCanvas",
    "PublicTrainingPatchWeighting",
    "ResolvedPublicObjectPolicy",
    "TrainingAssemblySpec",
    "TrainingCanvas",
    "reconcile_object_compatibility",
    "resolve_object_compatibility_spec",
    "resolve_public_object_policy",
    "resolve_training_assembly_spec",
]

CURRENT_OBJECT_COMPATIBILITY_VERSION = "object-compatibility-v1"
ObjectLayout = Literal["single_patch_components_v1", "grouped_patch_components_v1"]
TrainingCanvas = Literal["independent_patch_v1", "relative_overlap_canvas_v1"]
# object_big -> the internal (layout, canvas) identifiers
_INTERNAL = {
    False: ("single_patch_components_v1", "independent_patch_v1"),
    True: ("grouped_patch_components_v1", "relative_overlap_canvas_v1"),
}
_BACKENDS = (None, "tensorflow", "torch")


def _require_bool(name: str, value: object) -> None:
    if type(value) is not bool:
        raise TypeError(f"{name} must be bool")


@dataclass(frozen=True)
class TrainingAssemblySpec:
    """How training patches are assembled: the mode and the weighting it was configured with."""

    mode: str
    configured_weighting: str


def resolve_training_assembly_spec(object_big: bool, weighting: str) -> TrainingAssemblySpec:
    """Single patches pass through; grouped ones overlap, by central mask or weighted."""
    if not object_big:
        return TrainingAssemblySpec("pass_through_v1", weighting)
    mode = "central_mask_overlap_v1" if weighting == DEFAULT_WEIGHTING else "weighted_overlap_v1"
    return TrainingAssemblySpec(mode, weighting)


@dataclass(frozen=True)
class LegacyObjectFields:
    """The object policy in the legacy vocabulary."""

    object_big: bool
    training_patch_weighting: str
    pad_object: bool
    probe_big: bool

    def __post_init__(self) -> None:
        for name in ("object_big", "pad_object", "probe_big"):
            _require_bool(name, getattr(self, name))
        check_choices(None, None, self.training_patch_weighting)


@dataclass(frozen=True)
class ObjectCompatibilitySpec:
    """The versioned record of an object policy, as saved with a model."""

    schema_version: str
    layout: str
    training_canvas: str
    training_assembly: TrainingAssemblySpec
    pad_object: bool
    probe_big: bool

    def __post_init__(self) -> None:
        if self.schema_version != CURRENT_OBJECT_COMPATIBILITY_VERSION:
            raise ValueError(
                f"unsupported object compatibility schema {self.schema_version!r}; "
                f"expected {CURRENT_OBJECT_COMPATIBILITY_VERSION!r}"
            )
        if self.layout not in get_args(ObjectLayout):
            raise ValueError(f"unsupported object compatibility layout {self.layout!r}")
        if self.training_canvas not in get_args(TrainingCanvas):
            raise ValueError(f"unsupported training canvas {self.training_canvas!r}")
        if not isinstance(self.training_assembly, TrainingAssemblySpec):
            raise TypeError("training_assembly must be TrainingAssemblySpec")
        _require_bool("pad_object", self.pad_object)
        _require_bool("probe_big", self.probe_big)
        big = self.layout == _INTERNAL[True][0]
        if self.training_canvas != _INTERNAL[big][1]:
            raise ValueError(f"{self.layout} requires {_INTERNAL[big][1]}")
        expected = resolve_training_assembly_spec(big, self.training_assembly.configured_weighting)
        if self.training_assembly.mode != expected.mode:
            raise ValueError(
                f"{self.layout} conflicts with training assembly "
                f"{self.training_assembly.mode!r}; expected {expected.mode!r}"
            )

    def to_legacy_fields(self) -> LegacyObjectFields:
        """The policy in the legacy vocabulary."""
        big = self.layout == _INTERNAL[True][0]
        weighting = self.training_assembly.configured_weighting
        return LegacyObjectFields(big, weighting, self.pad_object, self.probe_big)

    def to_payload(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_payload`` reads it back."""
        assembly = self.training_assembly
        return {
            "schema_version": self.schema_version,
            "layout": self.layout,
            "training_canvas": self.training_canvas,
            "training_assembly": {
                "mode": assembly.mode,
                "configured_weighting": assembly.configured_weighting,
            },
            "pad_object": self.pad_object,
            "probe_big": self.probe_big,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> ObjectCompatibilitySpec:
        """The spec of a payload whose keys are exactly ``to_payload``'s, at both levels."""
        _exact_keys(payload, _PAYLOAD_KEYS)
        assembly = payload["training_assembly"]
        _exact_keys(assembly, ("mode", "configured_weighting"))
        values = {**payload, "training_assembly": TrainingAssemblySpec(**assembly)}
        return cls(**values)


_PAYLOAD_KEYS = (
    "schema_version", "layout", "training_canvas", "training_assembly", "pad_object", "probe_big",
)  # fmt: skip


def _exact_keys(mapping: object, expected: tuple[str, ...]) -> None:
    keys = set(mapping) if isinstance(mapping, Mapping) else set()
    missing, unknown = sorted(set(expected) - keys), sorted(keys - set(expected))
    if missing or unknown or not isinstance(mapping, Mapping):
        raise ValueError(
            f"object compatibility payload keys are not exact; missing={missing}, unknown={unknown}"
        )


def resolve_object_compatibility_spec(legacy: LegacyObjectFields) -> ObjectCompatibilitySpec:
    """The versioned record of legacy object fields."""
    layout, canvas = _INTERNAL[legacy.object_big]
    assembly = resolve_training_assembly_spec(legacy.object_big, legacy.training_patch_weighting)
    return ObjectCompatibilitySpec(
        CURRENT_OBJECT_COMPATIBILITY_VERSION,
        layout,
        canvas,
        assembly,
        legacy.pad_object,
        legacy.probe_big,
    )


def reconcile_object_compatibility(
    spec: ObjectCompatibilitySpec, legacy: LegacyObjectFields
) -> ObjectCompatibilitySpec:
    """``spec`` when it says what ``legacy`` says; ValueError otherwise."""
    derived = spec.to_legacy_fields()
    if derived != legacy:
        raise ValueError(
            f"legacy object fields {legacy!r} conflicts with versioned object compatibility "
            f"{derived!r}"
        )
    return spec


@dataclass(frozen=True)
class ResolvedPublicObjectPolicy:
    """Every public policy field materialized, and the versioned record."""

    object_big: bool
    object_layout: str
    training_canvas: str
    training_patch_weighting: str
    compatibility: ObjectCompatibilitySpec


def resolve_public_object_policy(
    *,
    object_big: bool | None,
    object_layout: str | None,
    training_canvas: str | None,
    training_patch_weighting: str | None,
    pad_object: bool,
    probe_big: bool,
    backend: str | None = None,
    warn_deprecated: bool = True,
) -> ResolvedPublicObjectPolicy:
    """Resolve the public fields (nothing set: grouped patches, relative overlap)."""
    if backend not in _BACKENDS:
        raise ValueError(f"unsupported object-policy backend {backend!r}")
    if object_big is not None and type(object_big) is not bool:
        raise TypeError("object_big must be bool or None")
    check_choices(object_layout, training_canvas, training_patch_weighting)
    _require_bool("pad_object", pad_object)
    _require_bool("probe_big", probe_big)
    if object_big is not None and warn_deprecated:
        warnings.warn(DEPRECATION, DeprecationWarning, stacklevel=2)
    big = resolve_pair(object_big, object_layout, training_canvas)
    weighting = training_patch_weighting or DEFAULT_WEIGHTING
    if backend == "tensorflow" and weighting != DEFAULT_WEIGHTING:
        raise ValueError(
            f"TensorFlow supports training_patch_weighting={DEFAULT_WEIGHTING!r} only; "
            f"got {weighting!r}"
        )
    legacy = LegacyObjectFields(big, weighting, pad_object, probe_big)
    layout, canvas = PAIRS[big]
    spec = resolve_object_compatibility_spec(legacy)
    return ResolvedPublicObjectPolicy(big, layout, canvas, weighting, spec)
