"""One rank of the multi-process tests in test_distributed.py; pytest does not collect it.

Usage: python _distributed_worker.py DATA_FILE OUTPUT_DIR SCENARIOS_FILE RESULT_FILE

The process group comes from the environment (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE)
and the payload from the PTYCHO_* variables, as in a torchrun launch. SCENARIOS_FILE is a
JSON list of runs made one after the other in the same process group (starting one costs
seconds): each names its snapshot folder and the variables each rank adds for that run.
The rank writes what it saw in each run as a JSON list to RESULT_FILE.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch.distributed as dist

from ptycho_config import create_training_payload
from ptycho_config.distributed import (
    ConfigMismatchError,
    is_primary,
    save_snapshot_once,
    verify_consistent,
)


def run(data: str, output: str, snapshots: str) -> dict[str, Any]:
    """What this rank sees building, verifying and saving one payload."""
    report: dict[str, Any] = {"rank": dist.get_rank(), "primary": is_primary()}
    payload = create_training_payload(data, output)
    report["devices"] = payload.launch.trainer_kwargs() if payload.launch else None
    try:
        report["fingerprint"] = verify_consistent(payload)
    except ConfigMismatchError as error:
        report["error"] = str(error)
        report["keys"] = [problem.key for problem in error.problems]
    else:
        try:
            report["snapshot"] = str(save_snapshot_once(payload, snapshots))
        except (OSError, RuntimeError) as error:
            report["snapshot_error"] = f"{type(error).__name__}: {error}"
    return report


def main(data: str, output: str, scenarios: str, result: str) -> None:
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=30))
    reports = []
    try:
        for scenario in json.loads(Path(scenarios).read_text(encoding="utf-8")):
            added = scenario["environ"][dist.get_rank()]
            os.environ.update(added)
            try:
                reports.append(run(data, output, scenario["snapshots"]))
            finally:
                for name in added:
                    del os.environ[name]
    finally:
        dist.destroy_process_group()
    Path(result).write_text(json.dumps(reports), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:5])
