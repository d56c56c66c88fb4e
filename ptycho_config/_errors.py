"""The library's exceptions.

    ValueError
    └── PtychoConfigError               any problem with a configuration
        ├── UnknownKeyError             a key no schema declares (with suggestions)
        ├── AmbiguousKeyError           a bare name present in several sections
        ├── InvalidValueError           a value outside its field's rule
        ├── MissingValueError           a value that must be given explicitly
        ├── ConflictError               two sources or spellings that disagree
        ├── ConfigMismatchError         ranks of one distributed run resolved different configs
        ├── SnapshotError               an unreadable or incompatible checkpoint snapshot
        ├── ProbeSizeError              probe size cannot be read from a data file
        ├── ModelArchiveNotFoundError   a model directory without wts.h5.zip (a ValueError,
        │                               as the reference raised; the CLI exits 4 as for files)
        └── ConfigFileNotFoundError     (also FileNotFoundError) a required file is absent

Every error carries ``problems``: one :class:`Problem` per thing that is wrong,
so a caller (or the CLI) can list them all at once.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_NO_VALUE: Any = object()


class _BoundedRepr(reprlib.Repr):
    """A repr bounded in size and depth, so that no value can make a message huge or hang."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother, self.maxlong = 4, 200, 300, 100

    def repr_int(self, x: int, level: int) -> str:
        try:
            return super().repr_int(x, level)
        except ValueError:  # more digits than sys.get_int_max_str_digits() allows to print
            return f"<an integer of {x.bit_length()} bits>"


_SECRET = re.compile(r"(password|passwd|secret|token|credential|api_?key)", re.IGNORECASE)
REDACTED = "***"


def redact(key: str, value: Any) -> Any:
    """The value to show for a key: secret-looking keys never show their value."""
    return REDACTED if _SECRET.search(key) and value is not None else value


def show(value: Any) -> str:
    """The repr of a value for an error message: short, and never failing on hostile input."""
    return _BoundedRepr().repr(value)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration: which key, what value, from where, and why."""

    key: str
    message: str
    value: Any = _NO_VALUE
    source: str = ""
    suggestions: tuple[str, ...] = ()

    def __str__(self) -> str:
        head = str(self.key)
        if self.value is not _NO_VALUE:
            head += f" = {show(redact(str(self.key), self.value))}"
        if self.source:
            head += f" (from {self.source})"
        text = f"{head}: {self.message}"
        if self.suggestions:
            text += f"; did you mean {' or '.join(repr(s) for s in self.suggestions)}?"
        return text


class PtychoConfigError(ValueError):
    """Base class of every configuration error raised by ptycho-config."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[Problem, ...] = tuple(problems)

    @classmethod
    def from_problems(cls, problems: Sequence[Problem], what: str) -> PtychoConfigError:
        """One error listing every problem, of the most specific class that covers them all."""
        kinds = {_CLASS_OF.get(type(p), PtychoConfigError) for p in problems}
        chosen: type[PtychoConfigError] = kinds.pop() if len(kinds) == 1 else cls
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(f"  - {p}" for p in problems)
        return chosen(f"invalid {what} configuration ({count} {noun}):\n{lines}", problems)


class UnknownKeyError(PtychoConfigError):
    """A key that no schema declares."""


class AmbiguousKeyError(PtychoConfigError):
    """A bare field name that exists in more than one section of the payload."""


class InvalidValueError(PtychoConfigError):
    """A value that breaks its field's type, bounds or a cross-field rule."""


class MissingValueError(PtychoConfigError):
    """A value that must be given explicitly and was not."""


class ConflictError(PtychoConfigError):
    """Two spellings in one source, or two sources, that give different values."""


class ConfigMismatchError(PtychoConfigError):
    """The processes of one distributed run resolved different configurations."""


class SnapshotError(PtychoConfigError):
    """A checkpoint snapshot that is corrupt or written by an incompatible version."""


class ProbeSizeError(PtychoConfigError):
    """The probe size could not be read from a data file."""


class ModelArchiveNotFoundError(PtychoConfigError):
    """A model directory without its weights archive."""


class ConfigFileNotFoundError(PtychoConfigError, FileNotFoundError):
    """A file the configuration names does not exist."""


class UnknownKeyProblem(Problem):
    """Problem subtype: the key is unknown."""


class AmbiguousKeyProblem(Problem):
    """Problem subtype: the bare key matches several sections."""


class InvalidValueProblem(Problem):
    """Problem subtype: the value is invalid."""


class ConflictProblem(Problem):
    """Problem subtype: two spellings or sources disagree."""


class MissingValueProblem(Problem):
    """Problem subtype: a required value was not given."""


_CLASS_OF: dict[type[Problem], type[PtychoConfigError]] = {
    UnknownKeyProblem: UnknownKeyError,
    AmbiguousKeyProblem: AmbiguousKeyError,
    InvalidValueProblem: InvalidValueError,
    ConflictProblem: ConflictError,
    MissingValueProblem: MissingValueError,
}


def suggest(word: str, candidates: Iterable[str], *, limit: int = 3) -> tuple[str, ...]:
    """The closest candidates to a misspelled word, case-insensitively, best first."""
    if not isinstance(word, str):  # a non-string key resembles no name
        return ()
    by_folded: dict[str, str] = {}
    for candidate in candidates:
        by_folded.setdefault(candidate.casefold(), candidate)
    matches = difflib.get_close_matches(word.casefold(), by_folded, n=limit, cutoff=0.6)
    return tuple(by_folded[m] for m in matches)
