"""Small valid NPZ data files: a probe of a supported size, a few patterns, positions."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ptycho_config.testing._fields import values


@dataclass(frozen=True)
class NpzFile:
    """The recipe of a data file; ``write(path)`` creates it, the same for the same recipe."""

    probe_size: int
    compressed: bool
    positions: int
    nphotons: float | None
    seed: int

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the file: a Gaussian probe (``probeGuess``), Poisson patterns (``diffraction``),
        random positions, and the photon count in ``_metadata`` (unless None)."""
        import numpy as np  # only when a file is written: importing the kit stays light

        rng = np.random.default_rng(self.seed)
        axis = np.linspace(-1.0, 1.0, self.probe_size)
        gauss = np.exp(-(axis[:, None] ** 2 + axis[None, :] ** 2) / 0.2)
        patterns = rng.poisson(5.0, (self.positions, self.probe_size, self.probe_size))
        arrays: dict[str, Any] = {
            "probeGuess": (gauss * np.exp(1j * gauss)).astype(np.complex64),
            "diffraction": patterns.astype(np.float32),
            "xcoords": rng.uniform(0.0, 40.0, self.positions),
            "ycoords": rng.uniform(0.0, 40.0, self.positions),
        }
        if self.nphotons is not None:
            arrays["_metadata"] = json.dumps({"physics_parameters": {"nphotons": self.nphotons}})
        save = np.savez_compressed if self.compressed else np.savez
        with Path(path).open("wb") as stream:  # a file object: numpy adds no .npz suffix to it
            save(stream, **arrays)
        return Path(path)


def npz_files() -> SearchStrategy[NpzFile]:
    """Recipes of small valid data files: every supported probe size, plain or compressed."""
    return st.builds(
        NpzFile,
        probe_size=values("model.N"),
        compressed=st.booleans(),
        positions=st.integers(1, 3),
        nphotons=st.none() | values("training.nphotons"),
        seed=st.integers(0, 2**32 - 1),
    )
