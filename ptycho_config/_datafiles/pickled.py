"""The one pickled form a data file may hold: the reference's 0-d object array of plain values.

One linear pass over the opcodes first refuses what would make the unpickler's memory or work
unbounded; then pickle's Unpickler runs it, the three globals numpy's pickle names resolved to
stand-ins that only record the array's state, every other global refused before anything runs
(docs/data-files.md, "Safety guarantees"). pickle is imported only when such a member is met.
"""

from __future__ import annotations

import io
from typing import Any

from ptycho_config._errors import Unreadable, show

# Every opcode numpy's pickle of a 0-d object array of plain values uses, protocols 3 to 5
# (LONG_BINPUT, LONG_BINGET and LONG4 where there are many values or a large int).
_OPCODES = frozenset({
    "PROTO", "FRAME", "STOP", "MARK", "GLOBAL", "STACK_GLOBAL", "REDUCE", "BUILD",
    "BINPUT", "LONG_BINPUT", "MEMOIZE", "BINGET", "LONG_BINGET",
    "NONE", "NEWTRUE", "NEWFALSE", "BININT", "BININT1", "BININT2", "LONG1", "LONG4", "BINFLOAT",
    "SHORT_BINUNICODE", "BINUNICODE", "SHORT_BINBYTES", "BINBYTES",
    "EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3",
    "EMPTY_LIST", "APPEND", "APPENDS", "EMPTY_DICT", "SETITEM", "SETITEMS",
})  # fmt: skip


def _check_opcodes(data: bytes) -> None:
    """Refuse an opcode such a pickle never uses; a memo index out of the order a pickler writes
    them (the C unpickler's memo is as long as the largest index); a dict key that is not text,
    before it is hashed (a tuple key is hashed through every level and every shared copy, and
    ints can be chosen to collide). The stack is followed as whether each value is text."""
    import pickletools

    stack: list[bool] = []
    marks: list[int] = []  # where each open mark lies on the stack
    memo: dict[object, bool] = {}
    for opcode, arg, _ in pickletools.genops(data):
        name, before = opcode.name, opcode.stack_before
        if name not in _OPCODES:
            raise Unreadable(f"its pickle uses {name}, which a metadata array never uses")
        if name in ("BINPUT", "LONG_BINPUT", "MEMOIZE"):
            index = arg if isinstance(arg, int) else len(memo)  # MEMOIZE: the next
            if index > len(memo):
                raise Unreadable(f"its pickle stores memo entry {index} after only {len(memo)}")
            memo[index] = bool(stack) and stack[-1]
            continue
        if name == "MARK":
            marks.append(len(stack))
            continue
        if name in ("BINGET", "LONG_BINGET"):
            stack.append(memo.get(arg, False))
            continue
        popped: list[bool] = []
        if pickletools.markobject in before:  # the items down to the last mark, then the rest
            start = marks.pop() if marks else len(stack)
            popped, before = stack[start:], before[:-2]
            del stack[start:]
        start = max(len(stack) - len(before), 0)
        popped += stack[start:]
        del stack[start:]
        # SETITEM pops a dict, a key and a value; SETITEMS keys and values, then the dict
        keys = popped[1::2] if name == "SETITEM" else popped[:-1:2]
        if name in ("SETITEM", "SETITEMS") and not all(keys):
            raise Unreadable("its pickle has a dict key that is not text")
        stack += [name in ("SHORT_BINUNICODE", "BINUNICODE")] * len(opcode.stack_after)


class _ArrayState:
    """Stands in for the 0-d object array a metadata pickle rebuilds: it keeps the state only."""

    state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _Global:
    """What an allowed global resolves to: calling it makes a fresh stand-in (whatever the
    arguments), and BUILD on it is refused, so no load changes what the next one sees."""

    def __call__(self, *args: Any) -> _ArrayState:
        return _ArrayState()

    def __setstate__(self, state: Any) -> None:
        raise Unreadable("its pickle changes the state of a global")


# Everything a pickled 0-d object array of plain values names; nothing here runs code.
_ALLOWED_GLOBALS = dict.fromkeys(
    [
        ("numpy.core.multiarray", "_reconstruct"),  # numpy 1
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    ],
    _Global(),
)


def unpickle_item(data: bytes) -> Any:
    """The object a pickled 0-d object array holds; anything but plain values is refused."""
    import pickle

    class MetadataUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) not in _ALLOWED_GLOBALS:
                raise Unreadable(
                    f"its pickle needs {module}.{name}, which a metadata array never needs "
                    "(refused without running it)"
                )
            return _ALLOWED_GLOBALS[(module, name)]

    try:
        _check_opcodes(data)
        array = MetadataUnpickler(io.BytesIO(data)).load()
        if not isinstance(array, _ArrayState):
            raise Unreadable("its pickle holds no array")
        shape, items = array.state[1], array.state[-1]  # numpy pickles the items as a list
        if tuple(shape) != () or not isinstance(items, list) or len(items) != 1:
            raise Unreadable(f"it pickles an array of shape {show(shape)}, not one object")
        return items[0]
    except Unreadable:
        raise
    except Exception as e:  # a corrupt pickle fails in many ways, all of them harmless here
        raise Unreadable(f"its pickle cannot be read ({type(e).__name__}: {e})") from e
