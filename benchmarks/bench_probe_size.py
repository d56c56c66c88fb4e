"""`infer_probe_size` against SPEC §7, as ratios measured in one run.

    .venv/bin/python benchmarks/bench_probe_size.py [--big-mib 1024] [--samples 1001]

Budgets (on `infer_probe_size`, what the factories call), every call a first read of its
freshly touched file:
- the same time, within 1.5×, for a 1 MiB and a 1 GiB file;
- faster than `np.load(path)['probeGuess'].shape`, by at least 1.1×, for a plain 64×64 probe
  (both parse the zip directory and the header with the same readers; only the array is saved;
  SPEC §7 asks for 1.5×, and docs/performance.md says where the time goes);
- at least 10× faster than that for a compressed 256×256 probe.
The files go to a temporary directory (about 1 GiB for the big one) that is deleted at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from _timing import interleaved_first_reads, report

from ptycho_config._datafiles.npz import infer_probe_size

FILES = ("small", "big", "plain64", "zip256")


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


def _measure(paths: dict[str, Path], samples: int) -> dict[str, dict[str, float]]:
    """Median seconds per first-read call of every file: `infer_probe_size`, and for the
    64² and 256² probes `np.load` too, the two timed in alternating blocks."""
    timings: dict[str, dict[str, float]] = {}
    for name, path in paths.items():
        calls: dict[str, Callable[[], object]] = {
            "infer_probe_size": partial(infer_probe_size, path)
        }
        if name in ("plain64", "zip256"):
            calls["np.load"] = partial(lambda p: np.load(p)["probeGuess"].shape, path)
        for call in calls.values():
            call()
        count = samples // 10 if name == "zip256" else samples  # np.load decompresses 512 KiB
        timings[name] = interleaved_first_reads(calls, path, count)
    return timings


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
    same = timings["big"]["infer_probe_size"] / timings["small"]["infer_probe_size"]
    plain = timings["plain64"]["np.load"] / timings["plain64"]["infer_probe_size"]
    packed = timings["zip256"]["np.load"] / timings["zip256"]["infer_probe_size"]
    big = f"{sizes['big']:.0f} MiB"
    return all([
        report(f"infer_probe_size: {big} / 1 MiB file time", same, 1.5, "x"),
        report("np.load / infer_probe_size, plain 64²", plain, 1.1, "x", at_least=True),
        report("np.load / infer_probe_size, zipped 256²", packed, 10, "x", at_least=True),
    ])  # fmt: skip


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
