"""Building payloads: warm per-call median, and a fresh process end to end."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from _timing import fresh_process_seconds, interleaved_medians, median_seconds, report


def write_data(folder: Path) -> Path:
    import numpy as np

    path = folder / "train.npz"
    probe = np.ones((64, 64), dtype=np.complex64)
    np.savez(path, probeGuess=probe, diffraction=np.zeros((16, 64, 64), dtype=np.float32))
    return path


def warm(data: Path, out: Path) -> bool:
    from ptycho_config import ExecutionConfig, create_training_payload

    execution = ExecutionConfig(accelerator="cpu")
    environ = dict(os.environ)  # a normal environment, as a caller's

    def build() -> object:
        return create_training_payload(data, out, {"n_groups": 512}, execution, environ=environ)

    build()
    seconds = median_seconds(build, repeat=31, number=100)
    return report("warm create_training_payload", seconds * 1e6, 200, "us", "(median per call)")


def fresh(data: Path, out: Path) -> bool:
    library = (
        "from ptycho_config import ExecutionConfig, create_training_payload\n"
        f"create_training_payload({str(data)!r}, {str(out)!r}, {{'n_groups': 512}}, "
        "ExecutionConfig(accelerator='cpu'))"
    )
    medians = interleaved_medians(
        {"baseline": "import pydantic_settings, numpy", "library": library},
        repeat=11,
        measure=fresh_process_seconds,
    )
    ratio = medians["library"] / medians["baseline"]
    detail = f"(library {medians['library'] * 1e3:.0f} ms, "
    detail += f"pydantic_settings+numpy {medians['baseline'] * 1e3:.0f} ms)"
    return report("fresh process import+payload ratio", ratio, 1.3, "x", detail)


def main() -> bool:
    with tempfile.TemporaryDirectory() as folder:
        data = write_data(Path(folder))
        out = Path(folder) / "out"
        return all([warm(data, out), fresh(data, out)])


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
