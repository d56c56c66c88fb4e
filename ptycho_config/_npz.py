"""The probe size and nphotons of an NPZ data file, read from `.npy` headers, never arrays.

At most `_MAX_HEADER` bytes of a header are read (a deflated member is decompressed only that
far), nothing is unpickled, and a header must agree with the member's size in the zip directory.
Readings are cached per file identity (path, inode, size, mtime, ctime) once a file is older
than its timestamps' resolution. numpy is imported only when a header is parsed."""

from __future__ import annotations

import io
import json
import math
import os
import stat
import struct
import time
import warnings
import zipfile
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from tokenize import TokenError
from typing import IO, TYPE_CHECKING, Any

from ptycho import params
from ptycho_config._errors import ConfigFileNotFoundError, ProbeSizeError, Problem

if TYPE_CHECKING:
    import numpy as np

DEFAULT_PROBE_SIZE = 64
_PROBE, _METADATA = "probeGuess.npy", "_metadata.npy"
# Bytes read at most, whatever a file says; numpy itself refuses headers over 10,000 bytes.
_MAX_HEADER, _MAX_METADATA = 10_000, 256 * 1024
# An NPZ holds a handful of members; a directory beyond these is refused before zipfile parses it.
_MAX_MEMBERS, _MAX_DIRECTORY = 10_000, 1024 * 1024
_EOCD = struct.Struct("<4s4H2LH")  # end of central directory
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_READABLE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
_UNSUPPORTED_FLAGS = 0x1 | 0x20 | 0x40  # encrypted, patched data, strong encryption
_CACHE_SIZE = 64
_SETTLE_NS = 2_000_000_000  # coarser than any file system's timestamps (FAT: 2 s)
_RESAVE = "re-save the file with numpy.savez or set N explicitly"
# What a truncated, corrupt or hostile file can make zipfile, zlib or numpy's header parser raise.
_RAW_ERRORS = (zipfile.BadZipFile, OSError, EOFError, struct.error, zlib.error, ValueError,
               TypeError, KeyError, IndexError, OverflowError, RecursionError, SyntaxError,
               TokenError, NotImplementedError, RuntimeError)  # fmt: skip


class _Unreadable(Exception):
    """A file or member that cannot be read safely; the message says why."""


class _Absent(_Unreadable): ...  # a missing member, told apart from a broken one


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


def _fallback(problem: str, fix: str = _RESAVE, cause: Exception | None = None) -> DataFileFacts:
    error: BaseException | None = cause
    while error is not None:  # a cached reading must not keep a failed read's frames alive
        error.__traceback__ = None
        error = error.__cause__
    return DataFileFacts(DEFAULT_PROBE_SIZE, problem, fix, problem, cause)


def _directory_extent(file: IO[bytes]) -> tuple[int, int]:
    """(members, bytes) of the zip directory, read from the end records alone."""
    size = file.seek(0, os.SEEK_END)
    # without an archive comment the record is the last 22 bytes; a comment adds up to 64 KiB
    for tail_size in (_EOCD.size, _EOCD.size + 0xFFFF):
        start = max(0, size - tail_size)
        file.seek(start)
        tail = file.read(size - start)
        at = tail.rfind(b"PK\x05\x06")
        if at >= 0 and len(tail) - at >= _EOCD.size:
            break
    else:
        raise _Unreadable("not a readable zip archive (no end-of-directory record)")
    members, directory = _EOCD.unpack_from(tail, at)[4:6]
    locator = at - _EOCD64_LOCATOR.size
    if (members == 0xFFFF or directory == 0xFFFFFFFF) and locator >= 0:
        _, _, offset, _ = _EOCD64_LOCATOR.unpack_from(tail, locator)
        file.seek(offset)
        record = file.read(_EOCD64.size)
        if len(record) == _EOCD64.size and record[:4] == b"PK\x06\x06":
            members, directory = _EOCD64.unpack(record)[7:9]
    return members, directory


def _open_zip(file: IO[bytes]) -> zipfile.ZipFile:
    try:
        members, directory = _directory_extent(file)
        if members > _MAX_MEMBERS or directory > _MAX_DIRECTORY:
            raise _Unreadable(
                f"its zip directory lists {members} members in {directory} bytes, more than a "
                f"data file holds ({_MAX_MEMBERS} members, {_MAX_DIRECTORY} bytes at most)"
            )
        file.seek(0)
        return zipfile.ZipFile(file)
    except _RAW_ERRORS as e:
        raise _Unreadable(f"not a readable zip archive ({e})") from e


def _open_member(archive: zipfile.ZipFile, name: str) -> tuple[zipfile.ZipInfo, IO[bytes]]:
    """The directory entry and a stream of one member, refusing entries we cannot read safely."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        try:  # np.load also finds a member saved without the .npy suffix
            info = archive.getinfo(name.removesuffix(".npy"))
        except KeyError:
            raise _Absent(f"no member {name}") from None
    # zipfile decompresses these a bounded chunk at a time; the flags need features it lacks
    if info.flag_bits & _UNSUPPORTED_FLAGS or info.compress_type not in _READABLE_METHODS:
        raise _Unreadable(f"{name} is encrypted or compressed with method {info.compress_type}")
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise _Unreadable(f"the zip directory gives {name} two different sizes")
    try:
        return info, archive.open(info)
    except _RAW_ERRORS as e:
        raise _Unreadable(f"{name} cannot be opened ({e})") from e


def _parse_header(stream: IO[bytes], info: zipfile.ZipInfo) -> NpyHeader:
    """Parse a member's `.npy` header with numpy's reader, reading at most `_MAX_HEADER` bytes."""
    from numpy.lib import format as npy_format

    try:
        magic = stream.read(npy_format.MAGIC_LEN)
        version = npy_format.read_magic(io.BytesIO(magic))
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise _Unreadable(f"unsupported .npy format version {version[0]}.{version[1]}")
        width = 2 if version == (1, 0) else 4
        length_field = stream.read(width)  # numpy's reader below rejects a truncated one
        length = int.from_bytes(length_field, "little")
        if length > _MAX_HEADER:
            raise _Unreadable(f"its .npy header claims {length} bytes, over {_MAX_HEADER}")
        text = stream.read(length)
        # 3.0 is 2.0 with a UTF-8 header, used only for structured dtypes, which we refuse anyway.
        read = npy_format.read_array_header_1_0 if width == 2 else npy_format.read_array_header_2_0
        shape, _, dtype = read(io.BytesIO(length_field + text), _MAX_HEADER)
    except _RAW_ERRORS as e:
        raise _Unreadable(f"{info.filename} is not a valid .npy array ({e})") from e
    if any(n < 0 for n in shape):
        raise _Unreadable(f"the .npy header gives a negative shape {shape}")
    if dtype.hasobject:
        raise _Unreadable(f"{info.filename} is an object array, which would need unpickling")
    declared = len(magic) + width + length + math.prod(shape) * dtype.itemsize
    if declared != info.file_size:
        held = f"the zip directory says it holds {info.file_size}"
        raise _Unreadable(f"its header declares {shape} {dtype}: {declared} bytes, but {held}")
    return NpyHeader(tuple(shape), dtype)


def _read_probe(archive: zipfile.ZipFile, path: str) -> DataFileFacts:
    try:
        info, stream = _open_member(archive, _PROBE)
        with stream:
            header = _parse_header(stream, info)
    except _Absent:
        held = ", ".join(sorted(n.removesuffix(".npy") for n in archive.namelist()[:20]))
        problem = f"{path} has no probeGuess array (it holds: {held or 'nothing'})"
        return _fallback(problem, "add probeGuess to the file or set N explicitly")
    except _Unreadable as e:
        return _fallback(f"cannot read probeGuess from {path}: {e}", cause=e)
    shape, where = header.shape, f"probeGuess in {path}"
    if header.dtype.kind not in "biufc":
        return _fallback(f"{where} has dtype {header.dtype}, not a number")
    if len(shape) != 2 or 0 in shape:
        problem = f"{where} has shape {shape}, not a non-empty 2-D array"
        return _fallback(problem, "save a 2-D probe or set N explicitly")
    if shape[0] != shape[1]:
        problem, fix = f"{where} has shape {shape}, not square", "save a square probe or set N"
        return DataFileFacts(shape[0], problem, fix)
    return DataFileFacts(shape[0])


def _read_text(stream: IO[bytes], header: NpyHeader) -> str:
    """The one string a unicode or bytes array holds, decoded without numpy or pickle."""
    dtype = header.dtype
    if dtype.kind not in "US" or math.prod(header.shape) != 1 or dtype.itemsize > _MAX_METADATA:
        limit = f"{_MAX_METADATA // 1024} KiB"
        raise _Unreadable(
            f"it is {dtype} of shape {header.shape}, not one string of {limit} or less"
        )
    try:
        data = stream.read(dtype.itemsize)
        if dtype.kind == "S":
            return data.rstrip(b"\0").decode("utf-8")
        return data.decode("utf-32-be" if dtype.str[0] == ">" else "utf-32-le").rstrip("\0")
    except _RAW_ERRORS as e:
        raise _Unreadable(f"its text cannot be read ({e})") from e


def _read_nphotons(archive: zipfile.ZipFile, path: str) -> tuple[float | None, str | None]:
    """nphotons and, when `_metadata` is present but unusable, why it was ignored."""
    where = f"_metadata in {path}"
    try:
        info, stream = _open_member(archive, _METADATA)
        with stream:
            text = _read_text(stream, _parse_header(stream, info))
    except _Absent:
        return None, None
    except _Unreadable as e:
        fix = "store one JSON string, e.g. np.savez(..., _metadata=json.dumps(m)), or set nphotons"
        return None, f"{where} is ignored: {e}; {fix}"
    try:
        metadata = json.loads(text)
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
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        return None, f"{where}: nphotons {shown} is not a positive number; fix it or set nphotons"
    return number, None


# the memo lives with the library's other global state, in ptycho.params
_cache: OrderedDict[Any, DataFileFacts] = params.data_file_readings
_cache_lock = params.data_file_lock


def clear_cache() -> None:
    """Forget every cached reading."""
    with _cache_lock:
        _cache.clear()


def _identity(path: str, st: os.stat_result) -> tuple[Any, ...] | None:
    """The cache key of a file; None while a rewrite within one timestamp tick could hide."""
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < _SETTLE_NS:
        return None
    return (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _read(data_file: str | os.PathLike[str]) -> DataFileFacts:
    """The cached reading of a file, re-read whenever the file's identity changes."""
    path = os.path.abspath(data_file)
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError) as e:
        return _fallback(f"data file {path} does not exist", "fix the path or set N explicitly", e)
    except (OSError, ValueError) as e:
        return _fallback(f"cannot read probeGuess from {path}: {e}", cause=e)
    if not stat.S_ISREG(st.st_mode):
        return _fallback(f"cannot read probeGuess from {path}: it is not a regular file")
    with _cache_lock:
        hit = _cache.get(key := _identity(path, st))
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    try:
        with open(path, "rb") as file:
            key = _identity(path, os.fstat(file.fileno()))  # the file actually read
            with _open_zip(file) as archive:
                nphotons, why = _read_nphotons(archive, path)
                facts = replace(_read_probe(archive, path), nphotons=nphotons, nphotons_problem=why)
    except _Unreadable as e:
        facts = _fallback(f"cannot read probeGuess from {path}: {e}", cause=e)
    except OSError as e:
        return _fallback(f"cannot read probeGuess from {path}: {e}", cause=e)
    if key is not None:
        with _cache_lock:
            _cache[key] = facts
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
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
    """`physics_parameters.nphotons` in the `_metadata` JSON string; None if absent or unusable."""
    facts = _read(data_file)
    if facts.nphotons_problem is not None:
        warnings.warn(facts.nphotons_problem, UserWarning, stacklevel=2)
    return facts.nphotons


def inspect_data_file(data_file: str | os.PathLike[str], *, strict: bool = False) -> DataFileFacts:
    """Probe size and nphotons in one read, warning (or raising) as the functions above do."""
    facts = _read(data_file)
    _report_probe(facts, strict)
    if facts.nphotons_problem is not None:
        warnings.warn(facts.nphotons_problem, UserWarning, stacklevel=2)
    return facts


def read_probe_header(data_file: str | os.PathLike[str]) -> NpyHeader:
    """The header of `probeGuess`, read afresh; raises ProbeSizeError when it cannot be read."""
    path = os.path.abspath(data_file)
    try:
        with open(path, "rb") as file, _open_zip(file) as archive:
            info, stream = _open_member(archive, _PROBE)
            with stream:
                return _parse_header(stream, info)
    except FileNotFoundError as e:
        raise ConfigFileNotFoundError(f"data file {path} does not exist; fix the path") from e
    except (OSError, _Unreadable) as e:
        raise ProbeSizeError(f"cannot read probeGuess from {path}: {e}; {_RESAVE}") from e
