"""Hostile and careless inputs: every way in is bounded in time and memory, nothing
nonsensical is accepted, and no message shows a secret.

Worst cases run here at modest sizes; the 1 MiB forms are measured by hand (docs/errors.md).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import pickle
import pickletools
import re
import struct
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from ptycho_config import (
    ConflictError,
    FileReadError,
    InvalidValueError,
    PtychoConfigError,
    TrainingConfig,
    UnknownKeyError,
    create_training_payload,
    from_legacy_dict,
    infer_probe_size,
    load_snapshot,
    populate_legacy_params,
    resolve_inference,
    resolve_training,
    save_snapshot,
    testing,
    to_env,
)
from ptycho_config._datafiles.pickled import _ALLOWED_GLOBALS, unpickle_item
from ptycho_config._errors import ArgumentTypeError, Unreadable
from ptycho_config._factories.export import env_quoted
from ptycho_config._factories.snapshot import SNAPSHOT_NAME
from tests.conftest import CPU

FEW = settings(max_examples=25, deadline=None)
BASE = {"n_groups": 4}
# "No hang": each case takes well under a second here, and its unbounded form takes minutes or
# exhausts memory; the wide margin keeps a loaded machine from failing a bounded one.
NO_HANG_S = 10


def _peak_mib(action: Any) -> float:
    """The peak of memory traced while ``action`` runs, in MiB (its error, if any, swallowed)."""
    tracemalloc.start()
    try:
        action()
    except (PtychoConfigError, Unreadable):
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 2**20


def _array_pickle(item_opcodes: bytes) -> bytes:
    """numpy's pickle of a 0-d object array whose one item is what ``item_opcodes`` push."""
    marker = "ITEM-MARKER"
    whole = pickle.dumps(np.array(marker, dtype=object), protocol=3)
    encoded = marker.encode()
    item = pickle.BINUNICODE + struct.pack("<I", len(encoded)) + encoded
    assert whole.count(item) == 1
    return whole.replace(item, item_opcodes)


def _global(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def _text(value: str) -> bytes:
    data = value.encode()
    return pickle.BINUNICODE + struct.pack("<I", len(data)) + data


def _put_get(index: int) -> bytes:
    """BINPUT then BINGET of one memo entry: the stack top, shared once more."""
    return pickle.BINPUT + bytes([index]) + pickle.BINGET + bytes([index])


# Plain values that make numpy's pickle use every opcode it writes for metadata: over 256
# memo entries (LONG_BINPUT, LONG_BINGET), ints of every size, short and long text and bytes,
# a shared string and a shared tuple.
_MANY = [f"k{i}" for i in range(300)]
_SHARED = (1, 2.5)
PLAIN = {
    "physics_parameters": {"nphotons": 1e9},
    "values": [None, True, False, -3, 300, 70_000, 2**70, 2**3000, 1.5, "é" * 300],
    "bytes": [b"", b"x" * 300],
    "tuples": [(), _SHARED, _SHARED, (1, (2, (3, 4)))],
    "empty": [[], {}],
    "many": _MANY,
    "last": _MANY[-1],
    "again": {"physics_parameters": None},
}
NUMPY_PROTOCOLS = (3, 4, 5)  # numpy 1.17+ and 2 write protocol 3 or 4


def _numpy_opcodes() -> set[str]:
    """The opcodes numpy's pickles of the reference's metadata forms use (the test's oracle)."""
    return {
        op.name
        for item in (PLAIN, json.dumps(PLAIN["physics_parameters"]))
        for protocol in NUMPY_PROTOCOLS
        for op, _, _ in pickletools.genops(pickle.dumps(np.array(item, dtype=object), protocol))
    }


def _opcode_with_argument(op: pickletools.OpcodeInfo) -> bytes:
    """``op`` with an argument pickletools can read (empty, zero, or one short line)."""
    code = op.code.encode("latin-1")
    if op.arg is None:
        return code
    if op.arg.n >= 0:
        return code + b"\0" * op.arg.n
    if op.arg.n == pickletools.UP_TO_NEWLINE:
        return code + {"STRING": b"'a'\n", "INST": b"os\nsystem\n"}.get(op.name, b"1\n")
    sizes = {
        pickletools.TAKEN_FROM_ARGUMENT1: 1,
        pickletools.TAKEN_FROM_ARGUMENT4: 4,
        pickletools.TAKEN_FROM_ARGUMENT4U: 4,
        pickletools.TAKEN_FROM_ARGUMENT8U: 8,
    }
    return code + b"\0" * sizes[op.arg.n]


class TestPickledMetadata:
    """The restricted unpickler: only numpy's opcodes and names, a bounded memo, text keys,
    no state changed outside the load."""

    def test_the_reference_form_reads(self) -> None:
        """A 0-d object array holding a JSON string or a dict, as the reference writes it."""
        for item in ('{"physics_parameters": {"nphotons": 1e9}}', {"a": [1, 2.5, None]}):
            assert item == unpickle_item(pickle.dumps(np.array(item, dtype=object), protocol=3))

    @pytest.mark.parametrize("protocol", NUMPY_PROTOCOLS)
    def test_every_protocol_numpy_writes(self, protocol: int) -> None:
        """All plain values, shared ones included, read back equal, in every protocol numpy
        writes (np.save: protocol 3 in numpy 1, 4 in numpy 2)."""
        data = pickle.dumps(np.array(PLAIN, dtype=object), protocol=protocol)
        assert PLAIN == unpickle_item(data)

    @pytest.mark.parametrize("protocol", [0, 1, 2])
    def test_protocols_before_3_are_refused(self, protocol: int) -> None:
        """Before protocol 3, bytes are pickled as a call of ``_codecs.encode``: refused."""
        data = pickle.dumps(np.array("x", dtype=object), protocol=protocol)
        with pytest.raises(Unreadable, match=r"its pickle (needs|uses) "):
            unpickle_item(data)

    def test_every_opcode_numpy_never_writes_is_refused(self) -> None:
        """Any opcode outside what numpy's pickles of plain values use is refused before
        anything runs (INST of os.system among them)."""
        never = [op for op in pickletools.opcodes if op.name not in _numpy_opcodes()]
        assert {"DUP", "INST", "OBJ", "NEWOBJ", "EXT1", "EMPTY_SET", "PUT"} <= {
            op.name for op in never
        }
        for op in never:
            with pytest.raises(Unreadable, match=rf"its pickle uses {op.name}, "):
                unpickle_item(_array_pickle(_opcode_with_argument(op)))

    @FEW
    @given(
        depth=st.integers(1, 40),
        name=st.sampled_from(["str", "bytes", "list", "dict", "tuple", "int", "float", "bool"]),
    )
    def test_no_builtin_is_called(self, depth: int, name: str) -> None:
        """For any nesting of a doubly shared list, no builtin is called on it (``str`` would
        expand it, ``list`` copy it): numpy's pickle of plain values names none."""
        shared = (
            pickle.EMPTY_LIST
            + (
                pickle.BINPUT
                + b"\0"
                + pickle.EMPTY_LIST
                + (pickle.BINGET + b"\0" + pickle.APPEND) * 2
            )
            * depth
        )
        call = _global("builtins", name) + shared + pickle.TUPLE1 + pickle.REDUCE
        started = time.perf_counter()
        with pytest.raises(Unreadable, match=rf"needs builtins\.{name}, "):
            unpickle_item(_array_pickle(call))
        assert time.perf_counter() - started < NO_HANG_S

    @pytest.mark.parametrize(
        "body",
        [
            _global("builtins", "bytes")
            + pickle.BININT
            + struct.pack("<i", 10**7)
            + pickle.TUPLE1
            + pickle.REDUCE,
            # a list of 20,000 values, then 2,000 copies of it (46 KB: 300 MiB unrefused)
            pickle.EMPTY_LIST
            + pickle.EMPTY_LIST
            + pickle.MARK
            + pickle.NONE * 20_000
            + pickle.APPENDS
            + pickle.BINPUT
            + b"\0"
            + pickle.APPEND
            + (
                _global("builtins", "list")
                + pickle.BINGET
                + b"\0"
                + pickle.TUPLE1
                + pickle.REDUCE
                + pickle.APPEND
            )
            * 2_000,
        ],
        ids=["bytes(10**7)", "list-copies"],
    )
    def test_a_large_allocation_is_refused(self, body: bytes) -> None:
        """What a builtin would build from a few bytes is never built."""
        assert _peak_mib(lambda: unpickle_item(_array_pickle(body))) < 5

    @pytest.mark.parametrize(
        "item",
        [
            _text("x") + pickle.BINPUT + b"\xff",
            _text("x") + pickle.LONG_BINPUT + struct.pack("<I", 100_000_000),
            _text("x") + pickle.LONG_BINPUT + struct.pack("<I", 2**32 - 1),
            _text("x") + pickle.PUT + b"99999999999\n",
        ],
        ids=["BINPUT-255", "LONG_BINPUT-10**8", "LONG_BINPUT-2**32-1", "PUT-10**11"],
    )
    def test_a_huge_memo_index_is_refused(self, item: bytes) -> None:
        """The unpickler's memo is an array as long as the largest index, so an index out of
        the order a pickler writes (11 bytes could ask for 32 GiB) is refused unallocated."""
        data = _array_pickle(item)
        with pytest.raises(Unreadable, match=r"memo entry|uses PUT"):
            unpickle_item(data)
        assert _peak_mib(lambda: unpickle_item(data)) < 5

    @pytest.mark.parametrize(
        "item",
        [
            pickle.BINUNICODE + struct.pack("<I", 2**32 - 1) + b"x",
            pickle.BINBYTES + struct.pack("<I", 2**32 - 1) + b"x",
            pickle.FRAME + struct.pack("<Q", 2**63 - 1) + _text("x"),
        ],
        ids=["BINUNICODE", "BINBYTES", "FRAME"],
    )
    def test_a_claimed_length_is_not_allocated(self, item: bytes) -> None:
        """A length the pickle does not hold is refused without allocating it."""
        data = _array_pickle(item)
        with pytest.raises(Unreadable, match="cannot be read"):
            unpickle_item(data)
        assert _peak_mib(lambda: unpickle_item(data)) < 5

    @pytest.mark.parametrize(
        "state",
        [
            pickle.EMPTY_DICT + _text("planted") + pickle.NONE + pickle.SETITEM,
            pickle.NONE + pickle.EMPTY_DICT + _text("__call__") + pickle.NONE + pickle.SETITEM
            + pickle.TUPLE2,
        ],
        ids=["dict-state", "slot-state"],
    )  # fmt: skip
    def test_build_cannot_change_an_allowed_global(self, state: bytes) -> None:
        """BUILD on an allowed global is refused, whichever form its state takes (a dict goes
        to ``__dict__``, slot state to ``setattr``), and no global's attributes change."""

        def attributes() -> dict[Any, dict[str, str]]:
            return {
                k: {a: repr(getattr(v, a)) for a in dir(v)} for k, v in _ALLOWED_GLOBALS.items()
            }

        before = attributes()
        for module, name in _ALLOWED_GLOBALS:
            with pytest.raises(Unreadable, match="changes the state of a global"):
                unpickle_item(_array_pickle(_global(module, name) + state + pickle.BUILD))
        assert before == attributes()
        assert "x" == unpickle_item(pickle.dumps(np.array("x", dtype=object), protocol=4))

    @pytest.mark.parametrize(
        "value",
        [pickle.NONE, pickle.NEWTRUE, pickle.BININT1 + b"\0", pickle.EMPTY_TUPLE,
         _text("planted"), pickle.EMPTY_LIST, pickle.EMPTY_DICT],
        ids=["None", "True", "0", "()", "str", "list", "dict"],
    )  # fmt: skip
    def test_build_cannot_change_a_value(self, value: bytes) -> None:
        """BUILD on a value (some of them shared by the whole process: None, 0, ()) fails."""
        state = pickle.EMPTY_DICT + _text("planted") + pickle.NONE + pickle.SETITEM
        with pytest.raises(Unreadable, match="cannot be read"):
            unpickle_item(_array_pickle(value + state + pickle.BUILD))
        assert not hasattr(None, "planted")
        assert not hasattr((), "planted")

    @FEW
    @given(
        key=st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.binary(),
            lambda inner: st.tuples(inner, inner),
            max_leaves=8,
        )
        | st.text()
    )
    def test_a_dict_key_is_text(self, key: Any) -> None:
        """For any hashable plain key: text reads back; anything else is refused before it
        is hashed (a tuple's hash visits every level and shared copy, an int's can be chosen)."""
        data = pickle.dumps(np.array({key: None}, dtype=object), protocol=4)
        if isinstance(key, str):
            assert {key: None} == unpickle_item(data)
        else:
            with pytest.raises(Unreadable, match="a dict key that is not text"):
                unpickle_item(data)

    @pytest.mark.parametrize(
        "key",
        [
            # 200,000 levels: hashing it overflows the C stack and kills the interpreter
            pickle.EMPTY_TUPLE + pickle.TUPLE1 * 200_000,
            # 40 levels of a doubly shared tuple: hashing it visits 2**40 leaves
            pickle.NONE + (_put_get(0) + pickle.TUPLE2) * 40,
        ],
        ids=["deep-tuple", "shared-tuple"],
    )
    def test_a_costly_key_is_refused_unhashed(self, key: bytes) -> None:
        """Such a tuple is refused as a key at once, and reads as a value (never hashed)."""
        started = time.perf_counter()
        with pytest.raises(Unreadable, match="a dict key that is not text"):
            unpickle_item(_array_pickle(pickle.EMPTY_DICT + key + pickle.NONE + pickle.SETITEM))
        as_value = pickle.EMPTY_DICT + _text("k") + key + pickle.SETITEM
        assert isinstance(unpickle_item(_array_pickle(as_value))["k"], tuple)
        assert time.perf_counter() - started < NO_HANG_S

    def test_colliding_int_keys_are_refused(self) -> None:
        """20,000 int keys of one hash (each insertion compares with all before: seconds):
        refused before the dict is built."""
        keys = [i * (2**61 - 1) for i in range(1, 20_001)]
        assert len({hash(key) for key in keys}) == 1
        items = b"".join(
            pickle.LONG1 + bytes([10]) + key.to_bytes(10, "little", signed=True) + pickle.NONE
            for key in keys
        )
        data = _array_pickle(pickle.EMPTY_DICT + pickle.MARK + items + pickle.SETITEMS)
        assert len(data) < 256 * 1024
        started = time.perf_counter()
        with pytest.raises(Unreadable, match="a dict key that is not text"):
            unpickle_item(data)
        assert time.perf_counter() - started < 1

    def test_a_shared_value_is_shown_briefly(self, tmp_path: Path) -> None:
        """A shared tuple of 2**40 leaves as nphotons, saved by numpy: warned about at once,
        its value shown in a few hundred characters."""
        from ptycho_config._datafiles.npz import inspect_data_file

        shared: Any = None
        for _ in range(40):
            shared = (shared, shared)
        metadata = np.array({"physics_parameters": {"nphotons": shared}}, dtype=object)
        path = tmp_path / "d.npz"
        np.savez(path, probeGuess=np.ones((8, 8), np.complex64), _metadata=metadata)
        started = time.perf_counter()
        with pytest.warns(UserWarning, match="is not a positive number") as caught:
            assert inspect_data_file(path).nphotons is None
        assert time.perf_counter() - started < NO_HANG_S
        assert len(str(caught[0].message)) < 1_000

    def test_deep_lists_read_in_bounded_memory(self) -> None:
        """Lists nest without limit (nothing recurses through them): 30,000 levels read, in
        memory proportional to the pickle."""
        depth = 30_000
        body = pickle.EMPTY_LIST * depth + pickle.APPEND * (depth - 1)
        item = unpickle_item(_array_pickle(body))
        levels = 0
        while item:
            item, levels = item[0], levels + 1
        assert depth - 1 == levels
        assert _peak_mib(lambda: unpickle_item(_array_pickle(body))) < 40

    @pytest.mark.parametrize("protocol", NUMPY_PROTOCOLS)
    def test_a_truncated_pickle_is_refused(self, protocol: int) -> None:
        """Every prefix of a metadata pickle is refused with the library's error."""
        item = {"physics_parameters": {"nphotons": 1e9}, "shared": _SHARED, "again": _SHARED}
        data = pickle.dumps(np.array(item, dtype=object), protocol=protocol)
        for end in range(len(data)):
            with pytest.raises(Unreadable):
                unpickle_item(data[:end])


class TestUnknownNames:
    """Suggestions are bounded: cost grows linearly and stays small, every name is reported."""

    def test_thousands_of_unknown_variables_under_strict_checking(self) -> None:
        names = [f"PTYCHO_UNKNOWN_THING_{i}" for i in range(2000)]
        started = time.perf_counter()
        with pytest.raises(UnknownKeyError) as caught:
            resolve_training(BASE, environ=dict.fromkeys(names, "1"), strict_env=True)
        assert time.perf_counter() - started < NO_HANG_S
        assert {p.key for p in caught.value.problems} == set(names)
        assert "... and 1980 more" in str(caught.value)

    def test_thousands_of_typos_are_each_an_error(self) -> None:
        """Past the names examined in full, a typo of separators is still caught."""
        environ = {f"PTYCHO_UNKNOWN_{i}": "1" for i in range(500)} | {"PTYCHO_BATCHSIZE": "8"}
        with (
            pytest.warns(UserWarning, match="unknown environment variable") as warned,
            pytest.raises(UnknownKeyError) as caught,
        ):
            resolve_training(BASE, environ=environ)
        assert ["PTYCHO_BATCHSIZE"] == [p.key for p in caught.value.problems]
        assert any("not checked for typos" in str(w.message) for w in warned)

    def test_warnings_for_foreign_variables_are_counted(self) -> None:
        environ = {f"PTYCHO_FOREIGN_{i:04}": "1" for i in range(300)}
        with pytest.warns(UserWarning, match="unknown environment variable") as caught:
            resolve_training(BASE, environ=environ)
        assert len(caught) < 30
        assert any("300 unknown environment variables" in str(w.message) for w in caught)

    def test_a_huge_unknown_name_is_cheap(self) -> None:
        environ = {"PTYCHO_" + "A" * 2_000_000: "1"}
        peak = _peak_mib(lambda: resolve_training(BASE, environ=environ, strict_env=True))
        assert peak < 40

    def test_many_unknown_keys_in_a_config_file(self, tmp_path: Path) -> None:
        path = tmp_path / "c.json"
        path.write_text(json.dumps({f"k{i}": 1 for i in range(15_000)}))
        started = time.perf_counter()
        with pytest.raises(UnknownKeyError) as caught:
            resolve_training(BASE, environ={}, config_file=path)
        assert time.perf_counter() - started < NO_HANG_S
        assert 15_000 == len(caught.value.problems)

    def test_many_unknown_fields_given_to_a_schema(self) -> None:
        """A config's own constructor and model_validate_json: suggestions for the first few."""
        text = json.dumps({f"k{i}": 1 for i in range(40_000)})  # under 1 MiB
        started = time.perf_counter()
        with pytest.raises(UnknownKeyError) as caught:
            TrainingConfig.model_validate_json(text)
        assert time.perf_counter() - started < NO_HANG_S
        assert 40_000 == len(caught.value.problems)

    @pytest.mark.parametrize(
        "call",
        [
            lambda name: from_legacy_dict({name: 1}, "training"),
            lambda name: TrainingConfig(**{name: 1}),
            lambda name: TrainingConfig.model_validate({"model": {name: 1}}),
        ],
        ids=["legacy-dict", "schema", "nested-schema"],
    )
    def test_a_huge_unknown_key_is_shortened_in_messages(self, call: Any) -> None:
        with pytest.raises(UnknownKeyError) as caught:
            call("n_group" + "s" * 1_000_000)
        assert len(str(caught.value)) < 1_000
        assert "characters)" in str(caught.value)

    def test_many_unknown_keys_in_a_legacy_dict(self) -> None:
        started = time.perf_counter()
        with pytest.raises(UnknownKeyError) as caught:
            from_legacy_dict({f"k{i}": 1 for i in range(40_000)}, "training")
        assert time.perf_counter() - started < NO_HANG_S
        assert 40_000 == len(caught.value.problems)

    def test_a_secrets_directory_of_many_unknown_files(self, tmp_path: Path) -> None:
        for i in range(1000):
            (tmp_path / f"PTYCHO_UNKNOWN_{i}").write_text("1")
        (tmp_path / "PTYCHO_TRAINING__BATCH_SIZE").write_text("8\n")
        started = time.perf_counter()
        with pytest.warns(UserWarning, match="unknown environment variable"):
            resolved = resolve_training(BASE, environ={}, secrets_dir=tmp_path)
        assert time.perf_counter() - started < NO_HANG_S
        assert 8 == resolved.training_config.batch_size


class TestListText:
    """A list given as text is parsed only up to a length cap."""

    def test_a_long_list_text_is_refused_cheaply(self) -> None:
        text = "[" + "0," * 500_000 + "0]"
        environ = {"PTYCHO_RECON_LOG_FIXED_INDICES": text}
        with pytest.raises(InvalidValueError, match="at most 10000 characters"):
            resolve_training(BASE, environ=environ)
        assert _peak_mib(lambda: resolve_training(BASE, environ=environ)) < 40

    @pytest.mark.parametrize("text", ["[1, 2], [3]", "[1, 2],", "[0.1], [0.9]"])
    def test_lists_side_by_side_are_no_list(self, text: str) -> None:
        """Text that starts as a list but holds several (Python reads a tuple) is refused as
        text, saying what a list looks like, not entry by entry as if it were one."""
        environ = {"PTYCHO_RECON_LOG_FIXED_INDICES": text}
        with pytest.raises(InvalidValueError, match=r"expected a list like \[1, 2\]"):
            resolve_training(BASE, environ=environ)

    @pytest.mark.parametrize(
        ("key", "entry"),
        [
            ("recon_log_fixed_indices", "x"),
            ("recon_log_fixed_indices", 1),
            ("torch.training_directories", "/data"),
        ],
    )
    def test_a_long_python_list_is_refused_before_its_entries(self, key: str, entry: Any) -> None:
        """A list given as a Python value is bounded as its text is: a million entries are
        one error, at once, not a million checked and reported (seconds and gigabytes)."""
        overrides = {**BASE, key: [entry] * 1_000_000}
        started = time.perf_counter()
        with pytest.raises(InvalidValueError) as caught:
            resolve_training(overrides, environ={})
        assert time.perf_counter() - started < NO_HANG_S
        assert 1 == len(caught.value.problems)
        assert "at most 10000 entries, got 1000000" in str(caught.value)
        assert _peak_mib(lambda: resolve_training(overrides, environ={})) < 40

    @pytest.mark.parametrize(
        "given", [lambda: range(20_000), lambda: itertools.repeat(1, 20_000)], ids=["range", "iter"]
    )
    def test_a_long_iterable_is_refused_without_a_count_it_cannot_know(
        self, given: Callable[[], Any]
    ) -> None:
        """An iterable of more entries than the cap (a range, a generator) is refused at the
        cap; pydantic does not count an iterator, and the message says no 'got None'."""
        overrides = {**BASE, "recon_log_fixed_indices": given()}
        with pytest.raises(InvalidValueError) as caught:
            resolve_training(overrides, environ={})
        assert 1 == len(caught.value.problems)
        assert "must hold at most 10000 entries" in str(caught.value)
        assert "None" not in caught.value.problems[0].message

    def test_a_list_at_the_cap_reads(self) -> None:
        indices = list(range(10_000))
        resolved = resolve_training({**BASE, "recon_log_fixed_indices": indices}, environ={})
        assert indices == resolved.execution_config.recon_log_fixed_indices

    @FEW
    @given(st.lists(st.integers(0, 10**6), max_size=50))
    def test_lists_within_the_cap_read(self, indices: list[int]) -> None:
        environ = {"PTYCHO_RECON_LOG_FIXED_INDICES": json.dumps(indices)}
        config = resolve_training(BASE, environ=environ).execution_config
        assert indices == config.recon_log_fixed_indices


def _from_yaml(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return resolve_training({}, environ={}, config_file=path).training_config


class TestYamlNumbers:
    """YAML numbers follow the YAML 1.2 core schema, as the environment reads them."""

    @FEW
    @given(st.integers(1, 10**6), st.integers(1, 3))
    def test_leading_zeros_are_decimal_as_in_the_environment(self, n: int, zeros: int) -> None:
        import tempfile

        text = "0" * zeros + str(n)
        with tempfile.TemporaryDirectory() as folder:
            from_file = _from_yaml(Path(folder), f"n_groups: {text}\n").n_groups
        assert n == from_file == resolve_training(environ={"PTYCHO_N_GROUPS": text}).config.n_groups

    @FEW
    @given(st.lists(st.integers(0, 59), min_size=2, max_size=4))
    def test_base_60_is_text_and_an_error_naming_it(self, parts: list[int]) -> None:
        import tempfile

        text = ":".join(str(p) for p in parts)
        with (
            tempfile.TemporaryDirectory() as folder,
            pytest.raises(InvalidValueError, match=f"n_groups = '{text}'"),
        ):
            _from_yaml(Path(folder), f"n_groups: {text}\n")

    @FEW
    @given(st.lists(st.integers(1, 999), min_size=2, max_size=4))
    def test_underscores_are_text_and_an_error_naming_it(self, parts: list[int]) -> None:
        """1_000 is text in YAML 1.2; a number field rejects it from every source."""
        import tempfile

        text = "_".join(str(p) for p in parts)
        with tempfile.TemporaryDirectory() as folder:
            for value in (text, f"{text}.5", f"1e{text}"):
                with pytest.raises(InvalidValueError, match=f"learning_rate = '{value}'"):
                    _from_yaml(Path(folder), f"learning_rate: {value}\nn_groups: 2\n")
            with pytest.raises(InvalidValueError, match=f"n_groups = '{text}'"):
                _from_yaml(Path(folder), f"n_groups: {text}\n")
        for variable, form in (
            ("PTYCHO_N_GROUPS", text),
            ("PTYCHO_RECON_LOG_FIXED_INDICES", text),
            ("PTYCHO_RECON_LOG_FIXED_INDICES", f"[1, {text}]"),
            ("PTYCHO_X_BOUNDS", f"(.1, 0.{text})"),
        ):
            environ = {"PTYCHO_N_GROUPS": "2", variable: form}
            with pytest.raises(InvalidValueError, match="without underscores"):
                resolve_training({}, environ=environ)

    def test_a_long_base_60_scalar_is_not_parsed(self, tmp_path: Path) -> None:
        started = time.perf_counter()
        with pytest.raises(InvalidValueError):
            _from_yaml(tmp_path, "n_groups: 1" + ":59" * 100_000 + "\n")
        assert time.perf_counter() - started < NO_HANG_S

    def test_core_forms(self, tmp_path: Path) -> None:
        config = _from_yaml(tmp_path, "n_groups: 0x10\nnepochs: 0o17\n")
        assert (16, 15) == (config.n_groups, config.nepochs)

    @FEW
    @given(
        st.lists(
            st.dictionaries(st.sampled_from(["n_groups", "nepochs", "batch_size"]),
                            st.sampled_from([1, 2, 4, 8]), min_size=1),
            min_size=1, max_size=4,
        ),
        st.dictionaries(st.sampled_from(["nepochs", "batch_size"]), st.sampled_from([16, 32])),
    )  # fmt: skip
    def test_merge_keys_earlier_mapping_wins(
        self, mappings: list[dict[str, int]], own: dict[str, int]
    ) -> None:
        """Of the merged mappings the earliest giving a key wins, and the mapping's own keys,
        written before or after the merge key, win over all of them."""
        import tempfile

        anchors = "".join(f"m{i}: &m{i} {json.dumps(m)}\n" for i, m in enumerate(mappings))
        merged = ", ".join(f"*m{i}" for i in range(len(mappings)))
        expected = dict(own)
        for mapping in mappings:  # the oracle: own keys, then the first mapping giving a key
            for key, value in mapping.items():
                expected.setdefault(key, value)
        lines = [f"  {key}: {value}\n" for key, value in own.items()]
        half = len(lines) // 2  # own keys on both sides of the merge key
        text = f"{anchors}training:\n{''.join(lines[:half])}  <<: [{merged}]\n"
        text += "".join(lines[half:])
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "c.yaml"
            path.write_text(text)
            from ptycho_config._sources.config_file import load_config_file

            assert expected == load_config_file(path)["training"]

    @pytest.mark.parametrize("merged", ["[1, 2]", "5", "[{nepochs: 3}, [1]]"])
    def test_merging_what_is_no_mapping_is_refused(self, tmp_path: Path, merged: str) -> None:
        """A merge key ('<<') of a number or a list is the library's error naming the file and
        what a merge takes, not a crash nor keys silently dropped."""
        path = tmp_path / "c.yaml"
        path.write_text(f"training:\n  <<: {merged}\n  nepochs: 2\n")
        with pytest.raises(InvalidValueError, match="expected a mapping to merge") as raised:
            resolve_training(BASE, environ={}, config_file=path)
        assert f"cannot parse config file {path} as yaml" in str(raised.value)

    def test_merges_of_merges_are_bounded(self, tmp_path: Path) -> None:
        """Each mapping merging the previous one ten times: 470 bytes, 10**7 copied keys."""
        lines = ["m0: &m0 {" + ", ".join(f"k{i}: 1" for i in range(10)) + "}"]
        lines += [f"m{n}: &m{n} {{<<: [{', '.join([f'*m{n - 1}'] * 10)}]}}" for n in range(1, 7)]
        path = tmp_path / "c.yaml"
        path.write_text("\n".join(lines) + "\n")
        started = time.perf_counter()
        with pytest.raises(InvalidValueError, match="merge keys"):
            resolve_training(BASE, environ={}, config_file=path)
        assert time.perf_counter() - started < NO_HANG_S

    @pytest.mark.parametrize("suffix", [".yaml", ".toml", ".json"])
    def test_a_file_of_many_values_is_refused_before_it_is_built(
        self, tmp_path: Path, suffix: str
    ) -> None:
        path = tmp_path / f"c{suffix}"
        items = "0," * 100_000
        texts = {
            ".yaml": f"n_groups: [{items}]\n",
            ".toml": f"x = [{items}]\n",
            ".json": json.dumps({f"k{i}": 1 for i in range(30_000)}),
        }
        path.write_text(texts[suffix])
        started = time.perf_counter()
        with pytest.raises(InvalidValueError, match="more than 20000 values"):
            resolve_training(BASE, environ={}, config_file=path)
        assert time.perf_counter() - started < NO_HANG_S


class TestTomlDottedKeys:
    """A TOML file's dots are bounded before tomllib reads it."""

    def test_a_long_dotted_toml_key_is_refused_before_it_is_read(self, tmp_path: Path) -> None:
        """tomllib reads a dotted key in time quadratic in its length (this one: half a minute;
        a megabyte of one: half an hour); more dots than any configuration needs are refused."""
        path = tmp_path / "c.toml"
        path.write_text("a" + ".a" * 50_000 + " = 1\n")
        started = time.perf_counter()
        with pytest.raises(InvalidValueError, match=r"more than 2000 dots"):
            resolve_training(BASE, environ={}, config_file=path)
        assert time.perf_counter() - started < NO_HANG_S

    def test_dots_a_configuration_needs_are_read(self, tmp_path: Path) -> None:
        path = tmp_path / "c.toml"
        path.write_text("".join(f"torch.k{i}.a.b = 0.5\n" for i in range(499)))
        with pytest.raises(UnknownKeyError, match=r"torch\.k0"):
            resolve_training(BASE, environ={}, config_file=path)


class TestSecretsMasked:
    """A secret's value shows in no message, whichever rule fails."""

    @FEW
    @given(st.integers(-(10**12), -(10**6)))
    def test_bounds(self, value: int) -> None:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "PTYCHO_TRAINING__BATCH_SIZE").write_text(str(value))
            with pytest.raises(InvalidValueError) as caught:
                resolve_training(BASE, environ={}, secrets_dir=folder)
        assert str(value) not in str(caught.value)
        assert str(value) not in repr(caught.value.problems)

    @pytest.mark.parametrize(
        ("name", "value", "rule"),
        [
            ("PTYCHO_TORCH__TRAINING_DIRECTORIES", "[hunter2", "expected a list"),
            ("PTYCHO_LR_WARMUP_EPOCHS", "424242", "lr_warmup_epochs must be < nepochs"),
        ],
    )
    def test_list_parsing_and_cross_field_rules(
        self, tmp_path: Path, name: str, value: str, rule: str
    ) -> None:
        (tmp_path / name).write_text(value)
        overrides = {**BASE, "nepochs": 5, "scheduler": "WarmupCosine"}
        with pytest.raises(InvalidValueError) as caught:
            resolve_training(overrides, environ={}, secrets_dir=tmp_path)
        shown = str(caught.value) + repr(caught.value.problems)
        assert rule in shown
        assert value not in shown

    @pytest.mark.parametrize(
        ("name", "value", "secret", "rule"),
        [
            ("PTYCHO_RECON_LOG_FIXED_INDICES", "[3, 12.75]", "12.75", "must be an integer"),
            ("PTYCHO_TORCH__TRAINING_DIRECTORIES", '["a", 31337]', "31337", "must be text"),
            ("PTYCHO_TORCH__X_BOUNDS", "[0.25, 4242]", "4242", "must be in [0,1], got"),
        ],
    )
    def test_a_bad_entry_of_a_list(
        self, tmp_path: Path, name: str, value: str, secret: str, rule: str
    ) -> None:
        """The problem names the entry (its index), not the secret entry's value."""
        (tmp_path / name).write_text(value)
        with pytest.raises(InvalidValueError) as caught:
            resolve_training(BASE, environ={}, secrets_dir=tmp_path)
        shown = str(caught.value) + repr(caught.value.problems)
        assert "entry 1 = <secret>" in shown
        assert rule in shown
        assert secret not in shown

    @pytest.mark.parametrize(
        ("value", "secret"),
        [
            ("1, sec:quux", "sec:quux"),
            ('[1, "pass: word"]', "pass: word"),
            ("""[1, "it's:xyzzy"]""", "it's:xyzzy"),
        ],
    )
    def test_a_bad_text_entry_holding_a_colon(
        self, tmp_path: Path, value: str, secret: str
    ) -> None:
        """An entry's text may hold the colon that ends 'entry N = ...': it is masked whole."""
        (tmp_path / "PTYCHO_RECON_LOG_FIXED_INDICES").write_text(value)
        with pytest.raises(InvalidValueError) as caught:
            resolve_training(BASE, environ={}, secrets_dir=tmp_path)
        shown = str(caught.value) + repr(caught.value.problems)
        assert "entry 1 = " in shown
        assert "must be an integer" in shown
        # nor the part after the colon, which the mask once left
        for part in (secret, secret.split(":")[-1].strip()):
            assert part not in shown.replace(str(tmp_path), "<tmp>")

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("PTYCHO_RECON_LOG_FIXED_INDICES", '[1, {"user": "hunter2"}]'),
            ("PTYCHO_RECON_LOG_FIXED_INDICES", '[1, ["pass: hunter2"]]'),
            ("PTYCHO_TORCH__TRAINING_DIRECTORIES", '["a", {"k": ["x", "hunter2"]}]'),
            ("PTYCHO_TORCH__X_BOUNDS", "[0.25, {'k': 'hunter2'}]"),
        ],
    )
    def test_a_bad_entry_that_is_a_list_or_dict(
        self, tmp_path: Path, name: str, value: str
    ) -> None:
        """An entry that is itself a list or dict (a dict's repr always holds ': ') is masked
        whole, as an entry of text is."""
        (tmp_path / name).write_text(value)
        with pytest.raises(InvalidValueError) as caught:
            resolve_training(BASE, environ={}, secrets_dir=tmp_path)
        shown = str(caught.value) + repr(caught.value.problems)
        assert "entry 1 = <secret>: must be" in shown
        assert "hunter2" not in shown

    @FEW
    @given(
        st.sampled_from(
            [
                "PTYCHO_RECON_LOG_FIXED_INDICES",
                "PTYCHO_TORCH__TRAINING_DIRECTORIES",
                "PTYCHO_TORCH__X_BOUNDS",
            ]
        ),
        st.lists(
            st.recursive(
                st.integers(0, 9) | st.text(st.sampled_from("'\": \\,.[]{}é"), max_size=4),
                lambda inner: (
                    st.lists(inner, max_size=2)
                    | st.dictionaries(
                        st.text(st.sampled_from(": '\\x"), max_size=3), inner, max_size=2
                    )
                ),
                max_leaves=3,
            ).map(lambda entry: ["ZQXYW", entry]),
            min_size=1,
            max_size=3,
        ),
    )
    def test_no_entry_of_a_secret_list_shows(self, name: str, entries: list[Any]) -> None:
        """Whatever the entries (text with quotes, colons and backslashes, lists, dicts), the
        marker text inside them shows nowhere in the error."""
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / name).write_text(json.dumps(entries), encoding="utf-8")
            # each entry is a list, which no key takes
            with pytest.raises(InvalidValueError) as caught:
                resolve_training(BASE, environ={}, secrets_dir=folder)
        assert "ZQXYW" not in str(caught.value) + repr(caught.value.problems)

    def test_a_rule_keeps_its_own_words(self, tmp_path: Path) -> None:
        """A short secret is masked among the values, not inside the rule's text."""
        for name, value in {
            "PTYCHO_GRIDSIZE": "2",
            "PTYCHO_ENABLE_OVERSAMPLING": "true",
            "PTYCHO_NEIGHBOR_POOL_SIZE": "3",
        }.items():
            (tmp_path / name).write_text(value)
        with pytest.raises(InvalidValueError) as caught:
            resolve_training(BASE, environ={}, secrets_dir=tmp_path)
        [problem] = [p for p in caught.value.problems if "gridsize" in p.key]
        rule, _, values = problem.message.partition("got ")
        assert "requires neighbor_pool_size >= gridsize**2 (" == rule[-44:]
        assert "neighbor_pool_size=<secret>, model.gridsize=<secret>" in values
        assert "enable_oversampling=<secret>" in values  # 'true' given, True shown


def _payload(tmp_path: Path, **overrides: Any) -> Any:
    data = tmp_path / "train.npz"
    np.savez(data, probeGuess=np.ones((64, 64), dtype=np.complex64))
    return create_training_payload(
        data, tmp_path / "out", {"n_groups": 4, **overrides}, environ={}, execution_config=CPU
    )


class TestSecretsMaskedInDataChecks:
    """The factories' check against the data names a secret's source, never its value."""

    @pytest.mark.parametrize("strict", [True, False])
    def test_n_from_a_secret_contradicting_the_data(self, tmp_path: Path, strict: bool) -> None:
        import warnings

        secrets = tmp_path / "secrets"
        secrets.mkdir()
        (secrets / "PTYCHO_N").write_text("128")
        data = tmp_path / "train.npz"
        np.savez(data, probeGuess=np.ones((64, 64), dtype=np.complex64))
        shown = ""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                create_training_payload(
                    data, tmp_path / "out", BASE, environ={}, secrets_dir=secrets,
                    strict=strict, execution_config=CPU,
                )  # fmt: skip
            except PtychoConfigError as error:
                shown = str(error) + repr(error.problems)
        shown += "".join(str(w.message) for w in caught)
        assert "contradicts" in shown
        # the folder's path may hold '128' (pytest-1280): only the rest must not
        assert "128" not in shown.replace(str(tmp_path), "<tmp>")

    def test_devices_from_a_secret_contradicting_torchrun(self, tmp_path: Path) -> None:
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        (secrets / "PTYCHO_EXECUTION__DEVICES").write_text("3")
        torchrun = {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2"}
        data = tmp_path / "train.npz"
        np.savez(data, probeGuess=np.ones((64, 64), dtype=np.complex64))
        with pytest.raises(ConflictError) as caught:
            create_training_payload(
                data, tmp_path / "out", BASE, environ=torchrun, secrets_dir=secrets
            )
        shown = str(caught.value) + repr(caught.value.problems)
        assert "LOCAL_WORLD_SIZE=2" in shown
        assert "3" not in shown.replace(str(tmp_path), "")


class TestDotEnv:
    """A .env file is read through the guarded open and parsed from that text."""

    def test_a_variable_given_twice_is_an_error(self, tmp_path: Path) -> None:
        path = tmp_path / "run.env"
        path.write_text("PTYCHO_NEPOCHS=3\nOTHER=1\nPTYCHO_NEPOCHS=4\n")
        with pytest.raises(InvalidValueError, match=r"PTYCHO_NEPOCHS.*run.env:3.*given twice"):
            resolve_training(BASE, environ={}, env_file=path)

    def test_a_line_that_is_no_assignment_is_an_error(self, tmp_path: Path) -> None:
        path = tmp_path / "run.env"
        path.write_text("PTYCHO_NEPOCHS=3\nthis is not an assignment\n")
        with pytest.raises(InvalidValueError, match=r"run.env:2.*cannot parse"):
            resolve_training(BASE, environ={}, env_file=path)

    def test_a_file_of_many_lines_is_refused_before_it_is_parsed(self, tmp_path: Path) -> None:
        path = tmp_path / "run.env"
        path.write_text("".join(f"PTYCHO_U{i}=1\n" for i in range(20_000)))
        started = time.perf_counter()
        with pytest.raises(FileReadError, match="more than 5000 lines"):
            resolve_training(BASE, environ={}, env_file=path)
        assert time.perf_counter() - started < NO_HANG_S

    @pytest.mark.parametrize("end", ["\r", "\r\n"])
    def test_lines_ended_by_carriage_returns_count_as_lines(self, tmp_path: Path, end: str) -> None:
        """python-dotenv also ends a line at a lone \\r: those lines are within the bound too."""
        path = tmp_path / "run.env"
        path.write_bytes("".join(f"PTYCHO_U{i}=1{end}" for i in range(20_000)).encode())
        started = time.perf_counter()
        with pytest.raises(FileReadError, match="more than 5000 lines"):
            resolve_training(BASE, environ={}, env_file=path)
        assert time.perf_counter() - started < NO_HANG_S

    def test_values_are_literal(self, tmp_path: Path) -> None:
        """${VAR} is not expanded: expansion could grow a small file without bound."""
        path = tmp_path / "run.env"
        path.write_text("PTYCHO_OUTPUT_DIR=${HOME}/out\n")
        assert (
            Path("${HOME}/out")
            == resolve_training(BASE, environ={}, env_file=path).training_config.output_dir
        )

    def test_a_fifo_is_refused_without_blocking(self, tmp_path: Path) -> None:
        """The file opened is the file checked: a FIFO is never read (no check-then-open)."""
        fifo = tmp_path / "run.env"
        os.mkfifo(fifo)
        with pytest.raises(FileReadError, match="FIFO"):
            resolve_training(BASE, environ={}, env_file=fifo)


class TestValuesNoRunCanUse:
    """Every entry point refuses values no run can use, the schemas say where."""

    @pytest.mark.parametrize(
        ("overrides", "rule"),
        [
            ({"batch_size": 2**200}, "at most 2147483647"),
            ({"gridsize": 100_000}, "at most 32"),
            ({"torch.x_bounds": (0.9, 0.1)}, "low < high"),
            ({"torch.y_bounds": (-5, 7)}, "in [0,1]"),
            (
                {"torch.min_neighbor_distance": 4.0, "torch.max_neighbor_distance": 3.0},
                "min_neighbor_distance must be <= max_neighbor_distance",
            ),
            ({"nll_weight": 0, "mae_weight": 0}, "at least one loss weight must be > 0"),
            ({"output_dir": "a\0b"}, "without NUL bytes"),
        ],
    )
    def test_refused(self, overrides: dict[str, Any], rule: str) -> None:
        with pytest.raises(InvalidValueError, match=re.escape(rule)):
            resolve_training({**BASE, **overrides}, environ={})

    @FEW
    @given(st.floats(0, 1), st.floats(0, 1))
    def test_bounds_are_an_ordered_part_of_the_unit_range(self, low: float, high: float) -> None:
        pair = {"torch.x_bounds": (low, high)}
        if low < high:
            assert (low, high) == resolve_training(
                {**BASE, **pair}, environ={}
            ).config.torch.x_bounds
        else:
            with pytest.raises(InvalidValueError):
                resolve_training({**BASE, **pair}, environ={})

    def test_pytorch_loss_needs_no_tensorflow_weight(self) -> None:
        overrides = {**BASE, "nll_weight": 0, "mae_weight": 0, "backend": "pytorch"}
        assert 0 == resolve_training(overrides, environ={}).training_config.nll_weight

    def test_an_output_directory_that_is_a_file(self, tmp_path: Path) -> None:
        existing = tmp_path / "file"
        existing.write_text("")
        with pytest.raises(InvalidValueError, match="existing file, not a directory"):
            resolve_training({**BASE, "output_dir": existing}, environ={})

    def test_an_output_directory_under_a_file(self, tmp_path: Path) -> None:
        """No directory can be made below a file (train.npz/out): refused, not left to fail
        when the run writes."""
        existing = tmp_path / "train.npz"
        existing.write_text("")
        with pytest.raises(InvalidValueError, match="under an existing file"):
            resolve_training({**BASE, "output_dir": existing / "out"}, environ={})

    @pytest.mark.parametrize("name", ["a" * 300, "/".join(["a" * 200] * 30)])
    def test_an_output_directory_name_too_long(self, name: str) -> None:
        """The system's refusal of the name is the library's error, not a raw OSError."""
        with pytest.raises(InvalidValueError, match="no usable path"):
            resolve_training({**BASE, "output_dir": name}, environ={})

    def test_legacy_offset_beyond_a_c_int(self) -> None:
        import ptycho.params

        with pytest.raises(ValueError, match="offset"):
            ptycho.params.set("offset", 10**10000)
        assert 10**10000 != ptycho.params.get("offset")


class TestArgumentsOfTheWrongType:
    """Arguments of the wrong type, unprintable values and odd paths: the library's errors."""

    @pytest.mark.parametrize(
        "call",
        [
            lambda: resolve_training(BASE, environ={}, settings_sources=[42]),
            lambda: resolve_training([("n_groups", 4)], environ={}),  # type: ignore[arg-type]
            lambda: save_snapshot(object(), "."),
            lambda: from_legacy_dict([("N", 64)], "training"),  # type: ignore[arg-type]
            lambda: from_legacy_dict(None, "inference"),  # type: ignore[arg-type]
            lambda: resolve_training(BASE, environ=[("PTYCHO_N", "64")]),  # type: ignore[arg-type]
            lambda: to_env(None),
            lambda: to_env({"training.nepochs": 3}),
        ],
        ids=[
            "settings-source", "overrides-list", "snapshot-object", "legacy-list", "legacy-none",
            "environ-list", "to-env-none", "to-env-dict",
        ],
    )  # fmt: skip
    def test_wrong_types(self, call: Any) -> None:
        with pytest.raises(ArgumentTypeError):
            call()

    @pytest.mark.parametrize("name", [5, None, b"PTYCHO_N", ("PTYCHO_N",)])
    def test_an_environment_name_that_is_no_text_is_no_variable(self, name: Any) -> None:
        """os.environ holds text only; another name in a given mapping names no variable."""
        resolved = resolve_training(BASE, environ={name: "128"})
        assert 64 == resolved.training_config.model.N

    @pytest.mark.parametrize("path", [None, 5, b"d.npz", ["d.npz"], "", " ", "a\0b"])
    def test_a_data_file_that_is_no_path(self, path: Any) -> None:
        """infer_probe_size reads a path as every argument path is read: no path is no file."""
        with pytest.raises(InvalidValueError, match=r"^data file must be a path"):
            infer_probe_size(path)

    @pytest.mark.parametrize("flag", ["x", "false", 1, 0.0, [True]])
    @pytest.mark.parametrize(
        ("argument", "call"),
        [
            ("strict_env", lambda flag: resolve_training(BASE, environ={}, strict_env=flag)),
            ("strict_env", lambda flag: resolve_inference(BASE, environ={}, strict_env=flag)),
            ("changed_only", lambda flag: resolve_training(BASE, environ={}).explain(
                changed_only=flag)),
            ("strict", lambda flag: create_training_payload(
                "absent.npz", "out", BASE, environ={}, strict=flag)),
        ],
        ids=["resolve_training", "resolve_inference", "explain", "factory"],
    )  # fmt: skip
    def test_a_switch_takes_true_or_false_only(self, argument: str, call: Any, flag: Any) -> None:
        """A yes/no argument given anything but True or False (a word, a number) is refused,
        never read by its truth: 'false' would otherwise switch it on."""
        with pytest.raises(
            ArgumentTypeError, match=rf"^{argument} must be True(, False or None| or False), got "
        ):
            call(flag)

    @pytest.mark.parametrize(
        ("call", "accepted"),
        [
            (lambda kind: from_legacy_dict({}, kind), "'training', 'inference'"),
            (lambda kind: find(testing.environments(kind), bool), "'training', 'inference'"),
            (lambda kind: find(testing.config_documents(kind), bool), "'training', 'inference'"),
            (lambda kind: testing.source_assignments(kind), "'training', 'inference'"),
            (lambda kind: testing.configs(kind), "'model', 'training'"),
            (lambda kind: testing.build_config(kind), "'model', 'training'"),
            (lambda kind: testing.source_assignments(sources=[kind]), "'override', "),
        ],
        ids=[
            "from_legacy_dict", "environments", "config_documents", "source_assignments",
            "configs", "build_config", "source_kinds",
        ],
    )  # fmt: skip
    @pytest.mark.parametrize("kind", ["bogus", "Training", 3, ["training"]])
    def test_an_unknown_kind_lists_the_accepted_ones(
        self, call: Any, accepted: str, kind: Any
    ) -> None:
        """A kind or section name that is none is the library's InvalidValueError naming the
        value and the accepted names (not a KeyError, nor a plain ValueError)."""
        with pytest.raises(InvalidValueError, match=re.escape(accepted)) as raised:
            call(kind)
        assert re.escape(repr(kind)) in re.escape(str(raised.value))

    def test_an_unknown_key_of_a_resolution_is_named(self) -> None:
        """Resolved.value of a key it does not hold is an UnknownKeyError with suggestions."""
        resolved = resolve_training(BASE, environ={})
        for key, hint in [("nepochs", "training.nepochs"), ("training.nepoch", "training.nepochs"),
                          ("inference.model_path", None), ("", None), (3, None)]:  # fmt: skip
            with pytest.raises(
                UnknownKeyError, match="is no key of a training resolution"
            ) as raised:
                resolved.value(key)  # type: ignore[arg-type]
            assert repr(key) in str(raised.value)
            assert (f"did you mean {hint!r}?" in str(raised.value)) is (hint is not None)

    def test_values_whose_eq_and_repr_raise(self) -> None:
        class Hostile:
            def __eq__(self, other: object) -> bool:
                raise RuntimeError("eq")

            def __repr__(self) -> str:
                raise RuntimeError("repr")

            __hash__ = object.__hash__

        with pytest.raises(PtychoConfigError):
            resolve_training({"n_groups": Hostile(), "training.n_groups": Hostile()}, environ={})

    @pytest.mark.parametrize("key", ["output_dir", "train_data_file", "test_data_file"])
    def test_a_path_value_whose_str_raises(self, key: str) -> None:
        class Hostile:
            def __str__(self) -> str:
                raise RuntimeError("str")

        with pytest.raises(InvalidValueError, match=f"{key} = .*must be a path"):
            resolve_training({**BASE, key: Hostile()}, environ={})

    @pytest.mark.parametrize("path", [123, b"run.env", "a\0b", "", "  "])
    @pytest.mark.parametrize("argument", ["env_file", "secrets_dir", "config_file"])
    def test_source_file_paths(self, argument: str, path: Any) -> None:
        with pytest.raises(InvalidValueError, match=argument):
            resolve_training(BASE, environ={}, **{argument: path})

    @pytest.mark.parametrize("variable", ["PTYCHO_ENV_FILE", "PTYCHO_SECRETS_DIR"])
    def test_nul_in_a_path_variable(self, variable: str) -> None:
        with pytest.raises(InvalidValueError, match="NUL"):
            resolve_training(BASE, environ={variable: "a\0b"})

    @pytest.mark.parametrize("directory", ["", "a\0b", 7])
    def test_snapshot_directory(self, tmp_path: Path, directory: Any) -> None:
        payload = _payload(tmp_path)
        with pytest.raises(InvalidValueError, match="snapshot directory"):
            save_snapshot(payload, directory)
        assert not Path(SNAPSHOT_NAME).exists()

    @pytest.mark.parametrize("directory", ["", "  ", "a\0b", 7, b"model"])
    def test_snapshot_directory_to_load(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, directory: Any
    ) -> None:
        """An empty path never loads the working directory's snapshot."""
        save_snapshot(_payload(tmp_path), tmp_path)
        monkeypatch.chdir(tmp_path)
        with pytest.raises(InvalidValueError, match="snapshot directory"):
            load_snapshot(directory)


class TestUnvalidatedConfigs:
    """A config built with model_construct is checked before anything writes it out."""

    def test_populate_legacy_params(self) -> None:
        import ptycho.params

        before = dict(ptycho.params.cfg)
        config = TrainingConfig.model_construct(nepochs=-3)
        with pytest.raises(InvalidValueError, match="nepochs"):
            populate_legacy_params(config)
        assert before == dict(ptycho.params.cfg)

    def test_save_snapshot(self, tmp_path: Path) -> None:
        payload = _payload(tmp_path)
        broken = TrainingConfig.model_construct(
            **{**dict(payload.training_config), "batch_size": 3}
        )
        with pytest.raises(InvalidValueError, match="batch_size"):
            save_snapshot(dataclasses.replace(payload, training_config=broken), tmp_path)
        assert not (tmp_path / SNAPSHOT_NAME).exists()


class TestSnapshotTemporaryFiles:
    """Only a temporary file both old and unlocked is removed; a live writer's never is."""

    def test_two_writers(self, tmp_path: Path) -> None:
        import fcntl

        payload = _payload(tmp_path)
        old = time.time() - 3600

        def leftover(name: str, age: float) -> Path:
            path = tmp_path / f".{SNAPSHOT_NAME}.{name}.tmp"
            path.write_text('{"half')
            os.utime(path, (age, age))
            return path

        abandoned = leftover("abandoned", old)
        young = leftover("young", time.time())  # a writer between creating and locking it
        locked = leftover("locked", old)  # a slow writer in another container, holding its lock
        with open(locked, "rb") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            save_snapshot(payload, tmp_path)
            assert young.exists()
            assert locked.exists()
        assert not abandoned.exists()
        assert (tmp_path / SNAPSHOT_NAME).exists()


class TestCommandLine:
    """Ctrl-C, empty flags and the env export's quoting."""

    def test_interrupt_is_one_line_and_exit_130(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from ptycho_config import __main__ as cli

        def interrupted(*args: Any) -> str:
            raise KeyboardInterrupt

        monkeypatch.setattr(cli, "_run", interrupted)
        assert 130 == cli.main(["check"])
        assert "ptycho-config: interrupted\n" == capsys.readouterr().err

    def test_a_real_sigint(self, tmp_path: Path) -> None:
        """The signal itself, in a child that blocks until it comes: exit 130, one line."""
        import subprocess
        import sys

        code = (  # a shell that started the run in the background leaves SIGINT ignored
            "import os, signal, ptycho_config.__main__ as c\n"
            "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "def wait(args): os.kill(os.getpid(), signal.SIGINT); signal.pause()\n"
            "c._run = wait\n"
            "raise SystemExit(c.main(['check']))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )
        assert (130, "ptycho-config: interrupted\n") == (done.returncode, done.stderr)

    def test_an_empty_config_flag_is_an_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        from ptycho_config import __main__ as cli

        assert 3 == cli.main(["check", "--config", ""])
        assert "config_file must be a path, not an empty string" in capsys.readouterr().err

    @FEW
    @given(st.text(st.characters(codec="utf-8", exclude_characters="\0\r"), max_size=40))
    def test_env_export_reads_back_through_an_env_file(self, value: str) -> None:
        """Whatever text a value holds (a quote included), its exported line reads back."""
        import tempfile

        from ptycho_config._sources.environment import read_dotenv

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "run.env"
            path.write_text(f"PTYCHO_TORCH__NOTES={env_quoted(value)}\n", encoding="utf-8")
            assert {"PTYCHO_TORCH__NOTES": value} == read_dotenv(path)

    @FEW
    @given(st.text(st.characters(codec="utf-8", exclude_characters="\0\r$`"), max_size=40))
    def test_env_export_reads_back_through_a_shell(self, value: str) -> None:
        """Without $ or a backquote, a POSIX shell reads the same value back."""
        import subprocess

        line = f'V={env_quoted(value)}; printf %s "$V"'
        shown = subprocess.run(["sh", "-c", line], capture_output=True, check=True).stdout
        assert value == shown.decode("utf-8")


class TestMetadataNphotons:
    """nphotons given as text or bytes in `_metadata` is not used as a number: a warning."""

    @pytest.mark.parametrize("value", ["1e9", b"1e9", "  5e8 "])
    def test_text_is_ignored_with_a_warning(self, tmp_path: Path, value: Any) -> None:
        from ptycho_config._datafiles.npz import inspect_data_file

        stored = np.empty((), dtype=object)
        stored[()] = {"physics_parameters": {"nphotons": value}}
        path = tmp_path / "d.npz"
        np.savez(path, probeGuess=np.ones((64, 64), dtype=np.complex64), _metadata=stored)
        with pytest.warns(UserWarning, match="is not a positive number"):
            assert inspect_data_file(path).nphotons is None
