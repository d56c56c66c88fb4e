"""The library's exceptions, each with its command-line exit code (the tree: docs/errors.md), and
the ``problems`` every error carries so that a caller can list everything wrong at once."""

from __future__ import annotations

import dataclasses
import difflib
import re
import reprlib
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, TypeVar

# Problems an error message lists; the rest are counted (``problems`` keeps them all).
MAX_LISTED: Final = 20


class _NoValue:
    """The value of a problem that concerns no single value (shown as nothing)."""

    def __repr__(self) -> str:
        return "NO_VALUE"


_NO_VALUE: Any = _NoValue()


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


def shorten(text: str, limit: int = 120) -> str:
    """A name as given, cut to ``limit`` characters with its length said, for messages."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def same_value(first: Any, second: Any) -> bool:
    """Whether two values are equal: the library's one comparison. A value whose ``==`` raises
    or gives no single truth (a numpy array) equals nothing but itself."""
    try:
        return first is second or bool(first == second)
    except Exception:  # a hostile or element-wise __eq__
        return False


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
    # the error class of an error of this problem alone (None: PtychoConfigError)
    error: type[PtychoConfigError] | None = None

    def __str__(self) -> str:
        head = str(self.key)
        if self.value is not _NO_VALUE:
            head += f" = {show(self.value)}"
        if self.source:
            head += f" (from {self.source})"
        text = f"{head}: {self.message}" if head else self.message
        if self.suggestions:
            text += f"; did you mean {' or '.join(repr(s) for s in self.suggestions)}?"
        return text


# What a message shows instead of a mounted secret's content.
SECRET_SHOWN = "<secret>"


def masked(problems: Sequence[Problem], secrets: Mapping[str, Iterable[str]]) -> list[Problem]:
    """The problems with every whole-word occurrence of a secret of a key they concern shown as
    ``SECRET_SHOWN``, in the message and the source, whichever rule built the message.
    ``secrets`` maps a key or variable name to the forms its secret value takes."""
    result = []
    for problem in problems:
        words = {w for key in problem.key.split(" & ") for w in secrets.get(key, ()) if w}
        if words:
            ordered = sorted(words, key=len, reverse=True)
            # in any letter case: a choice or boolean given as 'true' is shown as True
            alternatives = "|".join(rf"(?<![\w.]){re.escape(w)}(?![\w.])" for w in ordered)
            pattern = re.compile(alternatives, re.IGNORECASE)
            problem = dataclasses.replace(
                problem,
                message=_mask_values(problem.message, pattern),
                source=pattern.sub(SECRET_SHOWN, problem.source),
            )
        result.append(problem)
    return result


# a list's bad entry: 'entry N = <value>: rule'
_ENTRY = re.compile(r"entry \d+ = ")


def _mask_values(message: str, pattern: re.Pattern[str]) -> str:
    """Messages show values after 'got ' (and a list's bad entry after 'entry N = '): a rule's
    own words before it stay as written (a secret gridsize of 2 must not turn 'gridsize**2'
    into 'gridsize**<secret>')."""
    if entry := _ENTRY.match(message):
        # an entry shown as a form of the secret is masked whole: its repr (text, a list, a
        # dict) may hold ': ' anywhere, so the form is the one that ends where the rule begins
        rest = message[entry.end() :]
        whole = re.match(f"(?:{pattern.pattern})(?=: )", rest, pattern.flags)
        shown, after = (SECRET_SHOWN, whole.end()) if whole else ("", 0)
        return entry[0] + shown + _mask_values(rest[after:], pattern)
    rule, got, values = message.partition("got ")
    if not got:  # no value part to tell apart: mask the whole message
        return pattern.sub(SECRET_SHOWN, message)
    return rule + got + pattern.sub(SECRET_SHOWN, values)


class PtychoConfigError(ValueError):
    """Base class of every configuration error raised by ptycho-config."""

    exit_code: ClassVar[int] = 3
    subject: ClassVar[str] = "configuration"  # the key of a problem made from the message

    def __init_subclass__(cls, *, exit_code: int = 0, subject: str = "", **kw: Any) -> None:
        """A subclass states its exit code and subject in its class line, when they differ."""
        super().__init_subclass__(**kw)
        cls.exit_code = exit_code or cls.exit_code
        cls.subject = subject or cls.subject

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        # the contract: never an error without a problem, so callers can always list them
        self.problems: tuple[Problem, ...] = tuple(problems) or (Problem(self.subject, message),)

    @classmethod
    def problem(
        cls,
        key: str,
        message: str,
        value: Any = _NO_VALUE,
        source: str = "",
        suggestions: tuple[str, ...] = (),
    ) -> Problem:
        """A problem of this kind: an error listing only such problems is of this class."""
        return Problem(key, message, value, source, suggestions, cls)

    @classmethod
    def from_problems(cls, problems: Sequence[Problem], what: str) -> PtychoConfigError:
        """One error listing every problem (the first ``MAX_LISTED``, the rest counted), of the
        most specific class that covers them all."""
        kinds = {p.error or PtychoConfigError for p in problems}
        chosen: type[PtychoConfigError] = kinds.pop() if len(kinds) == 1 else cls
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"  - {p}" for p in problems[:MAX_LISTED]]
        if count > MAX_LISTED:
            lines.append(f"  ... and {count - MAX_LISTED} more")
        body = "\n".join(lines)
        return chosen(f"invalid {what} configuration ({count} {noun}):\n{body}", problems)


class UnknownKeyError(PtychoConfigError):
    """A key that no schema declares."""


class AmbiguousKeyError(PtychoConfigError):
    """A bare field name that exists in more than one section of the payload."""


class InvalidValueError(PtychoConfigError):
    """A value that breaks its field's type, bounds or a cross-field rule."""


class ArgumentTypeError(InvalidValueError, TypeError, subject="argument"):
    """An argument of the wrong type (overrides that are no mapping, a source that is none)."""


class MissingValueError(PtychoConfigError):
    """A value that must be given explicitly and was not."""


class ConflictError(PtychoConfigError):
    """Two spellings in one source, or two sources, that give different values."""


class ConfigMismatchError(PtychoConfigError):
    """The processes of one distributed run resolved different configurations."""


class SnapshotError(PtychoConfigError, subject="checkpoint snapshot"):
    """A checkpoint snapshot that is corrupt or written by an incompatible version."""


class ProbeSizeError(PtychoConfigError, subject="model.N"):
    """The probe size could not be read from a data file."""


class Unreadable(Exception):
    """Internal: a data file or member that cannot be read safely; the message says why.
    The data-file readers turn it into a fallback, a warning or one of the errors above."""


class ModelArchiveNotFoundError(PtychoConfigError, exit_code=4, subject="model_path"):
    """A model directory without its weights archive."""


class ConfigFileNotFoundError(PtychoConfigError, FileNotFoundError, exit_code=4, subject="file"):
    """A file the configuration names does not exist."""


class FileReadError(PtychoConfigError, OSError, exit_code=5, subject="file"):
    """A file or directory that exists but cannot be read as what it should be."""

    @classmethod
    def of(cls, path: object, what: str, reason: str) -> FileReadError:
        return cls(f"cannot read {what} {path}: {reason}", [Problem(what, reason, str(path))])


class OutputError(PtychoConfigError, OSError, exit_code=6, subject="output"):
    """A file, directory or stream that cannot be written."""


class BackendUnavailableError(
    PtychoConfigError, RuntimeError, exit_code=7, subject="model.backend"
):
    """The PyTorch backend is selected but torch is not installed or fails to import."""


_Choice = TypeVar("_Choice", bound=str)


def one_of(argument: str, value: object, choices: Iterable[_Choice]) -> _Choice:
    """``value`` when it is one of ``choices`` (a kind or section name, say); else an
    :class:`InvalidValueError` naming the argument, the value and every choice."""
    listed = tuple(choices)
    if isinstance(value, str) and value in listed:
        return value
    rule = f"must be one of {', '.join(repr(choice) for choice in listed)}"
    problem = InvalidValueError.problem(argument, rule, value)
    raise InvalidValueError(f"{argument} {rule}, got {show(value)}", [problem])


def yes_or_no(argument: str, value: object, *, optional: bool = False) -> bool | None:
    """``value`` when it is True or False (or None, if ``optional``); else an
    :class:`ArgumentTypeError`: a word such as 'false' must not switch something on."""
    if value is True or value is False or (optional and value is None):
        return value
    allowed = "True, False or None" if optional else "True or False"
    raise ArgumentTypeError(f"{argument} must be {allowed}, got {show(value)}")


def suggest(
    word: str,
    candidates: Iterable[str],
    *,
    same: Callable[[str], Hashable] | None = None,
) -> tuple[str, ...]:
    """The (at most three) closest candidates to a misspelled word, case-insensitively, best
    first; ``same`` maps a candidate to what it names, so that of several spellings of one
    thing (``n_groups`` and ``training.n_groups``) only the closest is suggested."""
    if not isinstance(word, str) or len(word) > 100:  # no key or variable name is that long
        return ()
    # names are compared within their section ('training.nepoch' with 'training.nepochs', not
    # with 'training.K'), and initials name a field too ('lr' is learning_rate)
    head, _, tail = word.casefold().rpartition(".")
    by_tail: dict[str, str] = {}
    for candidate in candidates:
        other_head, _, other_tail = candidate.casefold().rpartition(".")
        if other_head == head:
            by_tail.setdefault(other_tail, candidate)
    matches = difflib.get_close_matches(tail, by_tail, n=len(by_tail) or 1, cutoff=0.6)
    initials = [t for t in by_tail if "_" in t and "".join(w[:1] for w in t.split("_")) == tail]
    chosen: dict[Hashable, str] = {}
    for match in [*initials, *matches]:
        spelling = by_tail[match]
        chosen.setdefault(same(spelling) if same else spelling, spelling)
    return tuple(chosen.values())[:3]
