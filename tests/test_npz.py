"""Reading the probe size and nphotons from NPZ data files, without loading or unpickling."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import pickle
import subprocess
import sys
import tempfile
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.lib import format as npy_format

from ptycho_config._datafiles import npz as _npz
from ptycho_config._datafiles.npz import (
    infer_probe_size,
    inspect_data_file,
)
from ptycho_config._errors import ConfigFileNotFoundError, ProbeSizeError, PtychoConfigError

_UNPICKLED: list[str] = []


def _record_unpickling() -> str:
    _UNPICKLED.append("unpickled")
    return "tripped"


class _Tripwire:
    """An object whose unpickling leaves a trace in `_UNPICKLED`."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_record_unpickling, ())


@pytest.fixture(autouse=True)
def _no_unpickling_recorded() -> None:
    """Start every test with no record of unpickling."""
    _UNPICKLED.clear()


def _no_pickle(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("pickle was used")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)


def _npy(array: np.ndarray[Any, Any], version: tuple[int, int] = (1, 0)) -> bytes:
    buffer = io.BytesIO()
    npy_format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def _header(shape: tuple[int, ...], descr: str = "<c8") -> bytes:
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    npy_format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def _header_text(text: str) -> bytes:
    """A version 1.0 `.npy` member holding only this header text (padded as numpy pads)."""
    body = text.encode("latin1")
    body += b" " * (-(len(body) + 11) % 64) + b"\n"
    return npy_format.MAGIC_PREFIX + b"\x01\x00" + len(body).to_bytes(2, "little") + body


def _probe_header(path: Path) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """The shape and dtype of a numpy-written probe, as the library's header reader parses them."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("probeGuess.npy")
        with archive.open(info) as member:
            return _npz._read_header(member, info)[:2]


def _zip(
    path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_STORED, comment: bytes = b""
) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.comment = comment
    return path


def _patch_last_member(path: Path, size: int, method: int | None = None) -> Path:
    """The archive, its last member's size in the zip directory set to ``size`` bytes and, given
    ``method``, its compression method in both its headers set to that."""
    data = bytearray(path.read_bytes())
    local, central = data.rindex(b"PK\x03\x04"), data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = size.to_bytes(4, "little")  # uncompressed size
    if method is not None:
        data[local + 8] = data[central + 10] = method
    path.write_bytes(bytes(data))
    return path


def _probe(size: int = 64, dtype: str = "complex64") -> np.ndarray[Any, Any]:
    return np.ones((size, size), dtype=dtype)


class TestProbeSize:
    """`infer_probe_size` on files numpy wrote."""

    @pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
    @pytest.mark.parametrize("dtype", ["complex64", "float32"])
    @pytest.mark.parametrize("size", [64, 128, 256])
    def test_square_probe(self, tmp_path: Path, save: Any, dtype: str, size: int) -> None:
        """A square probe gives its side, without a warning."""
        path = tmp_path / "data.npz"
        save(path, probeGuess=_probe(size, dtype), diffraction=np.zeros((3, 8, 8)))
        assert size == infer_probe_size(path)
        assert size == infer_probe_size(str(path), strict=True)

    def test_fortran_order(self, tmp_path: Path) -> None:
        """A Fortran-ordered probe is read like any other."""
        path = tmp_path / "data.npz"
        np.savez(path, probeGuess=np.asfortranarray(_probe(128)))
        assert infer_probe_size(path, strict=True) == 128

    def test_non_square_warns(self, tmp_path: Path) -> None:
        """A non-square probe gives its first dimension with a warning naming the file."""
        path = tmp_path / "data.npz"
        np.savez(path, probeGuess=np.ones((64, 32), dtype="complex64"))
        with pytest.warns(UserWarning, match=r"not square.*first dimension, N = 64") as record:
            assert infer_probe_size(path) == 64
        assert str(path) in str(record[0].message)

    def test_non_square_strict(self, tmp_path: Path) -> None:
        """A non-square probe is an error when strict."""
        path = tmp_path / "data.npz"
        np.savez(path, probeGuess=np.ones((96, 32), dtype="complex64"))
        with pytest.raises(ProbeSizeError, match=r"\(96, 32\), not square; save a square"):
            infer_probe_size(path, strict=True)

    def test_one_dimensional(self, tmp_path: Path) -> None:
        """A 1-D probe falls back to 64 with a warning, or is an error when strict."""
        path = tmp_path / "data.npz"
        np.savez(path, probeGuess=np.ones(128, dtype="complex64"))
        with pytest.warns(
            UserWarning, match=r"shape \(128,\), not a non-empty 2-D.*default N = 64"
        ):
            assert infer_probe_size(path) == 64
        with pytest.raises(ProbeSizeError, match="save a 2-D probe or set N explicitly"):
            infer_probe_size(path, strict=True)

    def test_missing_key(self, tmp_path: Path) -> None:
        """A file without probeGuess falls back and says what the file holds."""
        path = tmp_path / "data.npz"
        np.savez(path, probe=_probe(), objectGuess=_probe())
        with pytest.warns(UserWarning, match=r"no probeGuess array \(it holds: objectGuess, probe"):
            assert infer_probe_size(path) == 64
        with pytest.raises(ProbeSizeError, match="add probeGuess to the file"):
            infer_probe_size(path, strict=True)

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file falls back with a warning, or raises ConfigFileNotFoundError."""
        path = tmp_path / "absent.npz"
        with pytest.warns(UserWarning, match=r"absent\.npz does not exist.*fix the path"):
            assert infer_probe_size(path) == 64
        with pytest.raises(ConfigFileNotFoundError, match="does not exist") as info:
            infer_probe_size(path, strict=True)
        assert isinstance(info.value, FileNotFoundError)
        assert isinstance(info.value, PtychoConfigError)

    def test_directory(self, tmp_path: Path) -> None:
        """A directory where the file should be is unreadable, not a crash."""
        with pytest.raises(ProbeSizeError, match="a directory, not a file"):
            infer_probe_size(tmp_path, strict=True)

    def test_error_lists_the_key(self, tmp_path: Path) -> None:
        """The strict error carries one problem for model.N."""
        path = _zip(tmp_path / "data.npz", {"x.npy": _npy(_probe())})
        with pytest.raises(ProbeSizeError) as info:
            infer_probe_size(path, strict=True)
        assert [problem.key for problem in info.value.problems] == ["model.N"]


class TestUnreadable:
    """Broken or hostile files are unreadable: a fallback, never a crash or a big read."""

    def test_object_array_is_never_unpickled(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An object probe is unreadable, and reading it unpickles nothing."""
        path = tmp_path / "data.npz"
        probe = np.empty((64, 64), dtype=object)
        probe[0, 0] = _Tripwire()
        np.savez(path, probeGuess=probe)
        with np.load(path, allow_pickle=True) as loaded:
            loaded["probeGuess"]
        assert _UNPICKLED == ["unpickled"]
        _UNPICKLED.clear()
        _no_pickle(monkeypatch)
        with pytest.warns(UserWarning, match="object array, which would need unpickling"):
            assert infer_probe_size(path) == 64
        with pytest.raises(ProbeSizeError, match="unpickling"):
            infer_probe_size(path, strict=True)
        assert _UNPICKLED == []

    def test_strict_read_of_a_file_without_probe(self, tmp_path: Path) -> None:
        """A strict read of a file without probeGuess raises, naming what is missing."""
        path = tmp_path / "data.npz"
        np.savez(path, objectGuess=np.ones((4, 4)))
        with pytest.raises(ProbeSizeError, match="has no probeGuess array"):
            infer_probe_size(path, strict=True)

    def test_truncated_zip(self, tmp_path: Path) -> None:
        """A zip cut in half is unreadable."""
        path = tmp_path / "data.npz"
        np.savez(path, probeGuess=_probe(128))
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        with pytest.warns(UserWarning, match="not a readable zip archive.*default N = 64"):
            assert infer_probe_size(path) == 64
        with pytest.raises(ProbeSizeError, match="re-save the file with numpy"):
            infer_probe_size(path, strict=True)

    def test_not_a_zip(self, tmp_path: Path) -> None:
        """A plain .npy file under an .npz name is unreadable."""
        path = tmp_path / "data.npz"
        np.save(path.with_suffix(".npy"), _probe())
        path.write_bytes(path.with_suffix(".npy").read_bytes())
        with pytest.raises(ProbeSizeError, match="not a readable zip archive"):
            infer_probe_size(path, strict=True)

    def test_garbage_directory(self, tmp_path: Path) -> None:
        """An end record within the bounds pointing at a directory that is garbage is
        unreadable, with zipfile's reason."""
        path = _zip(tmp_path / "data.npz", {"probeGuess.npy": _npy(_probe())})
        data = bytearray(path.read_bytes())
        entry = data.rindex(b"PK\x01\x02")
        data[entry : entry + 4] = b"junk"
        path.write_bytes(bytes(data))
        expected = r"not a readable zip archive \(Bad magic number for central directory\)"
        with pytest.raises(ProbeSizeError, match=expected):
            infer_probe_size(path, strict=True)

    def test_wrong_magic(self, tmp_path: Path) -> None:
        """A probeGuess.npy member holding garbage is unreadable."""
        path = _zip(tmp_path / "data.npz", {"probeGuess.npy": b"garbage, not an array" * 10})
        with pytest.raises(ProbeSizeError, match="magic string is not correct"):
            infer_probe_size(path, strict=True)

    def test_huge_shape_claim(self, tmp_path: Path) -> None:
        """A header claiming (10**9, 10**9) over a few bytes is unreadable and allocates nothing."""
        member = _header((10**9, 10**9)) + b"\0" * 16
        path = _zip(tmp_path / "data.npz", {"probeGuess.npy": member})
        tracemalloc.start()
        try:
            with pytest.raises(ProbeSizeError, match=r"declares \(1000000000, 1000000000\)"):
                infer_probe_size(path, strict=True)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1024 * 1024

    def test_header_shorter_than_member(self, tmp_path: Path) -> None:
        """A header that claims less data than the member holds is unreadable."""
        member = _header((64, 64)) + b"\0" * (64 * 64 * 8 + 8)
        path = _zip(tmp_path / "data.npz", {"probeGuess.npy": member}, zipfile.ZIP_DEFLATED)
        with pytest.raises(ProbeSizeError, match="zip directory says it holds"):
            infer_probe_size(path, strict=True)

    def test_huge_header_length(self, tmp_path: Path) -> None:
        """A version 2.0 header claiming 2 GiB of header is refused before it is read."""
        member = npy_format.MAGIC_PREFIX + b"\x02\x00" + (2**31).to_bytes(4, "little") + b"{}"
        path = _zip(tmp_path / "data.npz", {"probeGuess.npy": member})
        with pytest.raises(ProbeSizeError, match="header claims 2147483648 bytes"):
            infer_probe_size(path, strict=True)

    def test_unsupported_version(self, tmp_path: Path) -> None:
        """A .npy format version this reader does not know is unreadable."""
        member = npy_format.MAGIC_PREFIX + b"\x04\x00" + _header((64, 64))[8:]
        path = _zip(tmp_path / "data.npz", {"probeGuess.npy": member})
        with pytest.raises(ProbeSizeError, match=r"unsupported \.npy format version 4\.0"):
            infer_probe_size(path, strict=True)

    @pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
    def test_methods_numpy_never_writes_are_refused(self, tmp_path: Path, method: int) -> None:
        """bzip2 and LZMA members, which numpy never writes, are unreadable (and unread)."""
        metadata = _npy(np.array(json.dumps({"physics_parameters": {"nphotons": 5.0}})))
        members = {"probeGuess.npy": _npy(_probe(128)), "_metadata.npy": metadata}
        path = _zip(tmp_path / "data.npz", members, method)
        with pytest.raises(ProbeSizeError, match=f"zip method {method}, which numpy never"):
            infer_probe_size(path, strict=True)
        probe, metadata = (f"{name} .* zip method {method}" for name in ("probeGuess", "_metadata"))
        with pytest.warns(UserWarning, match=probe), pytest.warns(UserWarning, match=metadata):
            assert inspect_data_file(path).nphotons is None

    @pytest.mark.parametrize("flag", [0x1, 0x20, 0x40])
    def test_unsupported_zip_features_are_refused(self, tmp_path: Path, flag: int) -> None:
        """Encrypted, patched-data and strong-encryption members are unreadable, not a crash."""
        path = tmp_path / "data.npz"
        np.savez(path, probeGuess=_probe(128))
        data = bytearray(path.read_bytes())
        entry = data.rindex(b"PK\x01\x02")  # the member's central directory entry
        data[entry + 8] |= flag  # general-purpose flags, low byte
        path.write_bytes(bytes(data))
        with pytest.raises(ProbeSizeError, match=r"probeGuess\.npy cannot be read"):
            infer_probe_size(path, strict=True)

    def test_member_without_npy_suffix(self, tmp_path: Path) -> None:
        """A probeGuess member saved without the .npy suffix is found, as np.load finds it."""
        path = _zip(tmp_path / "data.npz", {"probeGuess": _npy(_probe(256))})
        assert 256 == infer_probe_size(path, strict=True)

    def test_oversized_directory_is_refused_unparsed(self, tmp_path: Path) -> None:
        """A directory listing more members than a data file holds is refused before parsing."""
        members = {"probeGuess.npy": _npy(_probe())}
        members |= {f"m{i}.npy": b"" for i in range(10_001)}
        path = _zip(tmp_path / "data.npz", members)
        with pytest.raises(ProbeSizeError, match="10002 members"):
            infer_probe_size(path, strict=True)

    def test_string_probe(self, tmp_path: Path) -> None:
        """A probe that is not numeric is unreadable."""
        path = tmp_path / "data.npz"
        np.savez(path, probeGuess=np.array([["a", "b"], ["c", "d"]]))
        with pytest.raises(ProbeSizeError, match="not a number"):
            infer_probe_size(path, strict=True)

    def test_deflated_member_is_read_only_as_far_as_its_header(self, tmp_path: Path) -> None:
        """Of a 2 MiB compressed probe, only a prefix is decompressed: a little memory."""
        path = tmp_path / "data.npz"
        noise = np.random.default_rng(0).standard_normal((512, 1024)).astype("float32")
        np.savez_compressed(path, probeGuess=noise.view("complex64"))
        assert path.stat().st_size > 1_000_000
        tracemalloc.start()
        try:
            assert infer_probe_size(path) == 512
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 256 * 1024

    def test_zip64_end_record_claiming_many_members_is_refused_unparsed(
        self, tmp_path: Path
    ) -> None:
        """A zip64 end record claiming millions of members is refused before parsing."""
        path = tmp_path / "z64.npz"
        limit = zipfile.ZIP64_LIMIT
        try:
            zipfile.ZIP64_LIMIT = 100
            _zip(path, {"probeGuess.npy": _npy(_probe(128))})
        finally:
            zipfile.ZIP64_LIMIT = limit
        data = bytearray(path.read_bytes())
        record = data.rindex(b"PK\x06\x06")
        data[record + 24 : record + 40] = (5_000_000).to_bytes(8, "little") * 2  # both counts
        path.write_bytes(bytes(data))
        with pytest.raises(ProbeSizeError, match="5000000 members"):
            infer_probe_size(path, strict=True)

    @pytest.mark.parametrize("shape", ["(True, True)", "(0128, 0128)", "(64.0, 64)", "(-64, -64)"])
    def test_shapes_numpy_would_not_write_are_refused(self, tmp_path: Path, shape: str) -> None:
        """A header shape of booleans, octal-looking or negative numbers is no size: unreadable
        (numpy's own reader refuses the octal form too)."""
        text = "{'descr': '<c8', 'fortran_order': False, 'shape': " + shape + ", }"
        text = text.ljust(117) + "\n"
        member = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode()
        path = _zip(tmp_path / "data.npz", {"probeGuess.npy": member + bytes(8)})
        with pytest.raises(ProbeSizeError, match=r"not a valid \.npy array|not a shape of sizes"):
            infer_probe_size(path, strict=True)
        with pytest.warns(UserWarning, match="default N = 64"):
            assert infer_probe_size(path) == 64

    def test_an_expression_in_a_header_is_named_the_same_on_every_read(
        self, tmp_path: Path
    ) -> None:
        """numpy's parser names an expression by an object's address; the message does not
        carry it, so two reads of one file say the same."""
        text = "{'descr': '<c8', 'fortran_order': False, 'shape': (64+1, 64), }".ljust(117) + "\n"
        member = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode()
        path = _zip(tmp_path / "data.npz", {"probeGuess.npy": member})
        messages = set()
        for _ in range(2):
            with pytest.raises(ProbeSizeError, match=r"not a valid \.npy array") as caught:
                infer_probe_size(path, strict=True)
            messages.add(str(caught.value))
        assert len(messages) == 1
        assert " at 0x" not in messages.pop()

    @given(st.binary(max_size=400))
    def test_any_member_bytes(self, member: bytes) -> None:
        """Whatever bytes a probeGuess.npy member holds, the outcome is a size or ProbeSizeError."""
        self._check_never_crashes({"probeGuess.npy": member})

    @given(st.integers(0, 200), st.binary(min_size=1, max_size=4))
    def test_corrupted_header(self, at: int, junk: bytes) -> None:
        """A valid member with a few bytes overwritten reads correctly or is unreadable."""
        member = bytearray(_npy(_probe(4)))
        member[at : at + len(junk)] = junk
        self._check_never_crashes({"probeGuess.npy": bytes(member)})

    @given(
        st.recursive(
            st.text(max_size=6) | st.integers(-3, 2**40) | st.booleans() | st.none(),
            lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner),
            max_leaves=8,
        ),
        st.recursive(st.integers(-2, 2**62), lambda inner: st.tuples(inner, inner), max_leaves=3),
    )
    def test_any_header_values(self, descr: object, shape: object) -> None:
        """Whatever literals a header gives as descr and shape, the outcome is a size or error."""
        text = repr({"descr": descr, "fortran_order": False, "shape": shape})
        for version, width in (((1, 0), 2), ((2, 0), 4)):
            head = npy_format.MAGIC_PREFIX + bytes(version) + len(text).to_bytes(width, "little")
            self._check_never_crashes({"probeGuess.npy": head + text.encode("latin1", "replace")})

    @given(st.text("{}()[]'\":,0123456789 abcdefopsr<>|=\n\t-_.#", max_size=120))
    def test_any_header_text(self, text: str) -> None:
        """Whatever text a header holds, the outcome is a size or ProbeSizeError."""
        head = npy_format.MAGIC_PREFIX + b"\x01\x00" + len(text).to_bytes(2, "little")
        self._check_never_crashes({"probeGuess.npy": head + text.encode()})

    @given(st.binary(max_size=600))
    def test_any_file_bytes(self, data: bytes) -> None:
        """Whatever bytes the file holds, the outcome is a size or ProbeSizeError."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, "data.npz")
            path.write_bytes(data)
            self._outcome(path)

    def _check_never_crashes(self, members: dict[str, bytes]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                self._outcome(_zip(Path(folder, f"{method}.npz"), members, method))

    @staticmethod
    def _outcome(path: Path) -> None:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            assert isinstance(infer_probe_size(path), int)
            assert inspect_data_file(path).nphotons is None


class TestFormatVersions:
    """Every .npy format version numpy writes is read, without numpy's data reader."""

    @pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
    @pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
    def test_version(self, tmp_path: Path, version: tuple[int, int], method: int) -> None:
        """A probe written in format version 1.0, 2.0 or 3.0 gives its shape and dtype."""
        member = _npy(_probe(128, "complex64"), version)
        assert bytes([version[0]]) == member[6:7]
        path = _zip(tmp_path / "data.npz", {"probeGuess.npy": member}, method)
        assert ((128, 128), np.dtype("complex64")) == _probe_header(path)
        assert infer_probe_size(path, strict=True) == 128

    def test_handmade_version_3(self, tmp_path: Path) -> None:
        """A hand-made version 3.0 header with a UTF-8 body is read."""
        text = "{'descr': '<f4', 'fortran_order': False, 'shape': (32, 32), }".ljust(118) + "\n"
        header = npy_format.MAGIC_PREFIX + b"\x03\x00" + len(text).to_bytes(4, "little")
        member = header + text.encode("utf8") + bytes(32 * 32 * 4)
        path = _zip(tmp_path / "data.npz", {"probeGuess.npy": member})
        assert infer_probe_size(path, strict=True) == 32

    @given(
        st.integers(1, 300),
        st.integers(1, 300),
        st.sampled_from(["float32", "complex64", "float64"]),
        st.booleans(),
    )
    def test_parsed_shape_is_written_shape(
        self, rows: int, cols: int, dtype: str, compressed: bool
    ) -> None:
        """For any 2-D shape and dtype numpy writes, the parsed header gives them back."""
        save = np.savez_compressed if compressed else np.savez
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, "data.npz")
            save(path, probeGuess=np.zeros((rows, cols), dtype=dtype))
            header = _probe_header(path)
        assert ((rows, cols), np.dtype(dtype)) == header

    def test_a_file_rewritten_in_place_is_read_afresh(self, tmp_path: Path) -> None:
        """Headers already seen are remembered by their text: a file rewritten with another
        shape, or another file written alike but for its shape, gives its own shape."""
        path = tmp_path / "data.npz"
        for size in (64, 128, 64, 32):
            np.savez(path, probeGuess=_probe(size))
            assert infer_probe_size(path, strict=True) == size
        other = tmp_path / "other.npz"
        np.savez(other, probeGuess=_probe(256))
        assert (infer_probe_size(path), infer_probe_size(other)) == (32, 256)

    def test_a_bad_header_fails_every_time(self, tmp_path: Path) -> None:
        """A header numpy cannot parse is refused on every read, never remembered as read."""
        member = bytearray(_npy(_probe(64)))
        member[10:16] = b"{'dsc'"  # the header's first key misspelt
        path = _zip(tmp_path / "data.npz", {"probeGuess.npy": bytes(member)})
        for _ in range(3):
            with pytest.raises(ProbeSizeError, match=r"not a valid \.npy array"):
                infer_probe_size(path, strict=True)

    @pytest.mark.parametrize(
        ("name", "text", "data", "said"),
        [  # numpy strips the L of a Python 2 shape; '|a7' is its deprecated name of '|S7'
            ("probeGuess", "'<c8', 'fortran_order': False, 'shape': (64L, 64L)", bytes(32768),
             (UserWarning, "created on Python 2")),
            # the same warning before numpy refuses the header (never remembered)
            ("probeGuess", "'zz', 'fortran_order': False, 'shape': (64L, 64L)", b"",
             (UserWarning, "created on Python 2")),
            ("_metadata", "'|a7', 'fortran_order': False, 'shape': ()", b"not it!",
             (DeprecationWarning, "alias 'a' was deprecated")),
        ],
    )  # fmt: skip
    def test_numpys_warnings_are_repeated_on_every_read(
        self, tmp_path: Path, name: str, text: str, data: bytes, said: tuple[type[Warning], str]
    ) -> None:
        """What numpy warns of while parsing a header is warned of on every read, as the
        library's own warnings are, though the parse of that header text is remembered, and
        when numpy refuses the header after the warning."""
        members = {"probeGuess.npy": _npy(_probe(64))}
        members[f"{name}.npy"] = _header_text(f"{{'descr': {text}, }}") + data
        path = _zip(tmp_path / "data.npz", members)
        for _ in range(3):
            with warnings.catch_warnings(record=True) as caught:  # the library's own too
                warnings.simplefilter("always")
                assert infer_probe_size(path) == 64
            assert any(w.category is said[0] and said[1] in str(w.message) for w in caught)

    def test_reading_many_distinct_headers_stays_small(self, tmp_path: Path) -> None:
        """Remembering headers is bounded: 600 files of distinct 4 KB headers cost no more
        memory than a few dozen."""
        paths = []
        for i in range(600):
            descr = f"[('f{i}', '<f4'), ('{'x' * 4000}', '<f4')]"  # a long header, refused
            text = f"{{'descr': {descr}, 'fortran_order': False, 'shape': (1,), }}"
            paths.append(_zip(tmp_path / f"{i}.npz", {"probeGuess.npy": _header_text(text)}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # each probe is refused: not a number
            infer_probe_size(paths[0])
            tracemalloc.start()
            try:
                for path in paths:
                    assert infer_probe_size(path) == 64
                kept = tracemalloc.get_traced_memory()[0]
            finally:
                tracemalloc.stop()
        assert kept < 1_000_000  # 600 such headers alone would take 2.4 MB

    @given(
        st.lists(st.integers(0, 2**40), max_size=4).map(tuple),
        st.sampled_from(["<f4", ">c8", "|u1", "<U7", "|S3", "<i8", "|b1", ">f2", "<m8[s]"]),
        st.booleans(),
        st.sampled_from([(1, 0), (2, 0)]),
    )
    def test_header_reading_agrees_with_numpy(
        self, shape: tuple[int, ...], descr: str, fortran: bool, version: tuple[int, int]
    ) -> None:
        """Any header numpy writes is read as numpy's own parser reads it."""
        buffer = io.BytesIO()
        header = {"descr": descr, "fortran_order": fortran, "shape": shape}
        writer = npy_format.write_array_header_1_0 if version == (1, 0) else None
        (writer or npy_format.write_array_header_2_0)(buffer, header)
        raw = buffer.getvalue()
        expected = npy_format.read_array_header_1_0 if version == (1, 0) else None
        expected = expected or npy_format.read_array_header_2_0
        want_shape, _, want_dtype = expected(io.BytesIO(raw[8:]))
        size = len(raw) + math.prod(shape) * np.dtype(descr).itemsize
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as writer:
            writer.writestr("probeGuess.npy", raw)
        with zipfile.ZipFile(archive) as reader, reader.open("probeGuess.npy") as member:
            info = zipfile.ZipInfo("probeGuess.npy")
            info.file_size = size  # what the whole array would take
            parsed = _npz._read_header(member, info)
        assert (want_shape, want_dtype, len(raw)) == parsed


def _with_metadata(path: Path, metadata: Any) -> Path:
    np.savez(path, probeGuess=_probe(), _metadata=metadata)
    return path


class TestNphotons:
    """nphotons is read from the `_metadata` JSON string, never from a pickled object."""

    def test_present(self, tmp_path: Path) -> None:
        """physics_parameters.nphotons in the metadata string is returned as a float."""
        metadata = json.dumps({"physics_parameters": {"nphotons": 1e9}, "other": [1, 2]})
        assert inspect_data_file(_with_metadata(tmp_path / "d.npz", metadata)).nphotons == 1e9

    def test_non_ascii_text(self, tmp_path: Path) -> None:
        """np.savez stores a str as a unicode array, decoded here with its non-ASCII text."""
        metadata = json.dumps(
            {"note": "é ✓", "physics_parameters": {"nphotons": 3}}, ensure_ascii=False
        )
        path = _with_metadata(tmp_path / "d.npz", metadata)
        with np.load(path) as loaded:
            assert loaded["_metadata"].dtype.kind == "U"
        assert inspect_data_file(path).nphotons == 3.0

    @pytest.mark.parametrize(
        "stored",
        [
            np.array(json.dumps({"physics_parameters": {"nphotons": 5e8}}).encode()),
            np.array([json.dumps({"physics_parameters": {"nphotons": 5e8}})]),
            np.array(json.dumps({"physics_parameters": {"nphotons": 5e8}}), dtype=">U80"),
        ],
        ids=["bytes", "one-element", "big-endian"],
    )
    def test_other_string_layouts(self, tmp_path: Path, stored: np.ndarray[Any, Any]) -> None:
        """Bytes, a one-element array and big-endian unicode are decoded too."""
        assert inspect_data_file(_with_metadata(tmp_path / "d.npz", stored)).nphotons == 5e8

    def test_absent(self, tmp_path: Path) -> None:
        """A file without `_metadata` gives None, quietly."""
        path = tmp_path / "d.npz"
        np.savez(path, probeGuess=_probe())
        assert inspect_data_file(path).nphotons is None

    def test_missing_path(self, tmp_path: Path) -> None:
        """Metadata without physics_parameters.nphotons gives None, quietly."""
        for metadata in ({"physics_parameters": {"other": 1}}, {"other": 1}, [1, 2], None):
            path = _with_metadata(tmp_path / "d.npz", json.dumps(metadata))
            assert inspect_data_file(path).nphotons is None

    def test_invalid_json(self, tmp_path: Path) -> None:
        """Metadata that is not JSON gives None with a warning naming the file."""
        path = _with_metadata(tmp_path / "d.npz", "{not json")
        with pytest.warns(UserWarning, match=r"_metadata in .*d\.npz is not valid JSON"):
            assert inspect_data_file(path).nphotons is None

    @pytest.mark.parametrize("value", [0, -5, "many", True, 1e400, 10**400])
    def test_unusable_value(self, tmp_path: Path, value: Any) -> None:
        """A nphotons that is not a positive finite number is ignored with a warning."""
        path = _with_metadata(
            tmp_path / "d.npz", json.dumps({"physics_parameters": {"nphotons": value}})
        )
        with pytest.warns(UserWarning, match="not a positive number"):
            assert inspect_data_file(path).nphotons is None

    @pytest.mark.parametrize(
        "metadata",
        [
            json.dumps({"physics_parameters": {"nphotons": 1e9}}),
            {"physics_parameters": {"nphotons": 1e9}},
        ],
        ids=["json-string", "dict"],
    )
    def test_pickled_metadata_of_the_reference(self, tmp_path: Path, metadata: Any) -> None:
        """A 0-d object array of a JSON string or a dict, as the reference stores it, is read."""
        path = tmp_path / "d.npz"
        np.savez(path, probeGuess=_probe(), _metadata=np.array(metadata, dtype=object))
        assert 1e9 == inspect_data_file(path).nphotons

    def test_pickled_metadata_from_numpy_1(self, tmp_path: Path) -> None:
        """A pickle naming numpy 1's module path for the array reconstruction is read too."""
        text = json.dumps({"physics_parameters": {"nphotons": 7.0}})
        buffer = io.BytesIO()
        npy_format.write_array_header_1_0(
            buffer, {"descr": "|O", "fortran_order": False, "shape": ()}
        )
        # protocol 3 names globals as text, so the module path can be swapped in place
        pickled = pickle.dumps(np.array(text, dtype=object), protocol=3)
        assert b"numpy._core.multiarray" in pickled
        member = buffer.getvalue() + pickled.replace(b"numpy._core", b"numpy.core")
        path = _zip(tmp_path / "d.npz", {"probeGuess.npy": _npy(_probe()), "_metadata.npy": member})
        assert 7.0 == inspect_data_file(path).nphotons

    def test_pickle_needing_another_global_is_refused_unrun(self, tmp_path: Path) -> None:
        """A metadata pickle that would call os.system is refused, and the command never runs."""
        marker = tmp_path / "ran"

        class Exploit:
            def __reduce__(self) -> tuple[Any, tuple[str]]:
                return (os.system, (f"touch {marker}",))

        stored = np.empty((), dtype=object)
        stored[()] = {"physics_parameters": {"nphotons": 1e9}, "x": Exploit()}
        path = _with_metadata(tmp_path / "d.npz", stored)
        with pytest.warns(UserWarning, match=r"its pickle needs (posix|os)\.system.*refused"):
            assert inspect_data_file(path).nphotons is None
        assert not marker.exists()

    def test_pickle_with_a_malformed_array_state_is_refused(self, tmp_path: Path) -> None:
        """An array pickle whose state is no array state is refused, not a crash."""
        from numpy._core.multiarray import _reconstruct

        class Odd:
            def __reduce__(self) -> tuple[Any, ...]:
                return (_reconstruct, (np.ndarray, (0,), b"b"), 5)

        buffer = io.BytesIO()
        header = {"descr": "|O", "fortran_order": False, "shape": ()}
        npy_format.write_array_header_1_0(buffer, header)
        member = buffer.getvalue() + pickle.dumps(Odd(), protocol=3)
        path = _zip(tmp_path / "d.npz", {"probeGuess.npy": _npy(_probe()), "_metadata.npy": member})
        with pytest.warns(UserWarning, match="its pickle cannot be read"):
            assert inspect_data_file(path).nphotons is None

    def test_pickle_of_a_bigger_array_is_refused(self, tmp_path: Path) -> None:
        """A pickled object array of several items is not metadata: its header's shape refuses
        it before anything is unpickled."""
        path = tmp_path / "d.npz"
        np.savez(path, probeGuess=_probe(), _metadata=np.array(["a", 1], dtype=object))
        with pytest.warns(UserWarning, match=r"is ignored: it is object of shape \(2,\), not one"):
            assert inspect_data_file(path).nphotons is None

    @pytest.mark.parametrize(
        ("pickled", "reason"),
        [
            (pickle.dumps(5, protocol=3), "its pickle holds no array"),
            (
                pickle.dumps(np.array(["a", 1], dtype=object), protocol=3),
                r"it pickles an array of shape \(2,\), not one object",
            ),
        ],
        ids=["int", "two-items"],
    )
    def test_pickle_under_a_0d_header_of_no_one_object(
        self, tmp_path: Path, pickled: bytes, reason: str
    ) -> None:
        """Under a 0-d object header, a pickle of no array or of an array of two items is
        ignored with a warning saying which."""
        member = _header((), "|O") + pickled
        path = _zip(tmp_path / "d.npz", {"probeGuess.npy": _npy(_probe()), "_metadata.npy": member})
        with pytest.warns(UserWarning, match=f"_metadata in .* is ignored: {reason}"):
            assert inspect_data_file(path).nphotons is None

    def test_member_ending_before_its_declared_size(self, tmp_path: Path) -> None:
        """A pickled `_metadata` whose zip directory declares more bytes than it holds (its
        CRC that of what it holds) is ignored with a warning saying where it ends."""
        path = tmp_path / "d.npz"
        stored = np.array({"physics_parameters": {"nphotons": 1e9}}, dtype=object)
        np.savez_compressed(path, probeGuess=_probe(), _metadata=stored)
        with zipfile.ZipFile(path) as archive:
            size = archive.getinfo("_metadata.npy").file_size
        _patch_last_member(path, size + 100)
        ends = f"it ends after {size} of its {size + 100} bytes"
        with pytest.warns(UserWarning, match=f"_metadata in .* is ignored: {ends}"):
            assert inspect_data_file(path).nphotons is None

    def test_text_of_no_character(self, tmp_path: Path) -> None:
        """A `<U1` `_metadata` whose four bytes are no UTF-32 character is ignored with a
        warning."""
        member = _header((), "<U1") + b"\xff\xff\xff\xff"
        path = _zip(tmp_path / "d.npz", {"probeGuess.npy": _npy(_probe()), "_metadata.npy": member})
        with pytest.warns(UserWarning, match="is ignored: its text cannot be read"):
            assert inspect_data_file(path).nphotons is None

    def test_data_failing_midway(self, tmp_path: Path) -> None:
        """A deflated `_metadata` whose compressed data turns corrupt after its header (and
        the first read) is ignored with a warning, not a crash."""
        header = _header((), "|S20000")
        packer = zlib.compressobj(wbits=-15)  # raw deflate, as a zip member holds it
        data = packer.compress(header + b" " * 8000) + packer.flush(zlib.Z_FULL_FLUSH)
        data += b"\xff" * 16  # a block of the reserved type 3
        path = _zip(tmp_path / "d.npz", {"probeGuess.npy": _npy(_probe()), "_metadata.npy": data})
        _patch_last_member(path, len(header) + 20_000, zipfile.ZIP_DEFLATED)
        with pytest.warns(UserWarning, match=r"its data cannot be read \(.*invalid block type"):
            assert inspect_data_file(path).nphotons is None

    @given(st.binary(max_size=300))
    def test_any_pickle_bytes(self, body: bytes) -> None:
        """Whatever bytes follow an object header, the outcome is a number, None or a warning."""
        buffer = io.BytesIO()
        npy_format.write_array_header_1_0(
            buffer, {"descr": "|O", "fortran_order": False, "shape": ()}
        )
        with tempfile.TemporaryDirectory() as folder:
            members = {"probeGuess.npy": _npy(_probe()), "_metadata.npy": buffer.getvalue() + body}
            path = _zip(Path(folder) / "d.npz", members)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = inspect_data_file(path).nphotons
        assert result is None or result > 0
        assert _UNPICKLED == []

    def test_too_big(self, tmp_path: Path) -> None:
        """A metadata string over 256 KiB is not read, and the warning states the limit."""
        path = _with_metadata(tmp_path / "d.npz", " " * (300 * 1024) + "{}")
        with pytest.warns(UserWarning, match="over the 256 KiB metadata limit"):
            assert inspect_data_file(path).nphotons is None


class TestInspectDataFile:
    """`inspect_data_file` gives the factories every fact and why a default was used."""

    def test_clean(self, tmp_path: Path) -> None:
        """A clean file gives its probe size, no fallback and its nphotons."""
        metadata = json.dumps({"physics_parameters": {"nphotons": 2e6}})
        facts = inspect_data_file(_with_metadata(tmp_path / "d.npz", metadata))
        assert (facts.probe_size, facts.probe_fallback, facts.nphotons) == (64, None, 2e6)

    def test_fallback_reason(self, tmp_path: Path) -> None:
        """A fallback says why, for provenance, and warns."""
        with pytest.warns(UserWarning, match="does not exist"):
            facts = inspect_data_file(tmp_path / "absent.npz")
        assert f"data file {tmp_path / 'absent.npz'} does not exist" == facts.probe_fallback

    def test_non_square_is_not_a_fallback(self, tmp_path: Path) -> None:
        """A non-square probe gives its first dimension: a warning, not a fallback."""
        path = tmp_path / "d.npz"
        np.savez(path, probeGuess=np.ones((40, 20)))
        with pytest.warns(UserWarning, match="not square"):
            facts = inspect_data_file(path)
        assert (facts.probe_size, facts.probe_fallback) == (40, None)


class TestLazyNumpy:
    """numpy is imported only when a header is parsed."""

    def test_import_does_not_import_numpy(self) -> None:
        """Importing the module leaves numpy unimported."""
        code = "import sys, ptycho_config._datafiles.npz; print('numpy' in sys.modules)"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.stdout.strip() == "False", result.stderr


def _zip64_directory(name: str, data: bytes) -> bytes:
    """A stored one-member archive whose directory entry keeps its sizes and offset in a zip64
    extra field, as writers do for members past 4 GiB."""
    import struct

    encoded = name.encode()
    crc = zlib.crc32(data)
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 45, 0, 0, 0, 0, crc, len(data), len(data),
                        len(encoded), 0) + encoded  # fmt: skip
    extra = struct.pack("<2H3Q", 0x0001, 24, len(data), len(data), 0)
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 45, 45, 0, 0, 0, 0, crc,
                          0xFFFFFFFF, 0xFFFFFFFF, len(encoded), len(extra), 0, 0, 0, 0,
                          0xFFFFFFFF) + encoded + extra  # fmt: skip
    start = len(local) + len(data)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), start, 0)
    return local + data + central + end


class TestDirectoryLayouts:
    """The directory reader follows the zip format's variants that data files can have."""

    def test_zip64_directory_entry(self, tmp_path: Path) -> None:
        """Sizes and offset kept in a zip64 extra field are read from there."""
        archive = _zip64_directory("probeGuess.npy", _npy(_probe(128)))
        path = tmp_path / "z64.npz"
        path.write_bytes(archive)
        assert (128, 128) == np.load(path)["probeGuess"].shape
        assert 128 == infer_probe_size(path, strict=True)

    def test_bytes_before_the_zip(self, tmp_path: Path) -> None:
        """An archive after other bytes (a self-extracting stub) is read at its real offsets."""
        plain = _zip(tmp_path / "p.npz", {"probeGuess.npy": _npy(_probe(256))})
        shifted = tmp_path / "shifted.npz"
        shifted.write_bytes(b"#!stub\n" * 100 + plain.read_bytes())
        with zipfile.ZipFile(shifted) as check:
            assert ["probeGuess.npy"] == check.namelist()
        assert 256 == infer_probe_size(shifted, strict=True)

    def test_header_longer_than_the_first_read(self, tmp_path: Path) -> None:
        """A header padded past the first small read is read whole, as np.load reads it."""
        text = "{'descr': '<c8', 'fortran_order': False, 'shape': (128, 128), }"
        padded = (text + " " * (758 - len(text) - 1) + "\n").encode("latin1")
        member = b"\x93NUMPY\x01\x00" + len(padded).to_bytes(2, "little") + padded
        member += np.zeros((128, 128), np.complex64).tobytes()
        path = _zip(tmp_path / "long.npz", {"probeGuess.npy": member})
        assert (128, 128) == np.load(path)["probeGuess"].shape
        assert 128 == infer_probe_size(path, strict=True)

    @pytest.mark.parametrize("comment", [b"", b"written by a tool"])
    def test_zip64_end_record(self, tmp_path: Path, comment: bytes) -> None:
        """An archive with a zip64 end record (a directory past 4 GiB, here forced small) is
        read as numpy reads it, with or without an archive comment."""
        path = tmp_path / "z64.npz"
        limit = zipfile.ZIP64_LIMIT
        try:
            zipfile.ZIP64_LIMIT = 100  # what a file of several GiB gets, in a few KiB
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("other.npy", _npy(np.zeros(3000)))
                archive.writestr("probeGuess.npy", _npy(_probe(128)))
                archive.comment = comment
        finally:
            zipfile.ZIP64_LIMIT = limit
        assert b"PK\x06\x06" in path.read_bytes()
        assert (128, 128) == np.load(path)["probeGuess"].shape
        assert 128 == infer_probe_size(path, strict=True)

    def test_zip64_locator_without_its_record(self, tmp_path: Path) -> None:
        """Bytes that read as a zip64 locator (here the end of a member's comment) with no
        zip64 end record before them: the plain end record's counts are checked, not the
        bytes where the record would be, and the file reads as zipfile reads it."""
        locator = b"PK\x06\x07" + bytes(4) + bytes(8) + (1).to_bytes(4, "little")
        info = zipfile.ZipInfo("probeGuess.npy")
        info.comment = b"\xff" * 60 + locator  # 2**64 - 1 where a record's counts would be
        path = tmp_path / "d.npz"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(info, _npy(_probe(128)))
        try:
            zipfile.ZipFile(path).close()
        except zipfile.BadZipFile:  # a zipfile that looks for the record where it points
            with pytest.raises(ProbeSizeError, match="not a readable zip archive"):
                infer_probe_size(path, strict=True)
        else:
            assert 128 == infer_probe_size(path, strict=True)

    def test_a_name_twice_reads_the_last(self, tmp_path: Path) -> None:
        """A member name written twice reads as np.load reads it: the last one."""
        path = tmp_path / "twice.npz"
        with (
            warnings.catch_warnings(),
            zipfile.ZipFile(path, "w") as archive,
        ):
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
            archive.writestr("probeGuess.npy", _npy(_probe(64)))
            archive.writestr("probeGuess.npy", _npy(_probe(128)))
        assert (128, 128) == np.load(path)["probeGuess"].shape
        assert 128 == infer_probe_size(path, strict=True)


class TestReads:
    """Whatever the layout, a data file is read as np.load reads it, and closed after."""

    @pytest.mark.parametrize(
        ("others", "comment"),
        [(300, 0), (100, 3_000), (0, 10_000), (0, 65_535)],
        ids=["long-directory", "record-in-first-read", "comment", "longest-comment"],
    )
    @pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
    def test_long_directory_or_comment(
        self, tmp_path: Path, others: int, comment: int, method: int
    ) -> None:
        """A directory of many members, or an end record before a long archive comment, is
        found and read."""
        members = {"probeGuess.npy": _npy(_probe(128))}  # at the directory's start
        members |= {f"other{i:04d}.npy": _npy(np.zeros(1)) for i in range(others)}
        path = _zip(tmp_path / "d.npz", members, method, b"#" * comment)
        assert (128, 128) == np.load(path)["probeGuess"].shape
        assert 128 == infer_probe_size(path, strict=True)

    @pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
    def test_local_header_with_a_long_extra_field(self, tmp_path: Path, method: int) -> None:
        """A local header whose extra field is long is read past."""
        info = zipfile.ZipInfo("probeGuess.npy")
        info.compress_type = method
        info.extra = (0xCAFE).to_bytes(2, "little") + (2000).to_bytes(2, "little") + bytes(2000)
        path = tmp_path / "d.npz"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(info, _npy(_probe(128)))
        assert (128, 128) == np.load(path)["probeGuess"].shape
        assert 128 == infer_probe_size(path, strict=True)

    @pytest.mark.parametrize("comment", [b"", b"written by a tool"])
    @pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
    def test_probe_and_metadata(self, tmp_path: Path, method: int, comment: bytes) -> None:
        """Probe size and nphotons come from one reading, stored or deflated, with a comment."""
        metadata = _npy(np.array(json.dumps({"physics_parameters": {"nphotons": 5.0}})))
        members = {"probeGuess.npy": _npy(_probe(128)), "_metadata.npy": metadata}
        path = _zip(tmp_path / "d.npz", members, method, comment)
        facts = inspect_data_file(path, strict=True)
        assert (128, 5.0) == (facts.probe_size, facts.nphotons)

    @pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
    def test_every_descriptor_is_closed(self, tmp_path: Path) -> None:
        """A reading closes the file it opened, whether it succeeds or fails."""
        good = tmp_path / "good.npz"
        np.savez(good, probeGuess=_probe())
        cut = tmp_path / "cut.npz"
        cut.write_bytes(good.read_bytes()[:-30])
        other = _zip(tmp_path / "other.npz", {"probeGuess.npy": b"not an array"})
        before = len(os.listdir("/proc/self/fd"))
        for path in (good, cut, other):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                infer_probe_size(path)
                inspect_data_file(path)
            with pytest.raises(ProbeSizeError) if path != good else contextlib.nullcontext():
                infer_probe_size(path, strict=True)
        assert before == len(os.listdir("/proc/self/fd"))
