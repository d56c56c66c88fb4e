"""Named profiles: bundles of values by qualified key, some of them pinned as a contract that
no higher source may contradict (docs/profiles.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from ptycho_config._errors import (
    ArgumentTypeError,
    InvalidValueError,
    Problem,
    PtychoConfigError,
    UnknownKeyError,
    shorten,
    show,
    suggest,
)
from ptycho_config._schemas.base import adapter_of, message_of
from ptycho_config._schemas.registry import KEYS, PAYLOAD_SECTIONS, Match, lookup
from ptycho_config._schemas.sections import SECTIONS


@dataclass(frozen=True)
class Profile:
    """A named bundle: ``values`` by qualified key; ``pinned`` keys may not be contradicted."""

    name: str
    values: Mapping[str, Any]
    pinned: frozenset[str]


_PROFILES: dict[str, Profile] = {}


def register_profile(name: str, values: Mapping[str, Any], pinned: Iterable[str] = ()) -> Profile:
    """Add (or replace) a profile: qualified key → value, and the keys it pins. Every key,
    value and pin is checked here, when the profile is declared; one error lists them all."""
    if not isinstance(name, str):
        raise ArgumentTypeError(f"a profile name must be text, got {show(name)}")
    if not name.strip():
        raise InvalidValueError(f"a profile name must not be empty or blank, got {show(name)}")
    if not isinstance(values, Mapping):
        got = type(values).__name__
        raise ArgumentTypeError(f"profile {name!r}: values must be a mapping, got {got}")
    if isinstance(pinned, str | bytes) or not isinstance(pinned, Iterable):
        # a string would pin each of its letters
        raise ArgumentTypeError(
            f"profile {name!r}: pinned must be a collection of qualified keys, got {show(pinned)}"
        )
    pins = list(pinned)  # pinned may be an iterator: read it once
    problems = [p for key, value in values.items() for p in _value_problems(key, value)]
    for key in pins:
        if isinstance(key, str) and key in values:
            continue  # checked with the values
        if not isinstance(key, str) or key not in KEYS:
            problems.append(_unknown(key))
        else:
            message = "pinned without a value; give it one in the values"
            problems.append(InvalidValueError.problem(key, message))
    if problems:
        raise PtychoConfigError.from_problems(problems, f"profile {name!r}")
    profile = Profile(name, MappingProxyType(dict(values)), frozenset(pins))
    _PROFILES[name] = profile
    return profile


def _value_problems(key: object, value: Any) -> list[Problem]:
    if not isinstance(key, str) or key not in KEYS:
        return [_unknown(key)]
    try:
        adapter_of(SECTIONS[KEYS[key].section], KEYS[key].name).validate_python(value)
    except ValidationError as error:
        return [InvalidValueError.problem(key, message_of(error.errors()[0]), value)]
    return []


def _unknown(key: object) -> Problem:
    """A key the registry does not know, suggesting the qualified keys it may mean: the key a
    bare name or alias names ('nepochs': 'training.nepochs'), else the closest ones."""
    if not isinstance(key, str):
        return UnknownKeyError.problem(shorten(str(key)), "unknown key")
    named = (lookup(key, kind) for kind in PAYLOAD_SECTIONS)
    found = [found.key.qualified for found in named if isinstance(found, Match)]
    meant = tuple(dict.fromkeys(found)) or suggest(key, KEYS)
    return UnknownKeyError.problem(shorten(key), "unknown key", suggestions=meant)


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


def get_profile(name: str, given_by: str = "profile") -> Profile:
    """The profile of this name; an unknown name lists the known ones, and names ``given_by``
    (an argument, or the variable PTYCHO_PROFILE) unless that is the argument ``profile``."""
    found = _PROFILES.get(name) if isinstance(name, str) else None
    if found is None:
        known = ", ".join(repr(n) for n in sorted(_PROFILES))
        source = "" if given_by == "profile" else f" (from {given_by})"
        message = (
            f"Unknown configuration profile {show(name)}{source}; supported profiles: {known}."
        )
        raise UnknownKeyError(message, [UnknownKeyError.problem(given_by, message, name)])
    return found
