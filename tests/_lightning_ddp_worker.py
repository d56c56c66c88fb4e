"""One rank of the Lightning DDP test in test_lightning.py; pytest does not collect it.

Usage: python _lightning_ddp_worker.py DATA_FILE OUTPUT_DIR RESULT_DIR

Lightning's 'ddp' strategy runs this script again for every other rank. Each rank builds its
payload from its own PTYCHO_* variables, fits with the runtime's objects, checks in
``setup`` that all ranks agree, and writes ``rank<N>.json`` into RESULT_DIR.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

# the module lives beside this script; run as a file, the tests package is not importable
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _tiny_lightning import fit

from ptycho_config import create_training_payload


def main(data: str, output: str, results: str) -> None:
    warnings.simplefilter("ignore")  # Lightning's advice for tiny runs would clutter the report
    trainer, module = fit(create_training_payload(data, output), verify=True)
    report = {
        "world_size": trainer.world_size,
        "fingerprint": module.fingerprint,
        "learning_rates": module.learning_rates,
        "epochs": trainer.current_epoch,
    }
    Path(results, f"rank{trainer.global_rank}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:4])
