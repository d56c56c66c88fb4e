"""Every test starts from a clean environment and fresh library state (the kit's fixtures)."""

from __future__ import annotations

import os
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

from ptycho_config.testing_plugin import PtychoEnv

settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _isolated(ptycho_env: PtychoEnv, legacy_params: ModuleType) -> None:
    """No PTYCHO_* variable from the host, and ptycho.params at its defaults, in every test."""
