"""Every test starts from a clean environment and fresh library state."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

import ptycho.params

settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every PTYCHO_* variable so the host environment cannot leak into a test."""
    for name in list(os.environ):
        if name.upper().startswith("PTYCHO_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _fresh_legacy_params() -> Iterator[None]:
    """Reset ptycho.params (defaults, unsealed, no populate remembered) around every test."""
    ptycho.params.reset()
    yield
    ptycho.params.reset()
