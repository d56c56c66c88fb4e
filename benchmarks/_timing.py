"""Shared helpers: medians of repeated runs, fresh interpreters, one result line per budget."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def _batch_seconds(run: Callable[[], object], repeat: int, number: int) -> list[float]:
    """Wall time of one call, averaged within each of `repeat` batches of `number` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            run()
        samples.append((time.perf_counter() - start) / number)
    return samples


def median_seconds(run: Callable[[], object], repeat: int, number: int = 1) -> float:
    """Median wall time of one call, over `repeat` batches of `number` calls."""
    return statistics.median(_batch_seconds(run, repeat, number))


def best_seconds(run: Callable[[], object], repeat: int, number: int = 1) -> float:
    """The fastest batch's time per call: for a difference of timings taken at different
    moments, which a busy spell of the machine during one of them would otherwise decide."""
    return min(_batch_seconds(run, repeat, number))


def interleaved_first_reads(
    runs: dict[str, Callable[[], object]], path: Path, samples: int, block: int = 50
) -> dict[str, float]:
    """Median wall time of single calls per label, each on a freshly touched file.

    Touching changes the file's modification time before every call, so no reading remembered
    from an earlier call could be valid; only the call itself is timed. The labels take turns
    in blocks of ``block`` calls, so a noisy spell of the machine hits all of them alike.
    """
    times: dict[str, list[float]] = {label: [] for label in runs}
    while any(len(values) < samples for values in times.values()):
        for label, run in runs.items():
            for _ in range(min(block, samples - len(times[label]))):
                os.utime(path)
                start = time.perf_counter()
                run()
                times[label].append(time.perf_counter() - start)
    return {label: statistics.median(values) for label, values in times.items()}


def fresh_process_seconds(code: str) -> float:
    """Wall time of a fresh interpreter running `code` (interpreter start included)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def in_process_seconds(code: str, setup: str = "") -> float:
    """Time of `code` alone inside a fresh interpreter (interpreter start excluded)."""
    probe = (
        f"{setup}\nimport time\n_t = time.perf_counter()\n{code}\nprint(time.perf_counter() - _t)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    )
    return float(result.stdout.strip().splitlines()[-1])


def interleaved_medians(
    codes: dict[str, str], repeat: int, measure: Callable[[str], float]
) -> dict[str, float]:
    """Median per label, running the candidates alternately so drift hits all of them alike."""
    samples: dict[str, list[float]] = {label: [] for label in codes}
    for _ in range(repeat):
        for label, code in codes.items():
            samples[label].append(measure(code))
    return {label: statistics.median(values) for label, values in samples.items()}


def report(
    name: str,
    measured: float,
    budget: float,
    unit: str,
    detail: str = "",
    *,
    at_least: bool = False,
) -> bool:
    """Print one budget line; True when within budget (``at_least``: a floor, not a ceiling)."""
    ok = measured >= budget if at_least else measured <= budget
    verdict = "ok  " if ok else "OVER"
    bound = f"{'≥ ' if at_least else ''}{budget:g} {unit}"
    print(f"{verdict} {name}: {measured:.3g} {unit} (budget {bound}) {detail}".rstrip())
    return ok
