"""`infer_probe_size` against SPEC §7, as ratios measured in one run.

    .venv/bin/python benchmarks/bench_probe_size.py [--big-mib 1024] [--samples 1001]

Budgets (on `infer_probe_size`, what the factories call), every call a first read of its
freshly touched file:
- the same time, within 1.5×, for a 1 MiB and a 1 GiB file;
- faster than `np.load(path)['probeGuess'].shape`, by at least 1.1×, for a plain 64×64 probe
  (both parse the zip directory and the header with the same readers; only the array is saved);
- at least 10× faster than that for a compressed 256×256 probe.
The same ratios for the bare header read (`read_probe_header`) are printed as `info` lines.
The files go to a temporary directory (about 1 GiB for the big one) that is deleted at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _timing import first_read_seconds

from ptycho_config._datafiles.npz import infer_probe_size, read_probe_header

FILES = ("small", "big", "plain64", "zip256")
WAYS = ("infer_probe_size", "read_probe_header")


def _probe(size: int) -> np.ndarray[Any, np.dtype[np.complex64]]:
    """A smooth complex probe, which compresses as real probes do."""
    axis = np.linspace(-2, 2, size)
    r2 = axis[:, None] ** 2 + axis[None, :] ** 2
    noise = np.random.default_rng(0).normal(scale=1e-3, size=(size, size))
    probe: np.ndarray[Any, np.dtype[np.complex64]]
    probe = np.exp(-r2 + 1j * (r2 + noise)).astype(np.complex64)
    return probe


def _write_files(folder: Path, big_mib: int) -> dict[str, Path]:
    """The data files; the bulk comes before probeGuess, so the probe sits at the far end."""
    paths = {name: folder / f"{name}.npz" for name in FILES}
    np.savez(paths["small"], diffraction=np.zeros((256, 32, 32), np.float32), probeGuess=_probe(64))
    frames = big_mib * 2**20 // (512 * 512 * 4)
    bulk = np.zeros((frames, 512, 512), np.float32)  # pages of zeros, never touched until written
    np.savez(paths["big"], diffraction=bulk, probeGuess=_probe(64))
    np.savez(paths["plain64"], probeGuess=_probe(64))
    np.savez_compressed(paths["zip256"], probeGuess=_probe(256))
    return paths


def _calls(path: Path) -> dict[str, Callable[[], object]]:
    """Each way of reading the file."""

    def baseline() -> object:
        return np.load(path)["probeGuess"].shape

    return {
        "infer_probe_size": lambda: infer_probe_size(path),
        "read_probe_header": lambda: read_probe_header(path),
        "np.load": baseline,
    }


def _measure(paths: dict[str, Path], samples: int) -> dict[str, dict[str, float]]:
    """Median seconds per first-read call, for every file and every way of reading it."""
    timings: dict[str, dict[str, float]] = {}
    for name, path in paths.items():
        timings[name] = {}
        for way, call in _calls(path).items():
            if way == "np.load" and name in ("small", "big"):
                continue
            call()
            count = samples if way != "np.load" or name == "plain64" else samples // 10
            timings[name][way] = first_read_seconds(call, path, count)
    return timings


def _line(ok: bool, budget: bool, text: str) -> bool:
    verdict = ("ok  " if ok else "OVER") if budget else "info"
    print(f"{verdict} {text}")
    return ok or not budget


def main() -> bool:
    """Write the files, measure first reads, print one line per ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--big-mib", type=int, default=1024, help="size of the big file")
    parser.add_argument("--samples", type=int, default=1001, help="calls per median")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_probe_size_") as folder:
        free_mib = shutil.disk_usage(folder).free // 2**20
        if free_mib < 2 * args.big_mib:
            raise SystemExit(f"{free_mib} MiB free in {folder}: too little for --big-mib")
        paths = _write_files(Path(folder), args.big_mib)
        sizes = {name: path.stat().st_size / 2**20 for name, path in paths.items()}
        timings = _measure(paths, args.samples)

    print("median µs per call: " + "; ".join(f"{name} ({sizes[name]:.1f} MiB) "
          + ", ".join(f"{way} {s * 1e6:.1f}" for way, s in t.items())
          for name, t in timings.items()))  # fmt: skip
    ok = True
    for way in WAYS:
        budget = way == "infer_probe_size"
        same = timings["big"][way] / timings["small"][way]
        plain = timings["plain64"]["np.load"] / timings["plain64"][way]
        packed = timings["zip256"]["np.load"] / timings["zip256"][way]
        big = f"{sizes['big']:.0f} MiB"
        ok &= _line(same <= 1.5, budget, f"{way}: {big} / 1 MiB file time {same:.2f}x (≤ 1.5x)")
        ok &= _line(plain >= 1.1, budget, f"{way}: np.load / it, plain 64² {plain:.1f}x (≥ 1.1x)")
        ok &= _line(packed >= 10, budget, f"{way}: np.load / it, zipped 256² {packed:.1f}x (≥ 10x)")
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
