"""The start of a zip member, read with bounded work whatever the archive claims.

Everything is read from the raw descriptor by positioned reads (`read_at`), without a file
object. The end of the file is read once (`_TAIL`): it holds the end record, the zip64 records
and, for a data file, the whole directory; only an archive comment pushing the end record out of
it (up to 64 KiB more) or a longer directory costs another read. The directory is sized from the
end records and refused when larger than a data file's before it is read. A member is read with
one read at its local header that also covers the bytes asked for when they are few; it is
decompressed by a bounded decompressor (`max_length`) of its method, deflate, bzip2 or LZMA,
in chunks, only as far as asked; other methods, encryption and patched data are refused.
zipfile is not used to read: its member reader decompresses bzip2 and LZMA without a bound, and
its directory reader does more work than the handful of members a data file holds needs.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from tokenize import TokenError
from typing import NamedTuple, Protocol

# An NPZ holds a handful of members; a directory beyond these is refused before it is read.
_MAX_MEMBERS, _MAX_DIRECTORY = 10_000, 1024 * 1024
# Compressed bytes read at most for one member's prefix: a whole bzip2 block fits in it.
_MAX_COMPRESSED, _CHUNK = 2 * 1024 * 1024, 16 * 1024
# Bytes read first from the end of the file: a data file's directory of a few members fits.
_TAIL = 4096
# Bytes of a local header's extra field read with it (numpy writes 20): fewer than the directory
# entry and end record after the last member, so a read at a member never runs into the file's end.
_EXTRA = 64
_EOCD = struct.Struct("<4s4H2LH")  # end of central directory
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # one entry of the central directory
_ZIP64_EXTRA = 0x0001
_UTF8_NAME = 0x800
_UNSUPPORTED_FLAGS = 0x1 | 0x20 | 0x40  # encrypted, patched data, strong encryption
# What a truncated, corrupt or hostile file can make the decoders or numpy's header parser raise.
RAW_ERRORS = (StopIteration, OSError, EOFError, struct.error, zlib.error, ValueError, TypeError,
              KeyError, IndexError, OverflowError, RecursionError, SyntaxError, TokenError,
              NotImplementedError, RuntimeError, MemoryError)  # fmt: skip


class Unreadable(Exception):
    """A file or member that cannot be read safely; the message says why."""


class Member(NamedTuple):
    """One entry of the zip directory, with its local header's position in the file."""

    filename: str
    flag_bits: int
    compress_type: int
    compress_size: int
    file_size: int
    header_offset: int


def _seek_and_read(fd: int, size: int, offset: int) -> bytes:
    """os.pread for a platform without it (this one moves the file position)."""
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)


_pread: Callable[[int, int, int], bytes] = getattr(os, "pread", _seek_and_read)


def read_at(fd: int, size: int, offset: int) -> bytes:
    """``size`` bytes at ``offset``; fewer only where the file ends (a short read is retried)."""
    data = _pread(fd, size, offset)
    while 0 < len(data) < size:
        more = _pread(fd, size - len(data), offset + len(data))
        if not more:
            break
        data += more
    return data


@dataclass(frozen=True)
class _Tail:
    """The last bytes of the file, read once; ``start`` is where in the file they begin."""

    fd: int
    data: bytes
    start: int

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset``, from the tail when they are in it (it reaches the end)."""
        if offset >= self.start:
            return self.data[offset - self.start : offset - self.start + size]
        return read_at(self.fd, size, offset)


def _find_end(fd: int, size: int) -> tuple[_Tail, int]:
    """The end of the file and where in the file its end record starts."""
    # the record ends the file or precedes a comment of up to 64 KiB, read only if not found first
    for window in (_TAIL, _EOCD.size + 0xFFFF):
        start = max(0, size - window)
        tail = _Tail(fd, read_at(fd, size - start, start), start)
        at = tail.data.rfind(b"PK\x05\x06")
        if at >= 0 or start == 0:
            break
    if at < 0 or len(tail.data) - at < _EOCD.size:
        raise Unreadable("not a readable zip archive (no end-of-directory record)")
    return tail, start + at


def _end_record(tail: _Tail, record_at: int) -> tuple[int, int, int, int]:
    """(members, directory bytes, directory offset, where the directory really starts)."""
    members, directory, offset = _EOCD.unpack_from(tail.data, record_at - tail.start)[4:7]
    if record_at >= _EOCD64_LOCATOR.size:  # the zip64 locator sits just before the end record
        locator = tail.read(record_at - _EOCD64_LOCATOR.size, _EOCD64_LOCATOR.size)
        if len(locator) == _EOCD64_LOCATOR.size and locator[:4] == b"PK\x06\x07":
            _, _, record_at, _ = _EOCD64_LOCATOR.unpack(locator)
            record = tail.read(record_at, _EOCD64.size)
            if len(record) != _EOCD64.size or record[:4] != b"PK\x06\x06":
                raise Unreadable("its zip64 end-of-directory record is missing")
            members, directory, offset = _EOCD64.unpack(record)[7:10]
    # the directory ends where its end record (or zip64 record) begins; bytes prepended to the
    # archive shift every offset by the same amount
    return members, directory, offset, record_at - directory


def open_zip(fd: int, size: int) -> Mapping[str, Member]:
    """The members of the archive of ``size`` bytes by name, read with bounded work."""
    try:
        tail, record_at = _find_end(fd, size)
        members, length, offset, start = _end_record(tail, record_at)
        if members > _MAX_MEMBERS or length > _MAX_DIRECTORY:
            raise Unreadable(
                f"its zip directory lists {members} members in {length} bytes, more than a "
                f"data file holds ({_MAX_MEMBERS} members, {_MAX_DIRECTORY} bytes at most)"
            )
        if start < 0:
            raise Unreadable("its zip directory claims to start before the file")
        data = tail.read(start, length)
        if len(data) != length:
            raise Unreadable("its zip directory is truncated")
        return _entries(data, start - offset)
    except RAW_ERRORS as e:
        raise Unreadable(f"not a readable zip archive ({e})") from e


def _entries(data: bytes, shift: int) -> dict[str, Member]:
    """The central directory's entries; ``shift`` is the length of any prepended bytes."""
    found: dict[str, Member] = {}
    at = 0
    while at < len(data):
        fields = _CENTRAL.unpack_from(data, at)
        if fields[0] != b"PK\x01\x02":
            raise Unreadable("its zip directory is corrupt")
        flags, method = fields[3], fields[4]
        compressed, size, name_length, extra_length, comment_length = fields[8:13]
        offset = fields[16]
        at += _CENTRAL.size
        raw_name = data[at : at + name_length]
        extra = data[at + name_length : at + name_length + extra_length]
        at += name_length + extra_length + comment_length
        if 0xFFFFFFFF in (compressed, size, offset):
            size, compressed, offset = _zip64_sizes(extra, size, compressed, offset)
        name = raw_name.decode("utf-8" if flags & _UTF8_NAME else "cp437")
        # a name given twice: the last entry wins, as in zipfile and so np.load
        found[name] = Member(name, flags, method, compressed, size, offset + shift)
    return found


def _zip64_sizes(extra: bytes, size: int, compressed: int, offset: int) -> tuple[int, int, int]:
    """Sizes and offset from a zip64 extra field, for those the entry marks as too large."""
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<2H", extra, at)
        if kind == _ZIP64_EXTRA:
            values = iter(struct.unpack_from(f"<{length // 8}Q", extra, at + 4))
            size = next(values) if size == 0xFFFFFFFF else size
            compressed = next(values) if compressed == 0xFFFFFFFF else compressed
            offset = next(values) if offset == 0xFFFFFFFF else offset
            return size, compressed, offset
        at += 4 + length
    raise Unreadable("a zip64 entry has no zip64 sizes")


def member(archive: Mapping[str, Member], name: str) -> Member | None:
    """The member np.load reads for a key: the bare name first, then the name with `.npy`."""
    found = archive.get(name)
    return found if found is not None else archive.get(f"{name}.npy")


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


class _Raw:
    """A member's bytes as stored (compressed or not), read forward from ``offset``, at most
    ``budget`` of them; the first ones, ``head``, came with its local header."""

    def __init__(self, fd: int, offset: int, budget: int, head: bytes) -> None:
        self._fd, self._offset, self._budget = fd, offset, budget
        self._head = memoryview(head)[:budget]  # a view: taking chunks from it copies no rest

    def read(self, size: int) -> bytes:
        """The next ``size`` bytes; fewer only where the budget or the file ends."""
        size = min(size, self._budget)
        data = bytes(self._head[:size])
        self._head = self._head[size:]
        if len(data) < size:
            data += read_at(self._fd, size - len(data), self._offset + len(data))
        self._offset += len(data)
        self._budget -= len(data)
        return data


def _lzma(raw: _Raw) -> _Decompressor:
    """A raw LZMA1 decoder from the 4-byte zip prefix and 5-byte properties before the data."""
    import lzma

    prefix = raw.read(9)
    if len(prefix) != 9 or int.from_bytes(prefix[2:4], "little") != 5:
        raise Unreadable("its LZMA properties are malformed")
    packed, dict_size = prefix[4], int.from_bytes(prefix[5:9], "little")
    lc, lp, pb = packed % 9, packed // 9 % 5, packed // 45
    # only a prefix is decoded, so no match reaches further back than a few MiB
    window = max(4096, min(dict_size, 4 * 1024 * 1024))
    lzma1 = {"id": lzma.FILTER_LZMA1, "dict_size": window, "lc": lc, "lp": lp, "pb": pb}
    return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1])


def _decompressor(method: int, raw: _Raw) -> _Decompressor | None:
    """A bounded decompressor for a zip method; None for a stored member."""
    if method == zipfile.ZIP_STORED:
        return None
    if method == zipfile.ZIP_DEFLATED:
        return _Inflate()
    if method == zipfile.ZIP_BZIP2:
        import bz2

        return bz2.BZ2Decompressor()
    if method == zipfile.ZIP_LZMA:
        return _lzma(raw)
    raise Unreadable(f"it is compressed with zip method {method}, which numpy never writes")


def prefix(fd: int, info: Member, limit: int) -> bytes:
    """At most ``limit`` uncompressed bytes from the start of a member, read with bounded work:
    the local header and, when they are few, the bytes asked for come in one read."""
    name = info.filename
    if info.flag_bits & _UNSUPPORTED_FLAGS:
        raise Unreadable(f"{name} is encrypted or compressed with method {info.compress_type}")
    stored = info.compress_type == zipfile.ZIP_STORED
    if stored and info.compress_size != info.file_size:
        raise Unreadable(f"the zip directory gives {name} two different sizes")
    want = min(limit, info.file_size)
    budget = want if stored else min(info.compress_size, _MAX_COMPRESSED)
    try:
        ahead = _LOCAL_HEADER.size + len(info.filename) + _EXTRA + min(want, budget)
        first = read_at(fd, ahead, info.header_offset)
        if len(first) < _LOCAL_HEADER.size or first[:4] != b"PK\x03\x04":
            raise Unreadable(f"{name} has no valid local header")
        name_length, extra_length = _LOCAL_HEADER.unpack_from(first)[-2:]
        start = _LOCAL_HEADER.size + name_length + extra_length
        data = _Raw(fd, info.header_offset + start, budget, first[start:])
        decompressor = _decompressor(info.compress_type, data)
        out = data.read(want) if decompressor is None else _inflate(decompressor, data, want)
    except RAW_ERRORS as e:  # bz2 raises OSError, lzma LZMAError (an Exception) on bad data
        raise Unreadable(f"{name} cannot be decompressed ({e})") from e
    except Exception as e:
        if type(e).__module__ in ("lzma", "_lzma"):
            raise Unreadable(f"{name} cannot be decompressed ({e})") from e
        raise
    if len(out) < want:
        raise Unreadable(f"{name} ends after {len(out)} of its {info.file_size} bytes")
    return out


def _inflate(decompressor: _Decompressor, data: _Raw, want: int) -> bytes:
    """Decompress until ``want`` bytes are out, the stream ends or its budget is read."""
    out = bytearray()
    while len(out) < want and not decompressor.eof:
        chunk = b""
        if decompressor.needs_input:
            chunk = data.read(_CHUNK)
            if not chunk:
                break
        produced = decompressor.decompress(chunk, want - len(out))
        if not produced and not chunk:  # a decompressor that stalls: stop rather than spin
            break
        out += produced
    return bytes(out)
