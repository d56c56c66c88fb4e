"""Constrained field types shared by the schemas (in the types, constraints run on every
construction), and the cross-field rule."""

from __future__ import annotations

import ast
import contextlib
import errno
import json
import math
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic_core import core_schema

from ptycho_config._errors import show


def _plain_number(value: Any) -> Any:
    # True as a count or size is always a mistake, yet int() takes it: Python's bool is an int
    # subclass, and numpy's bool (bool_ before numpy 2) converts all the same
    if isinstance(value, bool) or type(value).__name__ in ("bool", "bool_"):
        raise ValueError("must be a number, not a boolean")
    # Python's int() and float() take 1_000; a number as text follows one rule everywhere,
    # YAML 1.2's, where 1_000 is text and no number
    if isinstance(value, str) and "_" in value:
        raise ValueError("must be a number written without underscores")
    return value


def _power_of_two(value: int) -> int:
    if value < 1 or value & (value - 1):
        raise ValueError(
            f"must be a positive power of two (1, 2, 4, 8, 16, ...), got {show(value)}"
        )
    return value


PROBE_SIZES = (64, 128, 256)


def _probe_size(value: int) -> int:
    if value not in PROBE_SIZES:
        raise ValueError(f"must be one of 64, 128, 256, got {show(value)}")
    return value


@dataclass(frozen=True, eq=False)
class AliasChoices:
    """``Annotated`` metadata of a choice: alternative spellings are mapped onto canonical
    choices before the type checks, and the JSON Schema lists them beside the choices."""

    aliases: dict[str, str]

    def canonical(self, value: Any) -> Any:
        return self.aliases.get(value.lower(), value) if isinstance(value, str) else value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.canonical, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        document = dict(handler(schema))
        choices = document.pop("enum", None) or [document.pop("const")]  # one choice: const
        document["enum"] = list(dict.fromkeys([*choices, *self.aliases]))
        return document


def none_string(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("none", "null"):
        return None
    return value


# The longest list given as text, and the most entries of a list from any source: far above
# any real one (a few directories or numbers). The count is checked before any entry is.
MAX_LIST_TEXT = MAX_LIST_ENTRIES = 10_000


def list_text(value: Any) -> Any:
    """Read a list given as text: JSON (``[1, 2]``), a tuple (``(1, 2)``) or ``1,2``."""
    if not isinstance(value, str):
        return value
    if len(value) > MAX_LIST_TEXT:  # parsing (and holding the result) is bounded by this
        raise ValueError(f"a list given as text must be at most {MAX_LIST_TEXT} characters")
    text = value.strip()
    if text.startswith("(") and text.endswith(")"):  # a Python tuple as text
        text = f"[{text[1:-1].rstrip().rstrip(',')}]"
    if text.startswith("["):
        with contextlib.suppress(ValueError, RecursionError):
            return json.loads(text)
        try:  # a Python literal, as str() of a list of strings writes it: ['a', 'b']
            tree = ast.parse(text, mode="eval")
            found = ast.literal_eval(tree)
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as error:
            raise ValueError(f"expected a list like [1, 2], got {show(value)}") from error
        for node in ast.walk(tree):  # Python's 1_000 is no number here, as everywhere
            if isinstance(node, ast.Constant) and not isinstance(node.value, str | bytes):
                _plain_number(ast.get_source_segment(text, node))
        if not isinstance(found, list):  # '[1, 2], [3]' is a tuple of lists
            raise ValueError(f"expected a list like [1, 2], got {show(value)}")
        return found
    # empty text stays text, so the type error names the variable: write [] for an empty list
    return [part.strip() for part in text.split(",")] if text else value


def reject_tpu(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() == "tpu":
        raise ValueError(
            "Torch-XLA TPU execution is unsupported by this PyTorch runtime. "
            "Use accelerator='cpu', 'gpu'/'cuda', or 'mps'."
        )
    return value


@dataclass(frozen=True)
class Bounds:
    """``Annotated`` metadata of an interval, checked after the type with the reference's
    wording ("must be positive, got 0") and stated in the JSON Schema."""

    phrase: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def check(self, value: Any) -> Any:
        inside = (
            (self.ge is None or value >= self.ge)
            and (self.gt is None or value > self.gt)
            and (self.le is None or value <= self.le)
            and (self.lt is None or value < self.lt)
        )
        if not inside:
            raise ValueError(f"must be {self.phrase}, got {show(value)}")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        keywords = {
            "minimum": self.ge,
            "exclusiveMinimum": self.gt,
            "maximum": self.le,
            "exclusiveMaximum": self.lt,
        }
        return {**handler(schema), **{k: v for k, v in keywords.items() if v is not None}}


def _finite(value: Any) -> Any:
    # before the number schema, so that infinity and NaN get the reference's wording
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"must be finite, got {show(value)}")
    return value


PLAIN_NUMBER = BeforeValidator(_plain_number)
# Counts fit the C int the backends use; seeds fit torch's generator (it takes int64 or uint64).
MAX_COUNT = 2**31 - 1
FINITE = BeforeValidator(_finite)
POSITIVE = Bounds("positive", ge=1)
AT_MOST_MAX_COUNT = Bounds(f"at most {MAX_COUNT}", le=MAX_COUNT)
Int = Annotated[int, PLAIN_NUMBER]
PositiveInt = Annotated[int, PLAIN_NUMBER, POSITIVE, AT_MOST_MAX_COUNT]
NonNegativeInt = Annotated[int, PLAIN_NUMBER, Bounds("non-negative", ge=0), AT_MOST_MAX_COUNT]
PowerOfTwo = Annotated[
    Int,
    AfterValidator(_power_of_two),
    AT_MOST_MAX_COUNT,
    # JSON Schema has no rule for powers of two: it lists those within the bound
    WithJsonSchema({"type": "integer", "enum": [2**n for n in range(MAX_COUNT.bit_length())]}),
]
# gridsize² channels: 32 gives 1,024, far past any model that fits in memory
GridSize = Annotated[int, PLAIN_NUMBER, POSITIVE, Bounds("at most 32", le=32)]
FiniteFloat = Annotated[float, PLAIN_NUMBER, FINITE]
NonNegativeFloat = Annotated[float, PLAIN_NUMBER, Bounds("non-negative", ge=0)]
PositiveFloat = Annotated[float, PLAIN_NUMBER, Bounds("positive", gt=0)]
FinitePositiveFloat = Annotated[float, PLAIN_NUMBER, FINITE, Bounds("finite and > 0", gt=0)]
UnitFloat = Annotated[float, PLAIN_NUMBER, Bounds("in [0,1]", ge=0, le=1)]
HalfOpenUnitFloat = Annotated[float, PLAIN_NUMBER, Bounds("in [0, 1)", ge=0, lt=1)]
OpenUnitFloat = Annotated[float, PLAIN_NUMBER, Bounds("in (0, 1)", gt=0, lt=1)]


ProbeSize = Annotated[
    Int, AfterValidator(_probe_size), Field(json_schema_extra={"enum": list(PROBE_SIZES)})
]
ModelType = Annotated[
    Literal["pinn", "supervised"],
    AliasChoices({"unsupervised": "pinn", "supervised": "supervised"}),
]
Activation = Annotated[
    Literal["sigmoid", "swish", "softplus", "relu"],
    AliasChoices({"silu": "swish"}),
]
Backend = Literal["tensorflow", "pytorch"]
_T = TypeVar("_T")
OrNone = Annotated[_T | None, BeforeValidator(none_string)]  # the text 'none' is None too
Entries = Annotated[list[_T], Field(max_length=MAX_LIST_ENTRIES)]
OptionalPositiveInt = OrNone[PositiveInt]
OptionalPositiveFloat = OrNone[PositiveFloat]
Seed = Annotated[
    int,
    PLAIN_NUMBER,
    Bounds("within torch's seed range, -2**63 to 2**64 - 1", ge=-(2**63), le=2**64 - 1),
]
OptionalSeed = OrNone[Seed]


def _usable_path(value: Any) -> Any:
    # only text is looked at: anything else the path type refuses (its str() may raise)
    if not isinstance(value, str | PurePath):
        return value
    # Path("") is ".", the working directory: an empty string would silently name it; a
    # blank Path too, or it would be written as text that no source reads back
    if not str(value).strip():
        raise ValueError("must be a path, not an empty string")
    if "\0" in str(value):  # no system call takes one
        raise ValueError("must be a path without NUL bytes")
    return value


def path_text(path: PurePath) -> str:
    """A path as text that every source reads back as that path: one named like None
    ('none', 'null', any case) is written after './' ('./none')."""
    text = str(path)
    return f"./{text}" if none_string(text) is None else text


def _no_file(path: Path) -> Path:
    """A directory to write into must not be an existing file (nothing could be written)."""
    try:
        mode = path.stat().st_mode
    except OSError as error:  # pathlib's exists() raises for a name too long, or EACCES
        if error.errno == errno.ENAMETOOLONG:
            raise ValueError(f"is no usable path on this system ({error.strerror})") from None
        if error.errno == errno.ENOTDIR:  # a part of it is a file: no directory can be made
            raise ValueError("lies under an existing file; name a directory") from None
        return path  # absent, or out of reach: nothing says it is a file
    if not stat.S_ISDIR(mode):
        raise ValueError("is an existing file, not a directory; name a directory")
    return path


PathValue = Annotated[Path, BeforeValidator(_usable_path)]
# a path kept as the text it was given in (the reference's lists of directories are text)
PathText = Annotated[
    str, BeforeValidator(_usable_path), WithJsonSchema({"type": "string", "format": "path"})
]
OptionalPath = Annotated[
    Path | None,
    BeforeValidator(_usable_path),
    BeforeValidator(none_string),
    PlainSerializer(lambda path: path and path_text(path), when_used="json"),
]
OutputDirectory = Annotated[Path, AfterValidator(_no_file), BeforeValidator(_usable_path)]


# Choices the PyTorch backend objects carry too, so they are named once here.
LossMode = Literal["poisson", "mae"]
Optimizer = Literal["adam", "adamw", "sgd"]
ClipAlgorithm = Literal["norm", "value", "agc"]
# The reference's runtime also accepts (and uses) MultiStage and Adaptive: a constant rate.
RuntimeScheduler = Literal[
    "Default", "Exponential", "MultiStage", "Adaptive", "WarmupCosine", "ReduceLROnPlateau"
]


@dataclass(frozen=True)
class CrossFieldRule:
    """A rule over several fields of one model: ``holds(model)`` must be true."""

    fields: tuple[str, ...]
    holds: Callable[[Any], bool]
    message: str
