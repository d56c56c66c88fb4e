"""Hypothesis strategies for code built on ptycho-config (docs/testing.md), derived from the
schemas, so fields and source kinds added later are covered without edits. The pytest fixtures
are in ``ptycho_config.testing_plugin``."""

try:
    import hypothesis  # noqa: F401 - only to fail early, with the hint below
except ImportError as error:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "ptycho_config.testing needs Hypothesis; install it with "
        "pip install 'ptycho-config[testing]'"
    ) from error

from ptycho_config.testing._assignments import DRAWN_KINDS, SourceAssignment, source_assignments
from ptycho_config.testing._configs import (
    build_config,
    config_documents,
    configs,
    environments,
    execution_configs,
    inference_configs,
    model_configs,
    training_configs,
)
from ptycho_config.testing._data import NpzFile, npz_files
from ptycho_config.testing._fields import paths, values

__all__ = [
    "DRAWN_KINDS",
    "NpzFile",
    "SourceAssignment",
    "build_config",
    "config_documents",
    "configs",
    "environments",
    "execution_configs",
    "inference_configs",
    "model_configs",
    "npz_files",
    "paths",
    "source_assignments",
    "training_configs",
    "values",
]
