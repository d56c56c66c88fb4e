"""Regenerates the bundled example (``ptycho_config/example``) deterministically."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from ptycho_config._factories.example import CONFIG, MODEL, TEST_DATA, TRAIN_DATA
from ptycho_config._factories.factories import create_training_payload
from ptycho_config._factories.snapshot import MODEL_ARCHIVE, save_snapshot
from ptycho_config._schemas.sections import ExecutionConfig
from ptycho_config.testing import NpzFile

CONFIG_TEXT = """\
# Example configuration: sections mirror the schemas; see docs/reference/fields.md.
training:
  n_groups: 64
  batch_size: 8
  nepochs: 5
inference:
  n_groups: 64
execution:
  accelerator: cpu
  seed: 7
"""


def write_example(folder: str | os.PathLike[str]) -> Path:
    """Generate the example into ``folder``: data, config and a model directory with snapshot."""
    root = Path(folder)
    (root / MODEL).mkdir(parents=True, exist_ok=True)
    NpzFile(probe_size=64, compressed=True, positions=16, nphotons=1e9, seed=1).write(
        root / TRAIN_DATA
    )
    NpzFile(probe_size=64, compressed=True, positions=8, nphotons=1e9, seed=2).write(
        root / TEST_DATA
    )
    (root / CONFIG).write_text(CONFIG_TEXT, encoding="utf-8")
    with zipfile.ZipFile(root / MODEL / MODEL_ARCHIVE, "w") as archive:
        archive.writestr("README.txt", "Placeholder weights of the ptycho-config example.\n")
    # relative paths keep the snapshot the same wherever the example is written
    previous = Path.cwd()
    os.chdir(root)
    try:
        payload = create_training_payload(
            TRAIN_DATA, "training_outputs", None, ExecutionConfig(accelerator="cpu"),
            environ={}, config_file=CONFIG,
        )  # fmt: skip
        save_snapshot(payload, MODEL)
    finally:
        os.chdir(previous)
    return root
