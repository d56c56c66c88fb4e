"""The pytest plugin (entry point ``pytest11``): three fixtures and a check for leaked ``PTYCHO_*``
variables (docs/testing.md). It loads in every pytest run where the package is installed, so it
imports neither Hypothesis nor anything heavy at import time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

_CHECK_OPTION = "ptycho_config_check_env"


def _ptycho_variables() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.upper().startswith("PTYCHO_")}


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ini option that turns the leaked-variable check off."""
    parser.addini(
        _CHECK_OPTION,
        "fail a test that leaves PTYCHO_* variables changed in os.environ (default true)",
        type="bool",
        default=True,
    )


@pytest.fixture(autouse=True)
def _ptycho_env_leak_check(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves PTYCHO_* variables changed, and undo the change."""
    # requested first by every test, so its teardown runs after monkeypatch's undo
    before = _ptycho_variables()
    yield
    after = _ptycho_variables()
    if after == before or not request.config.getini(_CHECK_OPTION):
        return
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    for name in changed:
        os.environ.pop(name, None)
    os.environ.update({name: before[name] for name in changed if name in before})
    pytest.fail(
        f"the test left PTYCHO_* variables changed in os.environ: {', '.join(changed)}; "
        "set them with the ptycho_env fixture (or monkeypatch.setenv) so they are restored",
        pytrace=False,
    )


class PtychoEnv:
    """A clean PTYCHO_* environment for one test; every change is undone after it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        for name in _ptycho_variables():
            monkeypatch.delenv(name)

    def variable(self, key: str) -> str:
        """The variable for a key: a qualified key, any spelling, or the variable name itself."""
        from ptycho_config._errors import UnknownKeyError, show, suggest
        from ptycho_config._schemas.registry import (
            ENV_PREFIX,
            PAYLOAD_SECTIONS,
            RESERVED_ENV,
            Match,
            env_name,
            env_names,
            lookup_env,
        )

        name = key.upper()
        if name in RESERVED_ENV:
            return name
        if not name.startswith(ENV_PREFIX):  # a key: training.batch_size, batch_size
            name = env_name(key)
        if any(isinstance(lookup_env(name, kind), Match) for kind in PAYLOAD_SECTIONS):
            return name
        hints = suggest(name, [n for kind in PAYLOAD_SECTIONS for n in env_names(kind)])
        problem = UnknownKeyError.problem(
            show(key), "names no configuration key", suggestions=hints
        )
        raise UnknownKeyError(f"ptycho_env: {problem}", [problem])

    def set(self, key: str, value: Any) -> str:
        """Set a key ('training.batch_size', 'batch_size', 'max_epochs', 'PTYCHO_N_GROUPS') to a
        value written as the library reads it back (True → 'true'); return the variable's name."""
        from ptycho_config._sources.environment import env_text

        name = self.variable(key)
        self._monkeypatch.setenv(name, value if isinstance(value, str) else env_text(value))
        return name

    def unset(self, key: str) -> None:
        """Remove the variable of a key (nothing happens when it is not set)."""
        self._monkeypatch.delenv(self.variable(key), raising=False)

    @property
    def variables(self) -> dict[str, str]:
        """The PTYCHO_* variables set now."""
        return _ptycho_variables()


@pytest.fixture
def ptycho_env(monkeypatch: pytest.MonkeyPatch) -> PtychoEnv:
    """An environment without PTYCHO_* variables, with ``set(key, value)``; restored after."""
    return PtychoEnv(monkeypatch)


@pytest.fixture
def legacy_params() -> Iterator[ModuleType]:
    """``ptycho.params`` at its defaults (unsealed) for the test; its state restored after."""
    import ptycho.params as params

    saved, sealed = dict(params.cfg), params.is_sealed()
    params.reset()
    try:
        yield params
    finally:
        params.reset()
        params.cfg.clear()  # and refilled: callers hold references to this dict object
        params.cfg.update(saved)
        if sealed:
            params.seal()


@dataclass(frozen=True)
class ExampleData:
    """The bundled example written into a test's tmp_path."""

    root: Path
    train_data: Path
    test_data: Path
    config: Path
    model: Path


@pytest.fixture
def example_data(tmp_path: Path) -> ExampleData:
    """The bundled example (data files, config file, model directory) under tmp_path."""
    from ptycho_config._factories.example import CONFIG, MODEL, TEST_DATA, TRAIN_DATA, copy_example

    root = copy_example(tmp_path / "ptycho_example")
    return ExampleData(root, root / TRAIN_DATA, root / TEST_DATA, root / CONFIG, root / MODEL)
