"""The probe size and nphotons of an NPZ data file, read from `.npy` headers, never arrays.

Every reading opens the file afresh (no cache): a few system calls and a few KiB. The file
must be a regular file; its zip directory must be of a data file's size; a member is
decompressed only as far as its header (`_MAX_HEADER`), whatever its compression method; a
header must agree with the member's size in the zip directory. Only `_metadata` stored the
reference's way (a pickled 0-d object array) is unpickled, by `_unpickle` below, which knows
the handful of names such an array needs and refuses every other. numpy is imported only when
a header is parsed.
"""

from __future__ import annotations

import functools
import io
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
from typing import IO, TYPE_CHECKING, Any, Protocol

from ptycho_config._errors import (
    ConfigFileNotFoundError,
    FileReadError,
    ProbeSizeError,
    Problem,
    show,
)
from ptycho_config._files import open_regular

if TYPE_CHECKING:
    import numpy as np

DEFAULT_PROBE_SIZE = 64
_PROBE, _METADATA = "probeGuess", "_metadata"
# Bytes of a header read at most, whatever a file says; numpy itself refuses headers over 10,000.
_MAX_HEADER, _MAX_METADATA = 10_000, 256 * 1024
_PREAMBLE = 12  # magic (6), version (2) and the header length field (2 or 4)
# An NPZ holds a handful of members; a directory beyond these is refused before zipfile parses it.
_MAX_MEMBERS, _MAX_DIRECTORY = 10_000, 1024 * 1024
# Compressed bytes read at most for one member's prefix: a whole bzip2 block fits in it.
_MAX_COMPRESSED, _CHUNK = 2 * 1024 * 1024, 16 * 1024
_EOCD = struct.Struct("<4s4H2LH")  # end of central directory
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_UNSUPPORTED_FLAGS = 0x1 | 0x20 | 0x40  # encrypted, patched data, strong encryption
# The header numpy writes for a plain dtype; anything else goes through numpy's own parser.
_CANONICAL = re.compile(
    rb"\{'descr': '([<>|=]?[a-zA-Z][0-9]{0,5})', 'fortran_order': (?:True|False), "
    rb"'shape': \(((?:[0-9]{1,19}, )*(?:[0-9]{1,19},?)?)\), \} *\n"
)
_RESAVE = "re-save the file with numpy.savez or set N explicitly"
# What a truncated, corrupt or hostile file can make zipfile, zlib or numpy's header parser raise.
_RAW_ERRORS = (zipfile.BadZipFile, OSError, EOFError, struct.error, zlib.error, ValueError,
               TypeError, KeyError, IndexError, OverflowError, RecursionError, SyntaxError,
               TokenError, NotImplementedError, RuntimeError, MemoryError)  # fmt: skip


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


def _member(archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    """The member np.load reads for a key: the bare name first, then the name with `.npy`."""
    for candidate in (name, f"{name}.npy"):
        try:
            return archive.getinfo(candidate)
        except KeyError:
            continue
    raise _Absent(f"no member {name}")


class _Decompressor(Protocol):
    """The part of bz2's and lzma's decompressor objects used here (zlib's is adapted)."""

    @property
    def needs_input(self) -> bool: ...

    @property
    def eof(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Inflate:
    """zlib's raw deflate, shaped like bz2's decompressor (it keeps its input in a tail)."""

    def __init__(self) -> None:
        self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)

    @property
    def needs_input(self) -> bool:
        return not self._zlib.unconsumed_tail

    @property
    def eof(self) -> bool:
        return self._zlib.eof

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        return self._zlib.decompress(self._zlib.unconsumed_tail + data, max(max_length, 0))


def _lzma(file: IO[bytes]) -> _Decompressor:
    """A raw LZMA1 decoder from the 4-byte zip prefix and 5-byte properties before the data."""
    import lzma

    prefix = file.read(9)
    if len(prefix) != 9 or int.from_bytes(prefix[2:4], "little") != 5:
        raise _Unreadable("its LZMA properties are malformed")
    packed, dict_size = prefix[4], int.from_bytes(prefix[5:9], "little")
    lc, lp, pb = packed % 9, packed // 9 % 5, packed // 45
    # only a prefix is decoded, so no match reaches further back than a few MiB
    window = max(4096, min(dict_size, 4 * 1024 * 1024))
    lzma1 = {"id": lzma.FILTER_LZMA1, "dict_size": window, "lc": lc, "lp": lp, "pb": pb}
    return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1])


def _decompressor(method: int, file: IO[bytes]) -> _Decompressor | None:
    """A bounded decompressor for a zip method; None for a stored member."""
    if method == zipfile.ZIP_STORED:
        return None
    if method == zipfile.ZIP_DEFLATED:
        return _Inflate()
    if method == zipfile.ZIP_BZIP2:
        import bz2

        return bz2.BZ2Decompressor()
    if method == zipfile.ZIP_LZMA:
        return _lzma(file)
    raise _Unreadable(f"it is compressed with zip method {method}, which numpy never writes")


def _prefix(file: IO[bytes], info: zipfile.ZipInfo, limit: int) -> bytes:
    """At most ``limit`` uncompressed bytes from the start of a member, read with bounded work."""
    name = info.filename
    if info.flag_bits & _UNSUPPORTED_FLAGS:
        raise _Unreadable(f"{name} is encrypted or compressed with method {info.compress_type}")
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise _Unreadable(f"the zip directory gives {name} two different sizes")
    want = min(limit, info.file_size)
    try:
        file.seek(info.header_offset)
        local = file.read(_LOCAL_HEADER.size)
        if len(local) != _LOCAL_HEADER.size or local[:4] != b"PK\x03\x04":
            raise _Unreadable(f"{name} has no valid local header")
        name_length, extra_length = _LOCAL_HEADER.unpack(local)[-2:]
        file.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
        decompressor = _decompressor(info.compress_type, file)
        if decompressor is None:
            data = file.read(want)
        else:
            data = _inflate(decompressor, file, min(info.compress_size, _MAX_COMPRESSED), want)
    except _RAW_ERRORS as e:  # bz2 raises OSError, lzma LZMAError (an Exception) on bad data
        raise _Unreadable(f"{name} cannot be decompressed ({e})") from e
    except Exception as e:
        if type(e).__module__ in ("lzma", "_lzma"):
            raise _Unreadable(f"{name} cannot be decompressed ({e})") from e
        raise
    if len(data) < want:
        raise _Unreadable(f"{name} ends after {len(data)} of its {info.file_size} bytes")
    return data


def _inflate(decompressor: _Decompressor, file: IO[bytes], budget: int, want: int) -> bytes:
    """Decompress until ``want`` bytes are out, the stream ends or ``budget`` bytes are in."""
    out = bytearray()
    while len(out) < want and not decompressor.eof:
        chunk = b""
        if decompressor.needs_input:
            chunk = file.read(min(_CHUNK, budget))
            budget -= len(chunk)
            if not chunk:
                break
        produced = decompressor.decompress(chunk, want - len(out))
        if not produced and not chunk:  # a decompressor that stalls: stop rather than spin
            break
        out += produced
    return bytes(out)


def _parse_header(data: bytes, info: zipfile.ZipInfo) -> tuple[NpyHeader, int]:
    """A member's `.npy` header, parsed by numpy's reader, and where its data starts."""
    import numpy as np
    from numpy.lib import format as npy_format

    stream = io.BytesIO(data)
    try:
        version = npy_format.read_magic(stream)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise _Unreadable(f"unsupported .npy format version {version[0]}.{version[1]}")
        width = 2 if version == (1, 0) else 4
        length_field = stream.read(width)  # numpy's reader below rejects a truncated one
        length = int.from_bytes(length_field, "little")
        if length > _MAX_HEADER:
            raise _Unreadable(f"its .npy header claims {length} bytes, over {_MAX_HEADER}")
        text = stream.read(length)
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
    except _RAW_ERRORS as e:
        raise _Unreadable(f"{info.filename} is not a valid .npy array ({e})") from e
    if any(n < 0 for n in shape):
        raise _Unreadable(f"the .npy header gives a negative shape {shape}")
    start = npy_format.MAGIC_LEN + width + length
    if not dtype.hasobject:  # an object array's pickle has no size the header could declare
        declared = start + math.prod(shape) * dtype.itemsize
        if declared != info.file_size:
            held = f"the zip directory says it holds {info.file_size}"
            raise _Unreadable(f"its header declares {shape} {dtype}: {declared} bytes, but {held}")
    return NpyHeader(tuple(shape), dtype), start


def _read_probe(file: IO[bytes], archive: zipfile.ZipFile, path: str) -> DataFileFacts:
    try:
        info = _member(archive, _PROBE)
        header, _ = _parse_header(_prefix(file, info, _PREAMBLE + _MAX_HEADER), info)
    except _Absent:
        held = ", ".join(sorted(n.removesuffix(".npy") for n in archive.namelist()[:20]))
        problem = f"{path} has no probeGuess array (it holds: {held or 'nothing'})"
        return _fallback(problem, "add probeGuess to the file or set N explicitly")
    except _Unreadable as e:
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
    except _RAW_ERRORS as e:
        raise _Unreadable(f"its text cannot be read ({e})") from e


class _ArrayState:
    """Stands in for the 0-d object array a metadata pickle rebuilds: it keeps the state only."""

    def __init__(self, *args: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def item(self) -> Any:
        """The one object the array holds (numpy pickles an object array's items as a list)."""
        shape, items = self.state[1], self.state[-1]
        if tuple(shape) != () or not isinstance(items, list) or len(items) != 1:
            raise _Unreadable(f"it pickles an array of shape {show(shape)}, not one object")
        return items[0]


def _new_array(cls: Any, shape: Any, typecode: Any) -> _ArrayState:
    return _ArrayState()


# Everything a pickled 0-d object array of plain values names; nothing here runs code.
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    **{(module, "_reconstruct"): _new_array for module in
       ("numpy.core.multiarray", "numpy._core.multiarray")},
    ("numpy", "ndarray"): _ArrayState,
    ("numpy", "dtype"): _ArrayState,
    **{("builtins", t.__name__): t for t in (str, bytes, dict, list, tuple, int, float, bool)},
    ("builtins", "NoneType"): type(None),
}  # fmt: skip


def _find_class(module: str, name: str) -> Any:
    """The only globals a metadata pickle may name; any other is refused, never imported."""
    try:
        return _ALLOWED_GLOBALS[(module, name)]
    except KeyError:
        raise _Unreadable(
            f"its pickle needs {module}.{name}, which a metadata array never needs "
            "(refused without running it)"
        ) from None


@functools.cache
def _unpickler() -> Any:
    """pickle's Unpickler with `_find_class` as its only way to a global (pickle is imported
    only where the reference's metadata form is met)."""
    import pickle

    class MetadataUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            return _find_class(module, name)

    return MetadataUnpickler


def _unpickle(data: bytes) -> Any:
    """The object a pickled 0-d object array holds; anything but plain values is refused."""
    try:
        array = _unpickler()(io.BytesIO(data)).load()
    except _Unreadable:
        raise
    except Exception as e:  # a corrupt pickle fails in many ways, all of them harmless here
        raise _Unreadable(f"its pickle cannot be read ({type(e).__name__}: {e})") from e
    if not isinstance(array, _ArrayState):
        raise _Unreadable("its pickle holds no array")
    return array.item()


def _metadata(file: IO[bytes], archive: zipfile.ZipFile) -> Any:
    """The `_metadata` member as a JSON string or a dict; _Absent when there is none."""
    info = _member(archive, _METADATA)
    limit = f"{_MAX_METADATA // 1024} KiB"
    if info.file_size > _PREAMBLE + _MAX_HEADER + _MAX_METADATA:
        raise _Unreadable(f"it holds {info.file_size} bytes, over the {limit} metadata limit")
    data = _prefix(file, info, info.file_size)
    header, start = _parse_header(data, info)
    body, dtype = data[start:], header.dtype
    if dtype.hasobject and header.shape == ():
        return _unpickle(body)
    if dtype.kind not in "US" or math.prod(header.shape) != 1 or dtype.itemsize > _MAX_METADATA:
        raise _Unreadable(
            f"it is {dtype} of shape {header.shape}, not one string of {limit} or less"
        )
    return _read_text(body, header)


def _read_nphotons(
    file: IO[bytes], archive: zipfile.ZipFile, path: str
) -> tuple[float | None, str | None]:
    """nphotons and, when `_metadata` is present but unusable, why it was ignored."""
    where = f"_metadata in {path}"
    try:
        metadata = _metadata(file, archive)
    except _Absent:
        return None, None
    except _Unreadable as e:
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
        file = os.fdopen(open_regular(path, "data file"), "rb")
    except (FileNotFoundError, NotADirectoryError) as e:
        return _fallback(
            f"data file {path or repr('')} does not exist", "fix the path or set N explicitly", e
        )
    except FileReadError as e:
        return _fallback(
            f"cannot read probeGuess from {path}: {e.reason}", cause=e, whole_file=True
        )
    with file:
        try:
            with _open_zip(file) as archive:
                nphotons, why = _read_nphotons(file, archive, path)
                facts = replace(
                    _read_probe(file, archive, path), nphotons=nphotons, nphotons_problem=why
                )
        except _Unreadable as e:
            facts = _fallback(f"cannot read probeGuess from {path}: {e}", cause=e, whole_file=True)
        except OSError as e:
            facts = _fallback(f"cannot read probeGuess from {path}: {e}", cause=e, whole_file=True)
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
        with os.fdopen(open_regular(path, "data file"), "rb") as file, _open_zip(file) as archive:
            info = _member(archive, _PROBE)
            header, _ = _parse_header(_prefix(file, info, _PREAMBLE + _MAX_HEADER), info)
    except FileNotFoundError as e:
        message = f"data file {path} does not exist; fix the path"
        raise ConfigFileNotFoundError(message, [Problem("data_file", message, path)]) from e
    except (OSError, _Unreadable, FileReadError) as e:
        why = e.reason if isinstance(e, FileReadError) else str(e)
        message = f"cannot read probeGuess from {path}: {why}; {_RESAVE}"
        raise ProbeSizeError(message, [Problem("model.N", message)]) from e
    if header.dtype.hasobject:
        why = "it is an object array, which would need unpickling"
        message = f"cannot read probeGuess from {path}: {why}"
        raise ProbeSizeError(message, [Problem("model.N", message)])
    return header
