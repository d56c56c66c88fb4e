"""Scopes that save and restore ``ptycho.params.cfg`` and its seal, as PtychoPINN's do.

One execution context (a thread, or an asyncio task within it) owns the scope stack at a
time; it nests freely, another context entering raises RuntimeError. Restoring refills the
same dict object in place, because legacy code holds references to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from ptycho import params

__all__ = [
    "archived_params_scope",
    "configured_legacy_params",
    "configured_params_scope",
    "legacy_params_scope",
    "scoped_legacy_params",
    "transactional_legacy_params",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")


@dataclass
class _Frame:
    snapshot: dict[str, Any]
    sealed: bool
    archive: bool


_lock = threading.RLock()
_frames: list[_Frame] = []
_owner: tuple[int, int | None] | None = None


def _identity() -> tuple[int, int | None]:
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running event loop in this thread
        task = None
    return threading.get_ident(), None if task is None else id(task)


def _owns() -> bool:
    return bool(_frames) and _owner == _identity()


def _push(archive: bool) -> _Frame:
    global _owner
    with _lock:
        identity = _identity()
        if _frames and _owner != identity:
            raise RuntimeError("legacy params scope is already active in another execution context")
        _owner = identity
        frame = _Frame(dict(params.cfg), params.is_sealed(), archive)
        _frames.append(frame)
        return frame


def _pop() -> None:
    global _owner
    with _lock:
        _frames.pop()
        if not _frames:
            _owner = None


def _restore(frame: _Frame) -> None:
    with params._write_lock:
        params.cfg.clear()
        params.cfg.update(frame.snapshot)
        params.seal() if frame.sealed else params.unseal()


@contextlib.contextmanager
def legacy_params_scope() -> Iterator[dict[str, Any]]:
    """Snapshot ``params.cfg`` and the seal on entry; always restore them on exit."""
    frame = _push(archive=False)
    try:
        yield params.cfg
    finally:
        _restore(frame)
        _pop()


@contextlib.contextmanager
def configured_params_scope() -> Iterator[dict[str, Any]]:
    """Restore only when the block raises; on success the changes stay."""
    frame = _push(archive=False)
    try:
        yield params.cfg
    except BaseException:
        _restore(frame)
        raise
    finally:
        _pop()


@contextlib.contextmanager
def archived_params_scope(values: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Apply ``values``; on failure restore; on success commit them into every enclosing
    snapshot (unless an enclosing scope is itself an archive)."""
    frame = _push(archive=True)
    try:
        params.cfg.update(values)
        yield params.cfg
    except BaseException:
        _restore(frame)
        raise
    else:
        enclosing = _frames[:-1]
        if not any(outer.archive for outer in enclosing):
            for outer in enclosing:
                outer.snapshot, outer.sealed = dict(params.cfg), params.is_sealed()
    finally:
        _pop()


def scoped_legacy_params(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` in a ``legacy_params_scope`` unless this context already owns one."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        if _owns():
            return fn(*args, **kwargs)
        with legacy_params_scope():
            return fn(*args, **kwargs)

    return wrapper


def configured_legacy_params(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` in a ``configured_params_scope``."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with configured_params_scope():
            return fn(*args, **kwargs)

    return wrapper


def transactional_legacy_params(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` in an ``archived_params_scope({})``."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with archived_params_scope({}):
            return fn(*args, **kwargs)

    return wrapper


def _reset_in_child() -> None:
    global _lock, _owner
    _lock, _owner = threading.RLock(), None
    _frames.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
