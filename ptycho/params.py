"""The legacy global parameter dict ``cfg`` (docs/legacy.md), and all global state of the library.

``cfg`` is always the same dict object: callers keep references to it. Writers hold
``_write_lock`` and change it with one ``dict.update``, so a ``dict(cfg)`` snapshot never shows
half a write. Nothing heavy is imported before the first ``set``.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import numbers
import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ptycho_config._errors import Problem

__all__ = [
    "DATA_SOURCES",
    "DEFAULT_CFG",
    "RUNTIME_KEYS",
    "cfg",
    "ensure_defaults",
    "get",
    "get_bigN",
    "get_padded_size",
    "get_padding_size",
    "is_sealed",
    "params",
    "print_params",
    "reset",
    "seal",
    "set",
    "unseal",
    "validate",
]

# The reference implementation's defaults, key for key; schema defaults may differ on purpose.
DEFAULT_CFG: Mapping[str, Any] = MappingProxyType(
    {
        "N": 128,
        "offset": 4,
        "gridsize": 2,
        "outer_offset_train": None,
        "outer_offset_test": None,
        "batch_size": 16,
        "nepochs": 60,
        "n_filters_scale": 2,
        "output_prefix": "outputs",
        "big_gridsize": 10,
        "max_position_jitter": 10,
        "sim_jitter_scale": 0.0,
        "default_probe_scale": 0.7,
        "mae_weight": 0.0,
        "nll_weight": 1.0,
        "tv_weight": 0.0,
        "realspace_mae_weight": 0.0,
        "realspace_weight": 0.0,
        "nphotons": 1e9,
        "nimgs_train": 9,
        "nimgs_test": 3,
        "data_source": "generic",
        "probe.trainable": False,
        "intensity_scale.trainable": False,
        "positions.provided": False,
        "object.big": True,
        "probe.big": False,
        "probe_scale": 10.0,
        "set_phi": False,
        "probe.mask": True,
        "pad_object": True,
        "model_type": "pinn",
        "label": "",
        "size": 392,
        "amp_activation": "sigmoid",
        "h5_path": "wts.h5",
        "npseed": 42,
        "debug": True,
        "gaussian_smoothing_sigma": 0.0,
        "use_xla_translate": True,
    }
)

# Values that training code writes at run time; setting them is expected even when sealed.
RUNTIME_KEYS = frozenset({"intensity_scale", "probe", "timestamp"})
# The data sources the reference accepts for ``data_source``.
DATA_SOURCES = (
    "lines", "grf", "experimental", "points", "testimg", "diagonals", "xpp", "V", "generic",
)  # fmt: skip

cfg: dict[str, Any] = dict(DEFAULT_CFG)

_logger = logging.getLogger(__name__)
_write_lock = threading.RLock()
_sealed = False
# key -> the value the most recent populate that wrote this key wrote
_populated: dict[str, Any] = {}


class _Missing:
    """No default given (shown by name, not as an object address, in help())."""

    def __repr__(self) -> str:
        return "<no default>"


_MISSING: Any = _Missing()


def ensure_defaults() -> None:
    """Put back every default key missing from ``cfg`` (values present are left alone)."""
    with _write_lock:
        cfg.update({key: value for key, value in DEFAULT_CFG.items() if key not in cfg})


def get(key: str, default: Any = _MISSING) -> Any:
    """The value of ``key``, else ``default``, else KeyError; a ``bigN`` that cannot be derived
    (after a bad direct write) raises InvalidValueError whatever the default."""
    ensure_defaults()
    if key == "bigN":
        return get_bigN()
    value = cfg.get(key, default)
    if value is _MISSING:
        raise KeyError(key)
    return value


def set(key: str, value: Any) -> None:
    """Store a value valid for its key and for the reference's whole-dict rules (see
    ``_rule_problems``); an invalid one raises ValueError and is not stored."""
    stored = _checked(key, value)
    broken = [p for p in _rule_problems({**cfg, key: stored}) if p.key == key]
    if broken:
        from ptycho_config._errors import show

        raise ValueError(f"{key} = {show(value)}: {broken[0].message}")
    with _write_lock:
        if _sealed and key not in RUNTIME_KEYS:
            # the line that wrote, as the reference's wording names it ('?' on an interpreter
            # without frame support)
            caller = getattr(inspect.currentframe(), "f_back", None)
            where = f"{caller.f_code.co_filename}:{caller.f_lineno}" if caller else "?"
            _logger.warning("post-seal params.cfg write: %s (from %s)", key, where)
        cfg.update({key: stored})


def params() -> dict[str, Any]:
    """A copy of the dict (missing defaults restored) with the derived ``bigN`` added."""
    snapshot = _snapshot()
    return {**snapshot, "bigN": _big_n(snapshot)}


def get_bigN() -> int:
    """``N + (gridsize - 1) * offset``."""
    return _big_n(_snapshot())


def get_padding_size() -> int:
    """``(gridsize - 1) * offset + max_position_jitter``."""
    names = ("gridsize", "offset", "max_position_jitter")
    gridsize, offset, jitter = _integers(_snapshot(), "padding_size", names)
    return (gridsize - 1) * offset + jitter


def get_padded_size() -> int:
    """``bigN + max_position_jitter``."""
    snapshot = _snapshot()
    return _big_n(snapshot) + _integers(snapshot, "padded_size", ("max_position_jitter",))[0]


def print_params() -> None:
    """Print every parameter, sorted; arrays as their shape and statistics."""
    print("Current Parameters:")
    print("-" * 20)
    for key, value in sorted(params().items()):
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            import numpy as np  # only for array values

            array = np.asarray(value)
            print(f"{key}:")
            print(f"  shape: {array.shape}")
            for stat in ("mean", "std", "min", "max"):
                print(f"  {stat}: {getattr(array, stat)():.3f}")
        else:
            print(f"{key}: {value}")


def validate() -> None:
    """Check every value, the reference's rules and ``bigN``: one error lists every problem."""
    from ptycho_config._errors import InvalidValueError

    snapshot = _snapshot()
    problems: list[Problem] = []
    for key, value in snapshot.items():
        try:
            _checked(key, value)
        except ValueError as error:
            problems.append(InvalidValueError.problem(key, str(error), value, "params.cfg"))
    problems += _rule_problems(snapshot)
    try:
        _big_n(snapshot)
    except InvalidValueError as error:
        problems += error.problems
    if problems:
        raise InvalidValueError.from_problems(problems, "params.cfg")


def seal() -> None:
    """From now on, log a warning whenever ``set`` changes a configuration key."""
    global _sealed
    with _write_lock:
        _sealed = True


def unseal() -> None:
    """Allow ``set`` again without warnings."""
    global _sealed
    with _write_lock:
        _sealed = False


def is_sealed() -> bool:
    return _sealed


def reset() -> None:
    """Back to the defaults, unsealed, nothing remembered (for tests; not atomic to readers)."""
    global _sealed
    with _write_lock:
        # drop extra keys first and refill in one update, so readers never see an empty dict
        for key in [k for k in cfg if k not in DEFAULT_CFG]:
            del cfg[key]
        cfg.update(DEFAULT_CFG)
        _populated.clear()
        _sealed = False


def _write_populated(values: dict[str, Any], *, report: bool = True) -> dict[str, tuple[Any, Any]]:
    """Write a populate's values (a dict of the caller's own: not copied) in one step; return
    ``{key: (old, new)}`` for each value an earlier populate wrote, still held, and it changes."""
    with _write_lock:
        replaced = {}
        if report:  # the factories replace the previous run's values on purpose
            replaced = {
                key: (cfg[key], value)
                for key, value in values.items()
                if key in _populated
                and key in cfg
                and _same(cfg[key], _populated[key])
                and not _same(cfg[key], value)
            }
        cfg.update(values)
        _populated.update(values)
    return replaced


def _snapshot() -> dict[str, Any]:
    ensure_defaults()
    return dict(cfg)


def _same(a: Any, b: Any) -> bool:
    """The same value of the same type (legacy code tells 1, 1.0 and True apart)."""
    from ptycho_config._errors import same_value

    return type(a) is type(b) and same_value(a, b)


def _big_n(values: Mapping[str, Any]) -> int:
    n, gridsize, offset = _integers(values, "bigN", ("N", "gridsize", "offset"))
    return n + (gridsize - 1) * offset


def _integers(values: Mapping[str, Any], size: str, names: tuple[str, ...]) -> list[int]:
    """The values ``size`` is derived from; an error if one is no integer (a bad direct write)."""
    bad = [
        name
        for name in names
        if isinstance(values.get(name), bool) or not isinstance(values.get(name), numbers.Integral)
    ]
    if bad:
        from ptycho_config._errors import InvalidValueError, show

        reason = ", ".join(f"{name} = {show(values.get(name))} is no integer" for name in bad)
        problem = InvalidValueError.problem(
            size, f"cannot be derived: {reason}", source="params.cfg"
        )
        raise InvalidValueError.from_problems([problem], "params.cfg")
    return [int(values[name]) for name in names]


def _rule_problems(values: Mapping[str, Any]) -> list[Problem]:
    """The reference's ``validate()`` rules over the whole dict."""
    from ptycho_config._errors import InvalidValueError

    problems: list[Problem] = []
    source = values.get("data_source", _MISSING)
    if source is not _MISSING and source not in DATA_SOURCES:
        message = f"Invalid data source: must be one of {list(DATA_SOURCES)}"
        problems.append(InvalidValueError.problem("data_source", message, source, "params.cfg"))
    mae, weight = values.get("realspace_mae_weight"), values.get("realspace_weight")
    with contextlib.suppress(TypeError):  # a wrongly typed value is reported on its own
        if mae is not None and mae > 0 and not (weight is not None and weight > 0):
            message = "realspace_mae_weight > 0 requires realspace_weight > 0"
            problems += [
                InvalidValueError.problem("realspace_mae_weight", message, mae, "params.cfg"),
                InvalidValueError.problem("realspace_weight", message, weight, "params.cfg"),
            ]
    return problems


_MAX_INT = 2**31 - 1
# What a value must be, by its default's type: any integer or real number, never a bool.
_NUMBERS = {int: numbers.Integral, float: numbers.Real}


def _checked(key: str, value: Any) -> Any:
    """The value to store for ``key`` (what a field of that legacy name accepts, else the type
    of the reference default, else anything), or ValueError naming the key and the value."""
    # imported here so that `import ptycho.params` stays free of pydantic
    from ptycho_config._errors import show
    from ptycho_config._legacy.values import legacy_validators, validate_legacy_value

    if legacy_validators(key):  # a field's legacy name: that field's rules
        return validate_legacy_value(key, value)
    default = DEFAULT_CFG.get(key)
    if default is None:
        return value
    kind = type(default)
    if not isinstance(value, _NUMBERS.get(kind, kind)) or (
        kind is not bool and isinstance(value, bool)
    ):
        raise ValueError(
            f"{key} = {show(value)}: expected a {kind.__name__}, like the default {default!r}"
        )
    if kind is int and not -_MAX_INT <= value <= _MAX_INT:  # the C int the backends use
        raise ValueError(f"{key} = {show(value)}: must be within ±{_MAX_INT} (2**31 - 1)")
    return value
