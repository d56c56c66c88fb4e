"""Every test starts from a clean environment and fresh library state (the kit's fixtures)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from ptycho_config import ExecutionConfig
from ptycho_config.testing_plugin import PtychoEnv

# An explicit CPU execution config: payloads built with it resolve no accelerator.
CPU = ExecutionConfig(accelerator="cpu")

# The precedence order, highest first, written out here rather than read from the library, so
# that swapping two sources in the library fails the tests that use it.
PRECEDENCE = [
    "override", "execution_config", "env", "dotenv", "secret", "settings",
    "file", "profile", "checkpoint", "inferred", "default",
]  # fmt: skip

# Hypothesis profiles (docs/development.md): "quick" for every run, "thorough" for CI or on
# demand (HYPOTHESIS_PROFILE=thorough). No deadline: the machine's load is not a failure.
# "thorough" draws the same examples on every run, so what fails in CI fails here too.
settings.register_profile("quick", max_examples=25, deadline=None)
settings.register_profile(
    "thorough",
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "thorough" if os.environ.get("CI") else "quick")
)


@pytest.fixture(autouse=True)
def _isolated(ptycho_env: PtychoEnv, legacy_params: ModuleType) -> None:
    """No PTYCHO_* variable from the host, and ptycho.params at its defaults, in every test."""


def write_npz(path: Path, size: int = 64, nphotons: float | None = None) -> Path:
    """A small data file whose probe is size×size, optionally with photon metadata."""
    arrays: dict[str, Any] = {"probeGuess": np.ones((size, size), dtype=np.complex64)}
    if nphotons is not None:
        arrays["_metadata"] = json.dumps({"physics_parameters": {"nphotons": nphotons}})
    np.savez(path, **arrays)
    return path


def make_model_dir(folder: Path) -> Path:
    """A trained-model directory as the factories check it: a (dummy) wts.h5.zip inside."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wts.h5.zip").write_bytes(b"")
    return folder


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    """A training data file with a 64×64 probe."""
    return write_npz(tmp_path / "train.npz")


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """An empty trained-model directory."""
    return make_model_dir(tmp_path / "model")
