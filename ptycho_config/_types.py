"""Constrained field types shared by the schemas, and the cross-field rule table.

Constraints live in the types so that they run on every construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from ptycho_config._errors import show


def _is_bool(value: Any) -> bool:
    """Python's bool or numpy's (which is no int subclass, but int() takes it all the same)."""
    kind = type(value)
    return isinstance(value, bool) or (kind.__module__ == "numpy" and kind.__name__ in _NP_BOOL)


_NP_BOOL = ("bool_", "bool")


def _reject_bool(value: Any) -> Any:
    # bool is an int subclass; True as a count or size is always a mistake
    if _is_bool(value):
        raise ValueError("must be a number, not a boolean")
    return value


def _power_of_two(value: int) -> int:
    if value < 1 or value & (value - 1):
        raise ValueError(
            f"must be a positive power of two (1, 2, 4, 8, 16, ...), got {show(value)}"
        )
    return value


def one_of(*allowed: int) -> Callable[[int], int]:
    """A validator accepting only the given integers (and their string forms, via lax int)."""

    def check(value: int) -> int:
        if value not in allowed:
            choices = ", ".join(str(a) for a in allowed)
            raise ValueError(f"must be one of {choices}, got {show(value)}")
        return value

    return check


def alias_choices(aliases: dict[str, str]) -> Callable[[Any], Any]:
    """A validator that maps accepted alternative spellings onto canonical choices."""

    def translate(value: Any) -> Any:
        if isinstance(value, str):
            return aliases.get(value, aliases.get(value.lower(), value))
        return value

    return translate


def none_string(value: Any) -> Any:
    """Read the strings 'none' and 'null' (any case) as None."""
    if isinstance(value, str) and value.strip().lower() in ("none", "null"):
        return None
    return value


def reject_tpu(value: Any) -> Any:
    """Reject the TPU accelerator with a message that names the supported ones."""
    if isinstance(value, str) and value.strip().lower() == "tpu":
        raise ValueError(
            "TPU is not supported by the PtychoPINN PyTorch backend; "
            "use 'auto', 'cpu', 'gpu', 'cuda' or 'mps'"
        )
    return value


# Bounds go before NO_BOOL so that pydantic keeps them on the number schema itself, where the
# JSON Schema shows them as minimum/maximum (after a validator they would become unknown keys).
NO_BOOL = BeforeValidator(_reject_bool)
# Counts fit the C int the backends use; seeds fit torch's generator (it takes int64 or uint64).
MAX_COUNT = 2**31 - 1
SEED_RANGE = (-(2**63), 2**64 - 1)
Int = Annotated[int, NO_BOOL]
PositiveInt = Annotated[int, Field(ge=1, le=MAX_COUNT), NO_BOOL]
NonNegativeInt = Annotated[int, Field(ge=0, le=MAX_COUNT), NO_BOOL]
PowerOfTwo = Annotated[Int, AfterValidator(_power_of_two)]
Float = Annotated[float, NO_BOOL]
NonNegativeFloat = Annotated[float, Field(ge=0), NO_BOOL]
PositiveFloat = Annotated[float, Field(gt=0), NO_BOOL]
UnitFloat = Annotated[float, Field(ge=0, le=1), NO_BOOL]
HalfOpenUnitFloat = Annotated[float, Field(ge=0, lt=1), NO_BOOL]


ProbeSize = Annotated[
    Int, AfterValidator(one_of(64, 128, 256)), Field(json_schema_extra={"enum": [64, 128, 256]})
]
ModelType = Annotated[
    Literal["pinn", "supervised"],
    BeforeValidator(alias_choices({"unsupervised": "pinn", "supervised": "supervised"})),
]
Activation = Annotated[
    Literal["sigmoid", "swish", "softplus", "relu"],
    BeforeValidator(alias_choices({"silu": "swish"})),
]
Backend = Literal["tensorflow", "pytorch"]
OptionalPositiveInt = Annotated[PositiveInt | None, BeforeValidator(none_string)]
OptionalInt = Annotated[Int | None, BeforeValidator(none_string)]
Seed = Annotated[int, Field(ge=SEED_RANGE[0], le=SEED_RANGE[1]), NO_BOOL]
OptionalSeed = Annotated[Seed | None, BeforeValidator(none_string)]


def _path_text(value: Any) -> Any:
    # Path("") is ".", the working directory: an empty string would silently name it
    if isinstance(value, str) and not value.strip():
        raise ValueError("must be a path, not an empty string")
    return value


PathValue = Annotated[Path, BeforeValidator(_path_text)]
OptionalPath = Annotated[Path | None, BeforeValidator(_path_text), BeforeValidator(none_string)]


# Choices the PyTorch backend objects carry too, so they are named once here.
LossMode = Literal["poisson", "mae"]
Optimizer = Literal["adam", "adamw", "sgd"]
ClipAlgorithm = Literal["norm", "value"]
TrainingScheduler = Literal["Default", "Exponential", "WarmupCosine", "ReduceLROnPlateau"]
RuntimeScheduler = Literal[
    "Default", "Exponential", "MultiStage", "Adaptive", "WarmupCosine", "ReduceLROnPlateau"
]


@dataclass(frozen=True)
class CrossFieldRule:
    """A rule over several fields of one model: ``holds(model)`` must be true."""

    fields: tuple[str, ...]
    holds: Callable[[Any], bool]
    message: str
