"""The probe size and nphotons of an NPZ data file, read from `.npy` headers, never arrays.

Every reading opens the file afresh (no cache): open, fstat, a read of the file's end (the zip
directory with it) and one read per member at its local header, then close; a few KiB. The
file must be a regular file (`_files`); a member is read only as far as its header
(`_MAX_HEADER`) with bounded work whatever the archive claims (`_zip`); a header must agree with
the member's size in the zip directory. Only `_metadata` stored the reference's way (a pickled
0-d object array) is unpickled, by the restricted unpickler of `_pickled`. numpy is imported
only when a header is parsed.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ptycho_config._errors import (
    ConfigFileNotFoundError,
    FileReadError,
    ProbeSizeError,
    Problem,
    show,
)
from ptycho_config._files import open_regular
from ptycho_config._pickled import unpickle_item
from ptycho_config._zip import RAW_ERRORS, Member, Unreadable, member, open_zip, prefix

if TYPE_CHECKING:
    import numpy as np

DEFAULT_PROBE_SIZE = 64
_PROBE, _METADATA = "probeGuess", "_metadata"
# Bytes of a header read at most, whatever a file says; numpy itself refuses headers over 10,000.
_MAX_HEADER, _MAX_METADATA = 10_000, 256 * 1024
_PREAMBLE = 12  # magic (6), version (2) and the header length field (2 or 4)
_FIRST_READ = 512  # numpy pads its headers to 64 bytes; almost all fit in 128
# The header numpy writes for a plain dtype; anything else goes through numpy's own parser.
_CANONICAL = re.compile(
    rb"\{'descr': '([<>|=]?[a-zA-Z][0-9]{0,5})', 'fortran_order': (?:True|False), "
    rb"'shape': \(((?:[0-9]{1,19}, )*(?:[0-9]{1,19},?)?)\), \} *\n"
)
_RESAVE = "re-save the file with numpy.savez or set N explicitly"


@dataclass(frozen=True)
class NpyHeader:
    """What a `.npy` header declares (the memory order does not matter here)."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]


@dataclass(frozen=True)
class DataFileFacts:
    """What a data file says: the probe size and what is wrong with it, and nphotons."""

    probe_size: int
    probe_problem: str | None = None  # what is wrong with probeGuess, naming the file
    probe_fix: str = _RESAVE
    probe_fallback: str | None = None  # why the default N was used; None when read from the file
    probe_cause: Exception | None = field(default=None, repr=False, compare=False)
    nphotons: float | None = None
    nphotons_problem: str | None = None  # why `_metadata` was ignored
    file_problem: str | None = None  # why the file is no readable NPZ at all; None when it is


def _fallback(
    problem: str, fix: str = _RESAVE, cause: Exception | None = None, *, whole_file: bool = False
) -> DataFileFacts:
    return DataFileFacts(
        DEFAULT_PROBE_SIZE,
        problem,
        fix,
        problem,
        cause,
        file_problem=problem if whole_file else None,
    )


def _parse_header(data: bytes, info: Member) -> tuple[NpyHeader, int]:
    """A member's `.npy` header, parsed by numpy's reader, and where its data starts."""
    import numpy as np
    from numpy.lib import format as npy_format

    try:
        if data[:6] != npy_format.MAGIC_PREFIX or len(data) < npy_format.MAGIC_LEN:
            raise ValueError(f"the magic string is not correct: {data[:8]!r}")
        version = (data[6], data[7])
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise Unreadable(f"unsupported .npy format version {version[0]}.{version[1]}")
        width = 2 if version == (1, 0) else 4
        length_field = data[8 : 8 + width]  # numpy's reader below rejects a truncated one
        length = int.from_bytes(length_field, "little")
        if length > _MAX_HEADER:
            raise Unreadable(f"its .npy header claims {length} bytes, over {_MAX_HEADER}")
        text = data[8 + width : 8 + width + length]
        canonical = _CANONICAL.fullmatch(text) if len(text) == length else None
        if canonical is not None:  # what numpy writes, read without compiling Python syntax
            descr, dims = canonical.group(1, 2)
            shape = tuple(int(d) for d in dims.replace(b",", b" ").split())
            dtype = np.dtype(descr.decode("ascii"))
        else:
            # 3.0 is 2.0 with a UTF-8 header, used only for structured dtypes (refused anyway)
            read = (
                npy_format.read_array_header_1_0 if width == 2 else npy_format.read_array_header_2_0
            )
            shape, _, dtype = read(io.BytesIO(length_field + text), _MAX_HEADER)
    except RAW_ERRORS as e:
        raise Unreadable(f"{info.filename} is not a valid .npy array ({e})") from e
    if any(n < 0 for n in shape):
        raise Unreadable(f"the .npy header gives a negative shape {shape}")
    start = npy_format.MAGIC_LEN + width + length
    if not dtype.hasobject:  # an object array's pickle has no size the header could declare
        declared = start + math.prod(shape) * dtype.itemsize
        if declared != info.file_size:
            held = f"the zip directory says it holds {info.file_size}"
            raise Unreadable(f"its header declares {shape} {dtype}: {declared} bytes, but {held}")
    return NpyHeader(tuple(shape), dtype), start


def _header_bytes(fd: int, info: Member) -> bytes:
    """A member's bytes through the end of its `.npy` header, read in one small piece when the
    header is of the usual size; never more than `_MAX_HEADER` bytes of header."""
    data = prefix(fd, info, _FIRST_READ)
    if data[:6] == b"\x93NUMPY" and len(data) >= _PREAMBLE:
        width = 2 if data[6] == 1 else 4
        needed = 8 + width + int.from_bytes(data[8 : 8 + width], "little")
        if len(data) < needed <= _PREAMBLE + _MAX_HEADER:
            data = prefix(fd, info, needed)
    return data


def _read_probe(fd: int, archive: Mapping[str, Member], path: str) -> DataFileFacts:
    info = member(archive, _PROBE)
    if info is None:
        held = ", ".join(sorted(n.removesuffix(".npy") for n in list(archive)[:20]))
        problem = f"{path} has no probeGuess array (it holds: {held or 'nothing'})"
        return _fallback(problem, "add probeGuess to the file or set N explicitly")
    try:
        header, _ = _parse_header(_header_bytes(fd, info), info)
    except Unreadable as e:
        return _fallback(f"cannot read probeGuess from {path}: {e}", cause=e)
    shape, where = header.shape, f"probeGuess in {path}"
    if header.dtype.hasobject:
        return _fallback(f"{where} is an object array, which would need unpickling")
    if header.dtype.kind not in "biufc":
        return _fallback(f"{where} has dtype {header.dtype}, not a number")
    if len(shape) != 2 or 0 in shape:
        problem = f"{where} has shape {shape}, not a non-empty 2-D array"
        return _fallback(problem, "save a 2-D probe or set N explicitly")
    if shape[0] != shape[1]:
        problem, fix = f"{where} has shape {shape}, not square", "save a square probe or set N"
        return DataFileFacts(shape[0], problem, fix)
    return DataFileFacts(shape[0])


def _read_text(data: bytes, header: NpyHeader) -> str:
    """The one string a unicode or bytes array holds, decoded without numpy or pickle."""
    dtype = header.dtype
    try:
        if dtype.kind == "S":
            return data.rstrip(b"\0").decode("utf-8")
        return data.decode("utf-32-be" if dtype.str[0] == ">" else "utf-32-le").rstrip("\0")
    except RAW_ERRORS as e:
        raise Unreadable(f"its text cannot be read ({e})") from e


def _metadata(fd: int, info: Member) -> Any:
    """The `_metadata` member as a JSON string or a dict."""
    limit = f"{_MAX_METADATA // 1024} KiB"
    if info.file_size > _PREAMBLE + _MAX_HEADER + _MAX_METADATA:
        raise Unreadable(f"it holds {info.file_size} bytes, over the {limit} metadata limit")
    data = prefix(fd, info, info.file_size)
    header, start = _parse_header(data, info)
    body, dtype = data[start:], header.dtype
    if dtype.hasobject and header.shape == ():
        return unpickle_item(body)
    if dtype.kind not in "US" or math.prod(header.shape) != 1 or dtype.itemsize > _MAX_METADATA:
        raise Unreadable(
            f"it is {dtype} of shape {header.shape}, not one string of {limit} or less"
        )
    return _read_text(body, header)


def _read_nphotons(
    fd: int, archive: Mapping[str, Member], path: str
) -> tuple[float | None, str | None]:
    """nphotons and, when `_metadata` is present but unusable, why it was ignored."""
    info = member(archive, _METADATA)
    if info is None:
        return None, None
    where = f"_metadata in {path}"
    try:
        metadata = _metadata(fd, info)
    except Unreadable as e:
        fix = "store one JSON string, e.g. np.savez(..., _metadata=json.dumps(m)), or set nphotons"
        return None, f"{where} is ignored: {e}; {fix}"
    if isinstance(metadata, str | bytes):
        try:
            metadata = json.loads(metadata)
        except (ValueError, RecursionError) as e:
            return None, f"{where} is not valid JSON ({e}); fix it or set nphotons explicitly"
    physics = metadata.get("physics_parameters") if isinstance(metadata, dict) else None
    value = physics.get("nphotons") if isinstance(physics, dict) else None
    if value is None:
        return None, None
    try:
        number = math.nan if isinstance(value, bool) else float(value)
    except (TypeError, ValueError, OverflowError):  # a string, list, or int beyond float
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        return (
            None,
            f"{where}: nphotons {show(value)} is not a positive number; fix it or set nphotons",
        )
    return number, None


def _read(data_file: str | os.PathLike[str]) -> DataFileFacts:
    """Everything a data file says, read afresh."""
    path = os.path.abspath(data_file) if data_file != "" else ""
    try:
        fd, size = open_regular(path, "data file")
    except (FileNotFoundError, NotADirectoryError) as e:
        return _fallback(
            f"data file {path or repr('')} does not exist", "fix the path or set N explicitly", e
        )
    except FileReadError as e:
        return _fallback(
            f"cannot read probeGuess from {path}: {e.reason}", cause=e, whole_file=True
        )
    try:
        archive = open_zip(fd, size)
        nphotons, why = _read_nphotons(fd, archive, path)
        facts = _read_probe(fd, archive, path)
        if nphotons is not None or why is not None:  # most data files hold no `_metadata`
            facts = replace(facts, nphotons=nphotons, nphotons_problem=why)
    except (Unreadable, OSError) as e:
        facts = _fallback(f"cannot read probeGuess from {path}: {e}", cause=e, whole_file=True)
    finally:
        os.close(fd)
    return facts


def _report_probe(facts: DataFileFacts, strict: bool) -> None:
    """Warn about, or if strict raise, whatever is wrong with probeGuess."""
    if facts.probe_problem is None:
        return
    if strict:
        message = f"{facts.probe_problem}; {facts.probe_fix}"
        missing = isinstance(facts.probe_cause, FileNotFoundError)
        error = ConfigFileNotFoundError if missing else ProbeSizeError
        raise error(message, [Problem("model.N", message)]) from facts.probe_cause
    used = "the default" if facts.probe_fallback else "its first dimension,"
    message = f"{facts.probe_problem}; using {used} N = {facts.probe_size} ({facts.probe_fix})"
    warnings.warn(message, UserWarning, stacklevel=3)


def infer_probe_size(data_file: str | os.PathLike[str], *, strict: bool = False) -> int:
    """The first dimension of `probeGuess`; 64 and a warning (error if strict) when unusable."""
    facts = _read(data_file)
    _report_probe(facts, strict)
    return facts.probe_size


def read_nphotons(data_file: str | os.PathLike[str]) -> float | None:
    """`physics_parameters.nphotons` in `_metadata`; None if absent or unusable."""
    facts = _read(data_file)
    if facts.nphotons_problem is not None:
        warnings.warn(facts.nphotons_problem, UserWarning, stacklevel=2)
    return facts.nphotons


def inspect_data_file(data_file: str | os.PathLike[str], *, strict: bool = False) -> DataFileFacts:
    """Probe size and nphotons in one read, warning (or raising) as the functions above do.

    A file that is no readable NPZ at all is not reported here: ``file_problem`` says so, and
    the caller decides (the factories raise).
    """
    facts = _read(data_file)
    if facts.file_problem is None:
        _report_probe(facts, strict)
    if facts.nphotons_problem is not None:
        warnings.warn(facts.nphotons_problem, UserWarning, stacklevel=2)
    return facts


def read_probe_header(data_file: str | os.PathLike[str]) -> NpyHeader:
    """The header of `probeGuess`; raises ProbeSizeError when it cannot be read."""
    path = os.path.abspath(data_file)
    try:
        fd, size = open_regular(path, "data file")
        try:
            info = member(open_zip(fd, size), _PROBE)
            if info is None:
                raise Unreadable("it has no probeGuess array")
            header, _ = _parse_header(_header_bytes(fd, info), info)
        finally:
            os.close(fd)
    except FileNotFoundError as e:
        message = f"data file {path} does not exist; fix the path"
        raise ConfigFileNotFoundError(message, [Problem("data_file", message, path)]) from e
    except (OSError, Unreadable, FileReadError) as e:
        why = e.reason if isinstance(e, FileReadError) else str(e)
        message = f"cannot read probeGuess from {path}: {why}; {_RESAVE}"
        raise ProbeSizeError(message, [Problem("model.N", message)]) from e
    if header.dtype.hasobject:
        why = "it is an object array, which would need unpickling"
        message = f"cannot read probeGuess from {path}: {why}"
        raise ProbeSizeError(message, [Problem("model.N", message)])
    return header
