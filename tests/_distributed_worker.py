"""One rank of the multi-process tests in test_distributed.py; pytest does not collect it.

Usage: python _distributed_worker.py DATA_FILE OUTPUT_DIR SNAPSHOT_DIR RESULT_FILE

The process group comes from the environment (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE)
and the payload from the PTYCHO_* variables, as in a torchrun launch. The rank writes what
it saw as JSON to RESULT_FILE.
"""

from __future__ import annotations

import datetime
import json
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


def main(data: str, output: str, snapshots: str, result: str) -> None:
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=30))
    report: dict[str, Any] = {"rank": dist.get_rank(), "primary": is_primary()}
    try:
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
    finally:
        dist.destroy_process_group()
    Path(result).write_text(json.dumps(report), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:5])
