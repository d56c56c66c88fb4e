"""Small valid NPZ data files: a probe of a supported size, a few patterns, positions."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ptycho_config._factories.example import write_data
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
        """Write the file (``probeGuess``, ``diffraction``, coordinates, optional metadata)."""
        return write_data(Path(path), **asdict(self))  # the recipe's fields are its arguments


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
