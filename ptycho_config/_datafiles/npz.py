"""The probe size and nphotons of an NPZ data file, read from `.npy` headers, never arrays.

Every reading opens the file afresh and reads it through `zipfile` and numpy's own header
reader, within the bounds docs/data-files.md lists ("Safety guarantees"). numpy is imported
only when a header is parsed.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from tokenize import TokenError
from typing import IO, TYPE_CHECKING, Any, cast

from ptycho_config._datafiles.pickled import unpickle_item
from ptycho_config._errors import (
    ConfigFileNotFoundError,
    FileReadError,
    ProbeSizeError,
    Problem,
    Unreadable,
    show,
)
from ptycho_config._files import as_path, open_regular, read_ready

if TYPE_CHECKING:
    import numpy as np

DEFAULT_PROBE_SIZE = 64
# Bytes of a header read at most, whatever a file says; numpy itself refuses headers over 10,000.
_MAX_HEADER, _MAX_METADATA = 10_000, 256 * 1024
_PREAMBLE = 12  # magic (6), version (2) and the header length field (2 or 4)
# An NPZ holds a handful of members; a directory beyond these is refused before it is parsed.
_MAX_MEMBERS, _MAX_DIRECTORY = 10_000, 1024 * 1024
_END = struct.Struct("<4s4H2LH")  # the zip end-of-directory record
_END64 = struct.Struct("<4sQ2H2L4Q")  # its zip64 form, just before the 20-byte zip64 locator
_LOCATOR = 20
_RESAVE = "re-save the file with numpy.savez or set N explicitly"
# What a truncated, corrupt or hostile file can make zipfile or numpy's header parser raise.
_RAW_ERRORS = (zipfile.BadZipFile, OSError, EOFError, struct.error, zlib.error, ValueError,
               TypeError, KeyError, IndexError, OverflowError, RecursionError, SyntaxError,
               TokenError, NotImplementedError, RuntimeError, MemoryError)  # fmt: skip


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


def _fallback(problem: str, fix: str = _RESAVE, cause: Exception | None = None) -> DataFileFacts:
    return DataFileFacts(DEFAULT_PROBE_SIZE, problem, fix, problem, cause)


def _tail(stream: IO[bytes], size: int, length: int) -> bytes:
    stream.seek(max(0, size - length))
    return read_ready(stream, length)


def _open_archive(stream: IO[bytes], size: int) -> zipfile.ZipFile:
    """The archive, once the members and bytes its end record claims for the zip directory are
    of a data file's size; the record found where zipfile finds it: ending the file, else the
    last one before a comment of <= 64 KiB."""
    before = _LOCATOR + _END64.size  # room for the zip64 records
    tail = _tail(stream, size, before + _END.size)
    at = len(tail) - _END.size
    if not (at >= 0 and tail[at : at + 4] == b"PK\x05\x06" and tail[-2:] == b"\0\0"):
        tail = _tail(stream, size, before + _END.size + 0xFFFF)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < _END.size:
            raise Unreadable("not a readable zip archive (no end-of-directory record)")
    members, length = _END.unpack_from(tail, at)[4:6]
    locator, record = at - _LOCATOR, at - _LOCATOR - _END64.size
    if record >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        zip64 = _END64.unpack_from(tail, record)
        if zip64[0] == b"PK\x06\x06":
            members, length = zip64[7:9]
    if members > _MAX_MEMBERS or length > _MAX_DIRECTORY:
        raise Unreadable(
            f"its zip directory lists {members} members in {length} bytes, more than a "
            f"data file holds ({_MAX_MEMBERS} members, {_MAX_DIRECTORY} bytes at most)"
        )
    try:
        return zipfile.ZipFile(stream)
    except _RAW_ERRORS as e:
        raise Unreadable(f"not a readable zip archive ({e})") from e


def _member(members: dict[str, zipfile.ZipInfo], name: str) -> zipfile.ZipInfo | None:
    """The member np.load reads for a key: the bare name first, then the name with `.npy`."""
    return members.get(name) or members.get(f"{name}.npy")


def _open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> zipfile.ZipExtFile:
    """A member's stream, if it is stored or deflated as numpy writes it."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        method = info.compress_type
        raise Unreadable(f"it is compressed with zip method {method}, which numpy never writes")
    try:
        return cast(zipfile.ZipExtFile, archive.open(info))  # what it opens for reading
    except _RAW_ERRORS as e:  # encrypted or patched data, a broken local header
        raise Unreadable(f"{info.filename} cannot be read ({e})") from e


def _read_header(
    stream: zipfile.ZipExtFile, info: zipfile.ZipInfo
) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """A member's `.npy` shape and dtype, read by numpy's reader, and where its data starts; a
    header longer than `_MAX_HEADER` is refused before it is read."""
    from numpy.lib.format import read_array_header_1_0, read_array_header_2_0, read_magic

    try:
        version = read_magic(stream)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise Unreadable(f"unsupported .npy format version {version[0]}.{version[1]}")
        # 3.0 is 2.0 with a UTF-8 header, used only for structured dtypes (refused anyway)
        width = 2 if version == (1, 0) else 4  # of the header length field
        length = int.from_bytes(stream.peek(width)[:width], "little")
        if length > _MAX_HEADER:
            raise Unreadable(f"its .npy header claims {length} bytes, over {_MAX_HEADER}")
        read = read_array_header_1_0 if width == 2 else read_array_header_2_0
        shape, _, dtype = read(stream, max_header_size=_MAX_HEADER)
        start = 8 + width + length  # magic and version, the length field, the header
    except _RAW_ERRORS as e:
        # numpy's parser names an expression by its object's address, which differs every run
        reason = re.sub(r" object at 0x[0-9a-fA-F]+", "", str(e))
        raise Unreadable(f"{info.filename} is not a valid .npy array ({reason})") from e
    # numpy takes True for 1 in a shape; np.load would build a (1, 1) array from (True, True)
    if not all(type(n) is int and n >= 0 for n in shape):
        raise Unreadable(f"the .npy header gives {show(shape)}, not a shape of sizes")
    if not dtype.hasobject:  # an object array's pickle has no size the header could declare
        declared = start + math.prod(shape) * dtype.itemsize
        if declared != info.file_size:
            held = f"the zip directory says it holds {info.file_size}"
            raise Unreadable(f"its header declares {shape} {dtype}: {declared} bytes, but {held}")
    return tuple(shape), dtype, start


def _read_probe(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], path: str
) -> DataFileFacts:
    info = _member(members, "probeGuess")
    if info is None:
        held = ", ".join(sorted(n.removesuffix(".npy") for n in archive.namelist()[:20]))
        problem = f"{path} has no probeGuess array (it holds: {held or 'nothing'})"
        return _fallback(problem, "add probeGuess to the file or set N explicitly")
    try:
        with _open_member(archive, info) as member:
            shape, dtype, _ = _read_header(member, info)
    except Unreadable as e:
        return _fallback(f"cannot read probeGuess from {path}: {e}", cause=e)
    where = f"probeGuess in {path}"
    if dtype.hasobject:
        return _fallback(f"{where} is an object array, which would need unpickling")
    if dtype.kind not in "biufc":
        return _fallback(f"{where} has dtype {dtype}, not a number")
    if len(shape) != 2 or 0 in shape:
        problem = f"{where} has shape {shape}, not a non-empty 2-D array"
        return _fallback(problem, "save a 2-D probe or set N explicitly")
    if shape[0] != shape[1]:
        problem, fix = f"{where} has shape {shape}, not square", "save a square probe or set N"
        return DataFileFacts(shape[0], problem, fix)
    return DataFileFacts(shape[0])


def _metadata(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Any:
    """The `_metadata` member as a JSON string or a dict."""
    limit = f"{_MAX_METADATA // 1024} KiB"
    if info.file_size > _PREAMBLE + _MAX_HEADER + _MAX_METADATA:
        raise Unreadable(f"it holds {info.file_size} bytes, over the {limit} metadata limit")
    with _open_member(archive, info) as member:
        shape, dtype, start = _read_header(member, info)
        try:
            body = member.read(info.file_size - start)
        except _RAW_ERRORS as e:
            raise Unreadable(f"its data cannot be read ({e})") from e
    if len(body) < info.file_size - start:
        raise Unreadable(f"it ends after {start + len(body)} of its {info.file_size} bytes")
    if dtype.hasobject and shape == ():
        return unpickle_item(body)
    if dtype.kind not in "US" or math.prod(shape) != 1 or dtype.itemsize > _MAX_METADATA:
        raise Unreadable(f"it is {dtype} of shape {shape}, not one string of {limit} or less")
    try:  # the one string, decoded without numpy or pickle
        if dtype.kind == "S":
            return body.rstrip(b"\0").decode("utf-8")
        return body.decode("utf-32-be" if dtype.str[0] == ">" else "utf-32-le").rstrip("\0")
    except _RAW_ERRORS as e:
        raise Unreadable(f"its text cannot be read ({e})") from e


def _read_nphotons(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], path: str
) -> tuple[float | None, str | None]:
    """nphotons and, when `_metadata` is present but unusable, why it was ignored."""
    info = _member(members, "_metadata")
    if info is None:
        return None, None
    where = f"_metadata in {path}"
    try:
        metadata = _metadata(archive, info)
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
        # text ("1e9") is no number here: the reference stores a number, and a value that
        # reads as one only after conversion is ignored with the warning below, never used
        number = math.nan if isinstance(value, bool | str | bytes) else float(value)
    except (TypeError, ValueError, OverflowError):  # a list, or an int beyond float
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        problem = f"nphotons {show(value)} is not a positive number; fix it or set nphotons"
        return None, f"{where}: {problem}"
    return number, None


def _read(data_file: str | os.PathLike[str]) -> DataFileFacts:
    """Everything a data file says, read afresh."""
    path = os.path.abspath(as_path(data_file, "data file"))
    try:
        fd, size = open_regular(path, "data file")
        # buffered: a raw read may return less than asked, which zipfile takes as truncation
        with os.fdopen(fd, "rb") as stream, _open_archive(stream, size) as archive:
            # by name, as `getinfo` finds them (a name written twice: the last)
            members = {info.filename: info for info in archive.infolist()}
            nphotons, why = _read_nphotons(archive, members, path)
            facts = _read_probe(archive, members, path)
    except (FileNotFoundError, NotADirectoryError) as e:
        return _fallback(f"data file {path} does not exist", "fix the path or set N explicitly", e)
    except (Unreadable, OSError) as e:
        reason = e.problems[0].message if isinstance(e, FileReadError) else e
        problem = f"cannot read probeGuess from {path}: {reason}"
        return replace(_fallback(problem, cause=e), file_problem=problem)
    if nphotons is not None or why is not None:  # most data files hold no `_metadata`
        facts = replace(facts, nphotons=nphotons, nphotons_problem=why)
    return facts


def _report_probe(facts: DataFileFacts, strict: bool) -> None:
    if facts.probe_problem is None:
        return
    if strict:
        message = f"{facts.probe_problem}; {facts.probe_fix}"
        missing = isinstance(facts.probe_cause, FileNotFoundError)
        error = ConfigFileNotFoundError if missing else ProbeSizeError
        raise error(message, [Problem("model.N", message)]) from facts.probe_cause
    used = "the default" if facts.probe_fallback else "its first dimension,"
    message = f"{facts.probe_problem}; using {used} N = {facts.probe_size} ({facts.probe_fix})"
    warnings.warn(message, stacklevel=3)


def infer_probe_size(data_file: str | os.PathLike[str], *, strict: bool = False) -> int:
    """The first dimension of `probeGuess`; 64 and a warning (error if strict) when unusable."""
    facts = _read(data_file)
    _report_probe(facts, strict)
    return facts.probe_size


def inspect_data_file(data_file: str | os.PathLike[str], *, strict: bool = False) -> DataFileFacts:
    """Probe size and nphotons in one read, warning (or raising) as `infer_probe_size` does,
    except for a file that is no readable NPZ at all: ``file_problem`` says so, and the caller
    decides (the factories raise)."""
    facts = _read(data_file)
    if facts.file_problem is None:
        _report_probe(facts, strict)
    if facts.nphotons_problem is not None:
        warnings.warn(facts.nphotons_problem, stacklevel=2)
    return facts
