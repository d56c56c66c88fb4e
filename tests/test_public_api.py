"""The public API of ``ptycho_config`` (SPEC §9): one sorted ``__all__``, light to import."""

from __future__ import annotations
import __future__

import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import ptycho_config

ROOT = Path(__file__).resolve().parent.parent


def _isort_key(name: str) -> tuple[int, list[int | str]]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then everything else, each naturally sorted."""
    if len(name) > 1 and name.isupper():
        group = 0
    elif name[:1].isupper():
        group = 1
    else:
        group = 2
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
    return group, natural


def _public_names(module: types.ModuleType) -> set[str]:
    """Names bound in the module that are not private, not submodules, not __future__ flags."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and not isinstance(value, __future__._Feature)
    }


class TestAll:
    """ptycho_config.__all__ is the complete, sorted list of public names."""

    def test_sorted(self) -> None:
        """__all__ is sorted the way ruff sorts it (RUF022), so the linter and this test agree."""
        assert sorted(ptycho_config.__all__, key=_isort_key) == list(ptycho_config.__all__)

    def test_no_duplicates(self) -> None:
        """Every name appears once in __all__."""
        assert len(set(ptycho_config.__all__)) == len(ptycho_config.__all__)

    def test_equals_public_names(self) -> None:
        """__all__ lists exactly the public names the package defines or re-exports."""
        assert _public_names(ptycho_config) == set(ptycho_config.__all__)

    @pytest.mark.parametrize("name", ptycho_config.__all__)
    def test_importable(self, name: str) -> None:
        """Each name in __all__ can be imported from the package."""
        namespace: dict[str, object] = {}
        exec(f"from ptycho_config import {name}", namespace)
        assert getattr(ptycho_config, name) is namespace[name]

    @pytest.mark.parametrize(
        "name",
        [
            "ModelConfig",
            "TrainingConfig",
            "InferenceConfig",
            "ExecutionConfig",
            "PyTorchExecutionConfig",
            "PtychoConfigError",
            "UnknownKeyError",
            "InvalidValueError",
            "MissingValueError",
        ],
    )
    def test_schema_and_error_names_exported(self, name: str) -> None:
        """The schemas and the core error classes are part of the public API."""
        assert name in ptycho_config.__all__

    def test_errors_share_the_base_class(self) -> None:
        """Every exported exception derives from PtychoConfigError, itself a ValueError."""
        exported = [getattr(ptycho_config, n) for n in ptycho_config.__all__]
        errors = [
            e
            for e in exported
            if isinstance(e, type) and issubclass(e, Exception) and not issubclass(e, Warning)
        ]
        assert [e for e in errors if not issubclass(e, ptycho_config.PtychoConfigError)] == []
        assert issubclass(ptycho_config.PtychoConfigError, ValueError)


class TestLightImport:
    """Importing the package pulls in no heavy dependency."""

    def test_import_does_not_load(self) -> None:
        """A fresh `import ptycho_config` leaves the backends, numpy, the optional readers
        (YAML, pydantic-settings, dotenv) and the pickle machinery of data files out of
        sys.modules: each is imported where it is first needed."""
        heavy = ("torch", "tensorflow", "numpy", "yaml", "pydantic_settings", "dotenv")
        heavy += ("pickle", "pickletools")
        code = f"import ptycho_config, sys; print([m for m in {heavy!r} if m in sys.modules])"
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")
