"""Every input path (SPEC §15): odd and hostile input ends in a documented outcome, quickly.

One class per kind of input problem: bounded decompression, regular files with size caps,
wrong results made loud, messages, legacy and snapshots, and the error contract itself.
FIFO and device cases run under an alarm, so a regression fails instead of hanging.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.lib import format as npy_format

import ptycho.params
from ptycho_config import (
    BackendUnavailableError,
    ConfigFileNotFoundError,
    ConflictError,
    FileReadError,
    InvalidValueError,
    OutputError,
    ProbeSizeError,
    Problem,
    PtychoConfigError,
    SnapshotError,
    TrainingConfig,
    UnknownKeyError,
    _errors,
    create_inference_payload,
    create_training_payload,
    infer_probe_size,
    load_snapshot,
    resolve_training,
    save_snapshot,
)
from ptycho_config.__main__ import main
from ptycho_config._datafiles.npz import inspect_data_file
from ptycho_config._schemas.types import MAX_COUNT
from tests.conftest import CPU, make_model_dir, write_npz
from tests.data.bombs.make_bombs import BOMB_MIB, MEMBERS, METHODS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail the test (instead of hanging) if it blocks for more than 10 seconds."""

    def timeout(signum: int, frame: object) -> None:
        raise TimeoutError("blocked for 10 s: a FIFO or device was read")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(10)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _probe_file(path: Path, size: int = 64) -> Path:
    np.savez(path, probeGuess=np.ones((size, size), np.complex64))
    return path


def _train(data: Path, out: Path, overrides: dict[str, Any] | None = None, **kw: Any) -> Any:
    return create_training_payload(data, out, {"n_groups": 4, **(overrides or {})}, CPU, **kw)


# -- 1. bounded decompression ------------------------------------------------------------------


@pytest.fixture(scope="module")
def bombs() -> list[Path]:
    """A probe bomb and a metadata bomb for every compression method zipfile writes
    (written once by tests/data/bombs/make_bombs.py: compressing them takes seconds)."""
    paths = sorted((ROOT / "tests" / "data" / "bombs").glob("*.npz"))
    for path in paths:  # each is what it claims: a member that inflates past the bound
        with zipfile.ZipFile(path) as archive:
            [info] = archive.infolist()
        assert info.file_size > BOMB_MIB * 2**20 > 100 * 2**20, path
    assert {f"{m}-{n}.npz" for m in METHODS for n in MEMBERS} == {p.name for p in paths}
    return paths


class TestBoundedDecompression:
    """Any NPZ, of any compression method, costs < 1 s and < 100 MB."""

    def test_memory_and_time_of_every_method(self, bombs: list[Path]) -> None:
        """In a fresh process, reading every bomb peaks under 100 MB and 1 s per file."""
        # ru_maxrss survives exec on Linux (it would report pytest's peak), so the reading
        # runs in a forked child and its peak is read as RUSAGE_CHILDREN
        script = textwrap.dedent(
            """
            import os, resource, sys, time, warnings
            from ptycho_config._datafiles.npz import infer_probe_size, inspect_data_file
            pid = os.fork()
            if pid == 0:
                slowest = 0.0
                for path in sys.argv[1:]:
                    start = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        infer_probe_size(path)
                        inspect_data_file(path)
                        try:
                            infer_probe_size(path, strict=True)
                        except ValueError:
                            pass
                    slowest = max(slowest, time.perf_counter() - start)
                print(slowest, flush=True)
                os._exit(0)
            os.waitpid(pid, 0)
            print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
            """
        )
        result = subprocess.run(
            [sys.executable, "-c", script, *map(str, bombs)],
            capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
        )  # fmt: skip
        assert 0 == result.returncode, result.stderr
        slowest, peak = map(float, result.stdout.split())
        assert (True, True) == (slowest < 1.0, peak < 100 * 2**20), (slowest, peak)

    @pytest.mark.parametrize("method", METHODS)
    def test_bomb_outcome_is_documented(self, bombs: list[Path], method: str) -> None:
        """A deflated probe bomb gives its header's shape (so: the fallback), its data never
        read; a bzip2 or LZMA one is refused unread, as numpy never writes those methods."""
        path = next(p for p in bombs if p.name == f"{method}-probeGuess.npy.npz")
        outcome = r"has shape \(16777216,\), not a non-empty 2-D"
        with pytest.warns(UserWarning, match=outcome if method == "deflate" else "never writes"):
            assert 64 == infer_probe_size(path)

    @pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
    def test_every_method_numpy_writes_reads_a_real_probe(
        self, tmp_path: Path, method: int
    ) -> None:
        """A probe stored or deflated, as numpy writes them, is read as np.load reads it."""
        buffer = io.BytesIO()
        npy_format.write_array(buffer, np.ones((128, 128), np.float32))
        path = tmp_path / "d.npz"
        with zipfile.ZipFile(path, "w", compression=method) as archive:
            archive.writestr("probeGuess.npy", buffer.getvalue())
        assert 128 == infer_probe_size(path, strict=True)

    def test_unknown_method_is_refused(self, tmp_path: Path) -> None:
        """A member compressed with a method numpy never writes is refused, not decoded."""
        path = _probe_file(tmp_path / "d.npz")
        data = bytearray(path.read_bytes())
        entry = data.rindex(b"PK\x01\x02")
        data[entry + 10 : entry + 12] = (9).to_bytes(2, "little")  # deflate64
        path.write_bytes(bytes(data))
        with pytest.raises(PtychoConfigError, match="zip method 9, which numpy never writes"):
            infer_probe_size(path, strict=True)

    @pytest.mark.parametrize("method", METHODS.values(), ids=list(METHODS))
    @given(stream=st.binary(max_size=300), claimed=st.integers(0, 2**40))
    def test_any_compressed_stream(self, method: int, stream: bytes, claimed: int) -> None:
        """Any bytes as a member's compressed stream, any claimed size: a size or a fallback."""
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "d.npz"
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("probeGuess.npy", stream)
            data = bytearray(path.read_bytes())
            central = data.rindex(b"PK\x01\x02")
            data[8:10] = data[central + 10 : central + 12] = method.to_bytes(2, "little")
            data[central + 24 : central + 28] = min(claimed, 2**32 - 2).to_bytes(4, "little")
            path.write_bytes(bytes(data))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert infer_probe_size(path) >= 1


# -- 2. regular files only, with size caps -----------------------------------------------------


def _special(path: Path, kind: str) -> Path:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev_zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    return path


SPECIAL = ["fifo", "dev_zero", "directory"]


@pytest.mark.usefixtures("alarm")
class TestRegularFilesOnly:
    """A FIFO, a device or a directory is refused at once wherever a file is read."""

    def test_a_regular_file_with_nothing_ready(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A kernel file such as /proc/kmsg is regular, yet a non-blocking read of it finds
        nothing ready (Python's read returns None): the file's error, never a crash."""

        class NothingReady(io.BufferedReader):
            def read(self, size: int | None = -1) -> None:  # type: ignore[override]
                return None

        config, data = tmp_path / "c.yaml", _probe_file(tmp_path / "d.npz")
        config.write_text("nepochs: 3\n")
        monkeypatch.setattr(os, "fdopen", lambda fd, mode: NothingReady(io.FileIO(fd, "rb")))
        with pytest.raises(FileReadError, match=f"^cannot read config file {config}: "):
            resolve_training(environ={}, config_file=config)
        with pytest.raises(ProbeSizeError, match=f"^cannot read probeGuess from {data}: "):
            infer_probe_size(data, strict=True)

    @pytest.mark.parametrize("kind", SPECIAL)
    def test_config_file(self, tmp_path: Path, kind: str) -> None:
        """--config, config_file= and PTYCHO_CONFIG_FILE refuse it as 'cannot read config file'."""
        path = _special(tmp_path / "c.yaml", kind)
        with pytest.raises(FileReadError, match=r"cannot read config file .*not a"):
            resolve_training(environ={}, config_file=path)
        with pytest.raises(FileReadError, match="cannot read config file"):
            resolve_training(environ={"PTYCHO_CONFIG_FILE": str(path)})

    @pytest.mark.parametrize("kind", SPECIAL)
    def test_snapshot(self, tmp_path: Path, kind: str, capsys: Any) -> None:
        """A snapshot that is no regular file cannot be read, as every other input file:
        a FileReadError saying what it is, exit 5 on the command line (not a SnapshotError,
        which says the content is wrong)."""
        model = make_model_dir(tmp_path / "model")
        _special(model / "ptycho_config.json", kind)
        with pytest.raises(FileReadError, match=r"cannot read checkpoint snapshot .*it is a"):
            load_snapshot(model)
        data = write_npz(tmp_path / "t.npz")
        argv = ["infer", "--model-path", str(model), "--test-data", str(data)]
        assert 5 == main([*argv, "--output-dir", "o", "--set", "n_groups=4"])
        assert "cannot read checkpoint snapshot" in capsys.readouterr().err

    def test_snapshot_directory_is_a_file(self, tmp_path: Path) -> None:
        """load_snapshot of a file, not a directory: a FileReadError naming it."""
        path = tmp_path / "model"
        path.write_text("", encoding="utf-8")
        with pytest.raises(FileReadError, match=r"cannot read checkpoint snapshot"):
            load_snapshot(path)

    @pytest.mark.parametrize("kind", SPECIAL)
    def test_probe_header_and_data_file(self, tmp_path: Path, kind: str) -> None:
        """A strict read raises, infer_probe_size falls back, training refuses the file."""
        path = _special(tmp_path / "d.npz", kind)
        with pytest.raises(PtychoConfigError, match="not a"):
            infer_probe_size(path, strict=True)
        with pytest.warns(UserWarning, match="not a"):
            assert 64 == infer_probe_size(path)
        with pytest.raises(FileReadError, match="not a"):
            _train(path, tmp_path / "out", environ={})

    def test_big_yaml_is_refused_quickly(self, tmp_path: Path) -> None:
        """A 20 MB YAML file is refused by its size in well under a second, not parsed."""
        path = tmp_path / "big.yaml"
        path.write_text("training:\n" + "  # padding\n" * 2_000_000, encoding="utf-8")
        start = time.perf_counter()
        with pytest.raises(FileReadError, match="larger than 1024 KiB, the limit for a config"):
            resolve_training(environ={}, config_file=path)
        assert time.perf_counter() - start < 1.0

    @pytest.mark.parametrize("what", ["config_file", "env_file"])
    def test_a_file_of_exactly_one_mib_is_read(self, tmp_path: Path, what: str) -> None:
        """The cap of a config or .env file is 1 MiB exactly: that size is read, a byte more
        is refused."""
        path = tmp_path / ("c.json" if what == "config_file" else "run.env")
        text = '{"nepochs": 3}' if what == "config_file" else "PTYCHO_NEPOCHS=3\n"
        path.write_text(text + " " * (2**20 - len(text)), encoding="utf-8")
        assert 3 == resolve_training(environ={}, **{what: path}).training_config.nepochs
        path.write_text(text + " " * (2**20 + 1 - len(text)), encoding="utf-8")
        with pytest.raises(FileReadError, match="larger than 1024 KiB"):
            resolve_training(environ={}, **{what: path})

    def test_big_snapshot_is_refused(self, tmp_path: Path) -> None:
        """A snapshot over 4 MiB is a FileReadError naming the limit, as an oversized config
        file is."""
        (tmp_path / "ptycho_config.json").write_bytes(b" " * (4 * 2**20 + 1))
        with pytest.raises(FileReadError, match="larger than 4096 KiB"):
            load_snapshot(tmp_path)


# -- 3. the command line is covered in test_cli.py (TestNoTraceback) ---------------------------


class TestNoBarePermissionError:
    """The Python API turns a permission problem into the library's error."""

    def test_unreadable_model_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A model directory without read permission is a FileReadError, also an OSError."""
        model = tmp_path / "m"
        make_model_dir(model)
        data = _probe_file(tmp_path / "d.npz")
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, m: Path(p) != model and real_access(p, m))
        with pytest.raises(FileReadError, match="permission denied") as caught:
            create_inference_payload(model, data, tmp_path / "o", {"n_groups": 1}, environ={})
        assert isinstance(caught.value, OSError)

    def test_model_directory_in_a_loop_of_symlinks(self, tmp_path: Path) -> None:
        """A model path that is a loop of symlinks is a FileReadError naming the path and the
        loop, not a bare OSError."""
        model = tmp_path / "a"
        model.symlink_to(tmp_path / "b")
        (tmp_path / "b").symlink_to(model)
        data = _probe_file(tmp_path / "d.npz")
        expected = f"^cannot read model directory {model}: Too many levels of symbolic links"
        with pytest.raises(FileReadError, match=expected):
            create_inference_payload(model, data, tmp_path / "o", {"n_groups": 1}, environ={})

    def test_a_directory_no_system_call_takes(self, tmp_path: Path) -> None:
        """A lone surrogate (JSON's "\\ud800") cannot be encoded for the system: a model or
        secrets directory so named is a FileReadError, as a config file so named is."""
        data = _probe_file(tmp_path / "d.npz")
        with pytest.raises(FileReadError, match="cannot read model directory"):
            create_inference_payload("\ud800", data, tmp_path / "o", {"n_groups": 1}, environ={})
        with pytest.raises(FileReadError, match="cannot read secrets directory"):
            resolve_training({"n_groups": 1}, environ={}, secrets_dir="\ud800")

    def test_a_dangling_secret_file(self, tmp_path: Path) -> None:
        """A secret file that is a symlink to nothing is the library's missing-file error."""
        (tmp_path / "PTYCHO_NEPOCHS").symlink_to(tmp_path / "gone")
        with pytest.raises(ConfigFileNotFoundError, match="PTYCHO_NEPOCHS"):
            resolve_training({"n_groups": 1}, environ={}, secrets_dir=tmp_path)

    def test_unwritable_snapshot_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """save_snapshot into a directory it may not write is an OutputError, nothing left."""
        payload = _train(_probe_file(tmp_path / "d.npz"), tmp_path / "o", environ={})
        model = tmp_path / "m"
        model.mkdir()

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr("tempfile.mkstemp", refuse)
        with pytest.raises(OutputError, match="cannot write checkpoint snapshot"):
            save_snapshot(payload, model)
        assert [] == list(model.iterdir())


# -- 4. wrong results made loud ----------------------------------------------------------------


class TestDuplicateKeys:
    """A key given twice in one JSON or YAML document is an error naming the key and the file."""

    @pytest.mark.parametrize(
        ("name", "text"),
        [
            ("c.json", '{"nepochs": 2, "nepochs": 3}'),
            ("c.json", '{"training": {"nepochs": 2, "nepochs": 3}}'),
            ("c.yaml", "nepochs: 2\nnepochs: 3\n"),
            ("c.yaml", "training:\n  nepochs: 2\n  nepochs: 3\n"),
        ],
    )
    def test_duplicate(self, tmp_path: Path, name: str, text: str) -> None:
        """The error names 'nepochs' and the file; no value silently wins."""
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InvalidValueError, match=rf"{name} gives key 'nepochs' twice"):
            resolve_training(environ={}, config_file=path)

    def test_duplicate_in_a_snapshot(self, tmp_path: Path) -> None:
        """A snapshot giving a key twice is a SnapshotError naming the key and the file."""
        (tmp_path / "ptycho_config.json").write_text('{"kind": 1, "kind": 2}', encoding="utf-8")
        with pytest.raises(SnapshotError, match=r"ptycho_config\.json .*key 'kind' twice"):
            load_snapshot(tmp_path)

    def test_yaml_merge_keys_are_no_duplicates(self, tmp_path: Path) -> None:
        """A YAML merge ('<<') is not a key given twice."""
        path = tmp_path / "c.yaml"
        path.write_text("training:\n  <<: {nepochs: 3}\n  batch_size: 8\n", encoding="utf-8")
        assert 3 == resolve_training(environ={}, config_file=path).training_config.nepochs


class TestWrongResultsMadeLoud:
    """Inputs that used to give a quietly wrong configuration are errors or warnings."""

    @pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04 truncated"])
    def test_training_file_that_is_no_npz(self, tmp_path: Path, content: bytes) -> None:
        """A training file that is no readable NPZ is a FileReadError, not N = 64 and exit 0."""
        path = tmp_path / "t.npz"
        path.write_bytes(content)
        with pytest.raises(FileReadError, match="training data file is not a readable NPZ file"):
            _train(path, tmp_path / "o", environ={})
        assert not (tmp_path / "o").exists()

    def test_test_file_that_is_no_npz(self, tmp_path: Path) -> None:
        """A test data file that is no readable NPZ is a FileReadError for inference too."""
        model = tmp_path / "m"
        make_model_dir(model)
        (tmp_path / "t.npz").write_bytes(b"not a zip")
        with pytest.raises(FileReadError, match="test data file is not a readable NPZ file"):
            create_inference_payload(model, tmp_path / "t.npz", tmp_path / "o", {"n_groups": 1})

    def test_missing_probe_keeps_the_fallback(self, tmp_path: Path) -> None:
        """A readable NPZ without probeGuess still falls back to 64, recorded in provenance."""
        path = tmp_path / "t.npz"
        np.savez(path, other=np.zeros(3))
        with pytest.warns(UserWarning, match="has no probeGuess"):
            payload = _train(path, tmp_path / "o", environ={})
        assert payload.provenance["model.N"].detail.startswith("fallback 64")

    def test_explicit_n_contradicting_the_data(self, tmp_path: Path) -> None:
        """An N from the environment that disagrees with probeGuess warns and is in provenance."""
        path = _probe_file(tmp_path / "t.npz", 128)
        with pytest.warns(UserWarning, match=r"contradicts probeGuess in t\.npz \(N = 128\)"):
            payload = _train(path, tmp_path / "o", environ={"PTYCHO_N": "64"})
        source = payload.provenance["model.N"]
        assert ("env", "PTYCHO_N; contradicts probeGuess in t.npz (N = 128)") == (
            source.kind, source.detail,
        )  # fmt: skip

    def test_contradiction_is_an_error_when_strict(self, tmp_path: Path) -> None:
        """With strict=True the contradiction is a ConflictError naming both, changing nothing."""
        path = _probe_file(tmp_path / "t.npz", 128)
        before = dict(ptycho.params.cfg)
        with pytest.raises(ConflictError, match=r"model\.N = 64 .*contradicts.*N = 128"):
            _train(path, tmp_path / "o", {"N": 64}, environ={}, strict=True)
        assert before == dict(ptycho.params.cfg)

    def test_strict_inference_too(self, tmp_path: Path) -> None:
        """create_inference_payload(strict=True) refuses an N that contradicts the test data."""
        model = tmp_path / "m"
        make_model_dir(model)
        data = _probe_file(tmp_path / "t.npz", 128)
        with pytest.raises(ConflictError, match=r"contradicts probeGuess in t\.npz"):
            create_inference_payload(
                model, data, tmp_path / "o", {"n_groups": 1, "N": 256}, environ={}, strict=True
            )

    def test_strict_refuses_a_missing_probe(self, tmp_path: Path) -> None:
        """With strict=True a data file without probeGuess is a ProbeSizeError, no fallback."""
        path = tmp_path / "t.npz"
        np.savez(path, other=np.zeros(3))
        with pytest.raises(ProbeSizeError, match="has no probeGuess"):
            _train(path, tmp_path / "o", environ={}, strict=True)

    def test_agreeing_n_is_quiet(self, tmp_path: Path) -> None:
        """An explicit N equal to the data's probe size neither warns nor changes provenance."""
        path = _probe_file(tmp_path / "t.npz", 128)
        payload = _train(path, tmp_path / "o", {"N": 128}, environ={})
        assert "N" == payload.provenance["model.N"].detail

    @pytest.mark.parametrize(
        "call",
        [
            lambda d, t: create_training_payload("", t / "o", {"n_groups": 1}, environ={}),
            lambda d, t: create_training_payload(d, "", {"n_groups": 1}, environ={}),
            lambda d, t: resolve_training({"output_dir": ""}, environ={}),
            lambda d, t: create_training_payload(d, t / "o", {"n_groups": 1}, config_file=""),
            lambda d, t: resolve_training(environ={"PTYCHO_OUTPUT_DIR": " "}),
            lambda d, t: resolve_training(environ={"PTYCHO_CONFIG_FILE": ""}),
            lambda d, t: TrainingConfig(train_data_file=""),
            lambda d, t: create_inference_payload("", d, t / "o", {"n_groups": 1}, environ={}),
        ],
    )
    def test_empty_string_is_never_a_path(self, tmp_path: Path, call: Any) -> None:
        """An empty or blank string where a path belongs is an error, never '.'."""
        data = _probe_file(tmp_path / "t.npz")
        with pytest.raises(PtychoConfigError, match="empty string"):
            call(data, tmp_path)

    @pytest.mark.parametrize(
        ("entry", "rule"),
        [
            ("", "must be a path, not an empty string"),
            ("  ", "must be a path, not an empty string"),
            ("runs/a\0b", "must be a path without NUL bytes"),
        ],
    )
    def test_every_training_directory_is_a_path(
        self, tmp_path: Path, entry: str, rule: str
    ) -> None:
        """Each entry of training_directories follows the path rule of every path key, from an
        override, the environment and a file; the message names the key and the entry."""
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"torch": {"training_directories": ["runs/a", entry]}}))
        for source in (
            {"overrides": {"training_directories": ["runs/a", entry]}, "environ": {}},
            {"environ": {"PTYCHO_TORCH__TRAINING_DIRECTORIES": json.dumps(["runs/a", entry])}},
            {"config_file": config, "environ": {}},
        ):
            with pytest.raises(InvalidValueError) as raised:
                resolve_training(**source)  # type: ignore[arg-type]
            expected = f"torch.training_directories = .*: entry 1 = {re.escape(repr(entry))}: "
            assert re.search(expected + re.escape(rule), str(raised.value)), str(raised.value)

    def test_a_list_names_its_first_bad_entry_and_counts_the_rest(self) -> None:
        """One problem per list, its first bad entry named: no entry's rule read as another's."""
        with pytest.raises(InvalidValueError) as raised:
            resolve_training({"recon_log_fixed_indices": [1, -1, "x", -3]}, environ={})
        assert 1 == len(raised.value.problems)
        assert raised.value.problems[0].message == (
            "entry 1 = -1: must be non-negative, got -1 (and 2 more entries)"
        )

    @given(st.lists(st.text(max_size=4), max_size=4))
    def test_training_directories_are_accepted_exactly_when_every_entry_is_a_path(
        self, entries: list[str]
    ) -> None:
        """Oracle: an entry is a path when it holds something besides spaces and no NUL."""
        if all(entry.strip() and "\0" not in entry for entry in entries):
            resolved = resolve_training({"training_directories": entries}, environ={})
            assert entries == resolved.value("torch.training_directories")
        else:
            with pytest.raises(InvalidValueError, match=r"torch\.training_directories"):
                resolve_training({"training_directories": entries}, environ={})

    @pytest.mark.parametrize("key", ["n_groups", "nepochs", "batch_size", "seed"])
    def test_numpy_bool_is_no_number(self, key: str) -> None:
        """numpy.bool_ is rejected where a number belongs, as bool is."""
        with pytest.raises(InvalidValueError, match="must be a number, not a boolean"):
            resolve_training({key: np.bool_(True)}, environ={})

    def test_numpy_bool_is_a_bool(self) -> None:
        """numpy.bool_ is accepted where a bool belongs."""
        config = resolve_training({"probe_trainable": np.bool_(True)}, environ={}).config
        assert True is config.probe_trainable

    @pytest.mark.parametrize("key", ["execution.seed", "training.subsample_seed"])
    @pytest.mark.parametrize("value", [-(2**63), 2**64 - 1])
    def test_seed_range_is_torchs(self, key: str, value: int) -> None:
        """Seeds from -2**63 to 2**64 - 1, the range torch's generator takes, are kept."""
        assert value == resolve_training({key: value}, environ={}).values()[key]

    @pytest.mark.parametrize("key", ["execution.seed", "training.subsample_seed"])
    @pytest.mark.parametrize("value", [-(2**63) - 1, 2**64])
    def test_seed_beyond_torchs_range(self, key: str, value: int) -> None:
        """One past either end of torch's seed range is rejected naming the bound."""
        with pytest.raises(InvalidValueError, match=f"{key} = .*must be within torch's seed range"):
            resolve_training({key: value}, environ={})

    @given(st.integers(min_value=MAX_COUNT + 1))
    def test_counts_are_bounded(self, value: int) -> None:
        """Every count beyond 2**31 - 1 is rejected naming the bound."""
        with pytest.raises(InvalidValueError, match=f"must be at most {MAX_COUNT}"):
            resolve_training({"nepochs": value}, environ={})

    def test_two_spellings_of_the_config_file_variable(self, tmp_path: Path) -> None:
        """PTYCHO_CONFIG_FILE and ptycho_config_file with different values are a ConflictError."""
        environ = {"PTYCHO_CONFIG_FILE": "a.yaml", "Ptycho_Config_File": "b.yaml"}
        with pytest.raises(ConflictError, match=r"Ptycho_Config_File='b\.yaml'"):
            resolve_training(environ=environ)

    def test_two_equal_spellings_are_fine(self, tmp_path: Path) -> None:
        """The same file under two spellings is read once, without complaint."""
        path = tmp_path / "c.yaml"
        path.write_text("nepochs: 3\n", encoding="utf-8")
        environ = {"PTYCHO_CONFIG_FILE": str(path), "ptycho_config_file": str(path)}
        assert 3 == resolve_training(environ=environ).training_config.nepochs

    def test_probe_member_np_load_reads(self, tmp_path: Path) -> None:
        """With both probeGuess and probeGuess.npy, the size is that of what np.load reads."""
        path = tmp_path / "d.npz"
        members = {"probeGuess.npy": np.ones((64, 64)), "probeGuess": np.ones((128, 128))}
        with zipfile.ZipFile(path, "w") as archive:
            for name, array in members.items():
                buffer = io.BytesIO()
                npy_format.write_array(buffer, array)
                archive.writestr(name, buffer.getvalue())
        with np.load(path) as loaded:
            expected = loaded["probeGuess"].shape[0]
        assert expected == infer_probe_size(path, strict=True)


# -- 5. messages -------------------------------------------------------------------------------


class TestMessages:
    """Messages name the real problem, in the library's voice, and stay bounded."""

    @pytest.mark.parametrize(
        ("source", "typo"),
        [
            ({"overrides": {"n_group": 8}}, "n_group"),
            ({"overrides": {"training": {"n_group": 8}}}, "training.n_group"),
            ({"environ": {"PTYCHO_N_GROUP": "8"}}, "PTYCHO_N_GROUP"),
            ({"file": "N_GROUPS: 8\n"}, "N_GROUPS"),
        ],
    )
    def test_n_groups_typo_is_reported_as_the_typo(
        self, tmp_path: Path, source: dict[str, Any], typo: str
    ) -> None:
        """A typo of n_groups in any source is reported with its suggestion, first."""
        data = _probe_file(tmp_path / "t.npz")
        kw: dict[str, Any] = {"environ": source.get("environ", {})}
        if "file" in source:
            (tmp_path / "c.yaml").write_text(source["file"], encoding="utf-8")
            kw["config_file"] = tmp_path / "c.yaml"
        with pytest.raises(PtychoConfigError) as caught:
            create_training_payload(data, tmp_path / "o", source.get("overrides"), CPU, **kw)
        first = caught.value.problems[0]
        assert typo == first.key
        assert first.message in ("unknown key", "unknown environment variable")
        assert first.suggestions[0].lower().endswith("n_groups")

    def test_directory_as_data_is_not_a_file(self, tmp_path: Path) -> None:
        """A directory given as data is 'not a file', not 'not found'."""
        (tmp_path / "d.npz").mkdir()
        with pytest.raises(FileReadError, match="it is a directory, not a file"):
            _train(tmp_path / "d.npz", tmp_path / "o", environ={})

    @pytest.mark.parametrize(
        ("variable", "text", "key", "expected"),
        [
            ("PTYCHO_MODEL_TYPE", " PINN ", "model.model_type", "pinn"),
            ("PTYCHO_PROBE_TRAINABLE", " Yes ", "training.probe_trainable", True),
            ("PTYCHO_N_GROUPS", " 8 ", "training.n_groups", 8),
            ("PTYCHO_SEED", " NULL ", "execution.seed", None),
            ("PTYCHO_EXECUTION__SCHEDULER", "warmupcosine", "execution.scheduler", "WarmupCosine"),
            ("PTYCHO_DEVICES", " AUTO ", "execution.devices", "auto"),
        ],
    )
    def test_whitespace_and_case_are_read_one_way(
        self, variable: str, text: str, key: str, expected: Any
    ) -> None:
        """Surrounding spaces never matter; case does not for words of a fixed set."""
        assert expected == resolve_training(environ={variable: text}).values()[key]

    def test_paths_are_taken_as_written(self) -> None:
        """A path keeps its spaces and letter case."""
        values = resolve_training(environ={"PTYCHO_OUTPUT_DIR": " Out Dir "}).values()
        assert Path(" Out Dir ") == values["training.output_dir"]

    def test_choice_message_says_case_does_not_matter(self) -> None:
        """A wrong choice lists the choices and says letter case and spaces do not matter."""
        with pytest.raises(InvalidValueError) as caught:
            resolve_training(environ={"PTYCHO_OPTIMIZER": "rmsprop"})
        expected = (
            "must be one of 'adam', 'adamw', 'sgd' (letter case and surrounding spaces do not "
            "matter)"
        )
        assert expected == caught.value.problems[0].message

    @given(st.integers(min_value=1, max_value=60))
    def test_error_output_is_bounded(self, count: int) -> None:
        """Of any number of problems, the message lists at most 20 and counts the rest."""
        problems = [Problem(f"key{i}", "bad") for i in range(count)]
        text = str(PtychoConfigError.from_problems(problems, "training"))
        listed = text.count(": bad")
        rest = f"... and {count - 20} more"
        assert (min(count, 20), count > 20) == (listed, rest in text)

    def test_a_huge_unknown_name_is_cut(self) -> None:
        """An unknown key of 100,000 characters is shown cut, with its length."""
        with pytest.raises(UnknownKeyError) as caught:
            resolve_training({"x" * 100_000: 1}, environ={})
        assert ("x" * 120 + "... (100000 characters)", True) == (
            caught.value.problems[0].key, len(str(caught.value)) < 1000,
        )  # fmt: skip

    def test_pydantic_never_speaks(self) -> None:
        """No message of a bad value in any field says 'Input should'."""
        bad = {"nepochs": "x", "mae_weight": 2, "optimizer": "x", "probe_trainable": "x"}
        with pytest.raises(InvalidValueError) as caught:
            resolve_training(bad, environ={})
        assert "Input should" not in str(caught.value)

    def test_one_suggestion_per_key(self) -> None:
        """A typo is answered with one spelling of each key, not bare and qualified both."""
        with pytest.raises(UnknownKeyError) as caught:
            resolve_training({"batchsize": 3}, environ={})
        assert ("batch_size", "inference_batch_size") == caught.value.problems[0].suggestions

    def test_check_names_the_file_it_read(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`check` says which config file it validated."""
        path = tmp_path / "c.yaml"
        path.write_text("nepochs: 3\nn_groups: 8\n", encoding="utf-8")
        assert 0 == main(["check", "--config", str(path)])
        assert f"  config file: {path}\n" in capsys.readouterr().out


# -- 6. legacy and snapshots -------------------------------------------------------------------


class TestLegacyAndSnapshots:
    """A bad direct write to cfg, a killed snapshot write, a snapshot from nowhere."""

    @pytest.mark.parametrize(("key", "value"), [("N", "abc"), ("gridsize", None), ("offset", [1])])
    def test_bad_direct_write(self, key: str, value: Any) -> None:
        """params(), get('bigN', default) and validate() raise the library's error."""
        ptycho.params.cfg[key] = value
        for call in (
            ptycho.params.params,
            lambda: ptycho.params.get("bigN", 0),
            ptycho.params.validate,
        ):
            with pytest.raises(InvalidValueError, match=key):
                call()

    @pytest.mark.parametrize("version", [0, -1])
    def test_schema_version_below_one(self, tmp_path: Path, version: int) -> None:
        """A snapshot claiming schema version 0 or less is a SnapshotError."""
        payload = _train(_probe_file(tmp_path / "d.npz"), tmp_path / "o", environ={})
        path = save_snapshot(payload, tmp_path)
        document = json.loads(path.read_text(encoding="utf-8"))
        document["metadata"]["schema_version"] = version
        path.write_text(json.dumps(document), encoding="utf-8")
        with pytest.raises(SnapshotError, match="schema versions start at 1"):
            load_snapshot(tmp_path)


# -- the error contract ------------------------------------------------------------------------


ERROR_CLASSES = sorted(
    (c for c in vars(_errors).values() if isinstance(c, type) and issubclass(c, PtychoConfigError)),
    key=lambda c: c.__name__,
)
EXIT_CODES = {
    "ModelArchiveNotFoundError": 4, "ConfigFileNotFoundError": 4, "FileReadError": 5,
    "OutputError": 6, "BackendUnavailableError": 7,
}  # fmt: skip


class TestErrorContract:
    """Every error carries a problem and its exit code; nothing shows an object address."""

    @pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
    def test_at_least_one_problem(self, cls: type[PtychoConfigError]) -> None:
        """An error built from a message alone carries one problem holding that message."""
        error = cls("something is wrong")
        assert ("something is wrong",) == tuple(p.message for p in error.problems)

    @pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
    def test_exit_code_is_on_the_class(self, cls: type[PtychoConfigError]) -> None:
        """The exit code the CLI uses is a class attribute: 3 unless documented otherwise."""
        assert EXIT_CODES.get(cls.__name__, 3) == cls.exit_code

    def test_errors_raised_for_files_carry_problems(self, tmp_path: Path) -> None:
        """File pre-checks, snapshot and probe-header errors name a key in their problems."""
        (tmp_path / "ptycho_config.json").write_text("{", encoding="utf-8")
        raised: list[PtychoConfigError] = []
        for call in (
            lambda: _train(tmp_path / "missing.npz", tmp_path / "o", environ={}),
            lambda: load_snapshot(tmp_path),
            lambda: infer_probe_size(tmp_path / "ptycho_config.json", strict=True),
            lambda: create_inference_payload(tmp_path, "t.npz", "o", environ={}),
        ):
            with pytest.raises(PtychoConfigError) as caught:
                call()
            raised.append(caught.value)
        assert [True] * 4 == [bool(error.problems[0].key) for error in raised]

    def test_no_object_address_in_a_repr(self) -> None:
        """A problem without a value, and every public signature, show no object address."""
        import inspect

        import ptycho_config

        shown = [repr(Problem("model.N", "bad"))]
        for module in (ptycho_config, ptycho.params):
            for name in module.__all__:
                obj = getattr(module, name)
                if callable(obj):
                    with contextlib.suppress(TypeError, ValueError):  # builtins without one
                        shown.append(f"{name}{inspect.signature(obj)}")
        assert [] == [text for text in shown if "object at 0x" in text]

    def test_torch_errors_are_the_librarys(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A torch that fails to import is a BackendUnavailableError, also a RuntimeError."""
        from ptycho_config._merge.accelerator import import_torch

        monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
        with pytest.raises(BackendUnavailableError, match="pip install torch") as caught:
            import_torch()
        assert isinstance(caught.value, RuntimeError)

    def test_nphotons_of_a_fifo_does_not_block(self, tmp_path: Path, alarm: None) -> None:
        """Reading a FIFO's nphotons returns None at once."""
        os.mkfifo(tmp_path / "d.npz")
        assert inspect_data_file(tmp_path / "d.npz").nphotons is None
