"""Named profiles: bundles of values by qualified key, some of them pinned as a contract that
no higher source may contradict (docs/profiles.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ptycho_config._errors import (
    InvalidValueProblem,
    Problem,
    PtychoConfigError,
    UnknownKeyError,
    UnknownKeyProblem,
    shorten,
    show,
    suggest,
)
from ptycho_config._schemas.registry import KEYS


@dataclass(frozen=True)
class Profile:
    """A named bundle: ``values`` by qualified key; ``pinned`` keys may not be contradicted."""

    name: str
    values: Mapping[str, Any]
    pinned: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        problems: list[Problem] = [
            UnknownKeyProblem(shorten(str(key)), "unknown key", suggestions=suggest(key, KEYS))
            for key in sorted({*self.values, *self.pinned} - set(KEYS), key=str)
        ]
        problems += [
            InvalidValueProblem(key, "pinned without a value; give it one in the values")
            for key in sorted((self.pinned & KEYS.keys()) - set(self.values))
        ]
        if problems:
            raise PtychoConfigError.from_problems(problems, f"profile {self.name!r}")


_PROFILES: dict[str, Profile] = {}


def register_profile(name: str, values: Mapping[str, Any], pinned: Iterable[str] = ()) -> Profile:
    """Add (or replace) a profile: qualified key → value, and the keys it pins."""
    profile = Profile(name, MappingProxyType(dict(values)), frozenset(pinned))
    _PROFILES[name] = profile
    return profile


# The reference's CI bundle: five contract fields, four defaults.
_CI_CONTRACT = {
    "torch.scale_contract_version": "ci_intensity_v2",
    "torch.measurement_domain": "count_intensity",
    "torch.physics_forward_mode": "rectangular_scaled",
    "training.torch_loss_mode": "poisson",
    "torch.loss_function": "Poisson",
}
_CI_DEFAULTS = {
    "torch.amplitude_physics_gain": 1.0,
    "torch.rect_s1s2_trainable": True,
    "torch.rect_s1s2_init": "data",
    "torch.cnn_output_mode": "real_imag",
}
register_profile("ci", {**_CI_CONTRACT, **_CI_DEFAULTS}, pinned=_CI_CONTRACT)


def profile_names() -> list[str]:
    """The known profiles, sorted."""
    return sorted(_PROFILES)


def get_profile(name: str, given_by: str = "profile") -> Profile:
    """The profile of this name; an unknown name lists the known ones, and names ``given_by``
    (an argument, or the variable PTYCHO_PROFILE) unless that is the argument ``profile``."""
    found = _PROFILES.get(name) if isinstance(name, str) else None
    if found is None:
        known = ", ".join(repr(n) for n in profile_names())
        source = "" if given_by == "profile" else f" (from {given_by})"
        message = (
            f"Unknown configuration profile {show(name)}{source}; supported profiles: {known}."
        )
        raise UnknownKeyError(message, [UnknownKeyProblem(given_by, message, name)])
    return found
