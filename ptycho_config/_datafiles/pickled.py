"""The one pickled form a data file may hold: the reference's 0-d object array of plain values.

The reference stores `_metadata` as `np.array(json_string_or_dict, dtype=object)`, which
numpy pickles. Its pickle names numpy's array reconstruction, `ndarray` and `dtype`; the
unpickler here resolves those names to stand-ins that only record the array's state (no array
is rebuilt), allows the builtin plain types only as copies (``bytes()``, ``str(text)``: nothing
they build is bigger than what the pickle holds), and refuses every other global before
anything runs. pickle is imported only when such a member is met.

The pure-Python unpickler runs it, so that its memo is a dict (an index of 10**8 costs
nothing) and BUILD, the one opcode that changes an object's state, can be limited to the
stand-ins. The input is at most a few hundred KiB and no opcode does more than a bounded
amount of work per byte, so the total work is bounded too.
"""

from __future__ import annotations

import functools
import io
from typing import Any, ClassVar

from ptycho_config._errors import Unreadable, show


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
            raise Unreadable(f"it pickles an array of shape {show(shape)}, not one object")
        return items[0]


def _new_array(cls: Any, shape: Any, typecode: Any) -> _ArrayState:
    return _ArrayState()


def _copy_of(kind: type) -> Any:
    """``kind`` called with nothing or with one value of its own type: never a conversion
    (``str`` of a shared tuple, ``list`` of a large bytes), so never bigger than its input."""

    def build(*args: Any) -> Any:
        if len(args) > 1 or (args and type(args[0]) is not kind):
            raise Unreadable(f"its pickle converts a value with {kind.__name__}()")
        return kind(*args)

    return build


# Everything a pickled 0-d object array of plain values names; nothing here runs code.
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    **{(module, "_reconstruct"): _new_array for module in
       ("numpy.core.multiarray", "numpy._core.multiarray")},
    ("numpy", "ndarray"): _ArrayState,
    ("numpy", "dtype"): _ArrayState,
    **{("builtins", t.__name__): _copy_of(t)
       for t in (str, bytes, dict, list, tuple, int, float, bool)},
}  # fmt: skip


def _find_class(module: str, name: str) -> Any:
    """The only globals a metadata pickle may name; any other is refused, never imported."""
    try:
        return _ALLOWED_GLOBALS[(module, name)]
    except KeyError:
        raise Unreadable(
            f"its pickle needs {module}.{name}, which a metadata array never needs "
            "(refused without running it)"
        ) from None


@functools.cache
def _unpickler() -> Any:
    """pickle's Unpickler with `_find_class` as its only way to a global (pickle is imported
    only where the reference's metadata form is met)."""
    import pickle

    def build(self: Any) -> None:
        if not isinstance(self.stack[-2], _ArrayState):
            raise Unreadable("its pickle changes the state of a global")
        pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]

    class MetadataUnpickler(pickle._Unpickler):
        dispatch: ClassVar = {**pickle._Unpickler.dispatch, pickle.BUILD[0]: build}

        def find_class(self, module: str, name: str) -> Any:
            return _find_class(module, name)

    return MetadataUnpickler


def unpickle_item(data: bytes) -> Any:
    """The object a pickled 0-d object array holds; anything but plain values is refused."""
    try:
        array = _unpickler()(io.BytesIO(data)).load()
        if not isinstance(array, _ArrayState):
            raise Unreadable("its pickle holds no array")
        return array.item()
    except Unreadable:
        raise
    except Exception as e:  # a corrupt pickle fails in many ways, all of them harmless here
        raise Unreadable(f"its pickle cannot be read ({type(e).__name__}: {e})") from e
