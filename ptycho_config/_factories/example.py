"""The bundled example: a tiny data set, a config file and a trained-model directory.

The files ship inside the package (``ptycho_config/example``), so ``--example`` always
resolves from the same place; ``tests/_example.py`` regenerates them deterministically (and a
test checks that they match).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ptycho_config._errors import OutputError, Problem
from ptycho_config._files import as_path

EXAMPLE_DIR = Path(__file__).resolve().parents[1] / "example"
TRAIN_DATA = "train_data.npz"
TEST_DATA = "test_data.npz"
CONFIG = "config.yaml"
MODEL = "model"


def write_data(
    path: Path,
    probe_size: int,
    positions: int,
    seed: int,
    *,
    nphotons: float | None = 1e9,
    compressed: bool = True,
) -> Path:
    """A small valid data file: a Gaussian probe, Poisson patterns, random positions, and the
    photon count in ``_metadata`` (unless None); the same file for the same arguments."""
    import numpy as np

    rng = np.random.default_rng(seed)
    axis = np.linspace(-1.0, 1.0, probe_size)
    gauss = np.exp(-(axis[:, None] ** 2 + axis[None, :] ** 2) / 0.2)
    arrays: dict[str, Any] = {
        "probeGuess": (gauss * np.exp(1j * gauss)).astype(np.complex64),
        "diffraction": rng.poisson(5.0, (positions, probe_size, probe_size)).astype(np.float32),
        "xcoords": rng.uniform(0.0, 40.0, positions),
        "ycoords": rng.uniform(0.0, 40.0, positions),
    }
    if nphotons is not None:
        arrays["_metadata"] = json.dumps({"physics_parameters": {"nphotons": nphotons}})
    save = np.savez_compressed if compressed else np.savez
    with path.open("wb") as stream:  # a file object: numpy adds no .npz suffix to it
        save(stream, **arrays)
    return path


def copy_example(folder: str | os.PathLike[str]) -> Path:
    """Copy the bundled example into ``folder``, which must be new or an empty directory.

    The files are copied into a hidden sibling first and renamed into place, so a failure
    (a full disk, a read-only parent) leaves nothing behind; every failure is an OutputError.
    """
    target = as_path(folder, "example directory")
    try:
        _check_target(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            staging.chmod(0o755)  # mkdtemp makes it private; an example is meant to be shared
            shutil.copytree(EXAMPLE_DIR, staging, dirs_exist_ok=True)
            os.replace(staging, target)  # an empty directory is replaced, a full one refused
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    except OutputError:
        raise
    except OSError as error:
        reason = error.strerror or str(error)
        raise _output_error(target, f"cannot write it there ({reason})") from error
    return target


def _check_target(target: Path) -> None:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise _output_error(target, "it exists and is not a directory; name a new directory")
    if target.is_dir() and any(target.iterdir()):
        raise _output_error(target, "it exists and is not empty; name a new or empty directory")


def _output_error(target: Path, reason: str) -> OutputError:
    message = f"cannot write the example into {target}: {reason}"
    return OutputError(message, [Problem("directory", reason, str(target))])
