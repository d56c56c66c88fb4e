"""Resolve ``accelerator='auto'`` for this host. The TensorFlow backend never reads the PyTorch
execution settings, so for it 'auto' becomes 'cpu' without importing torch (a second of
start-up and 200 MB saved on the default call); the PyTorch backend asks torch for CUDA."""

from __future__ import annotations

import warnings

from pydantic import BaseModel

from ptycho_config._errors import BackendUnavailableError, Problem
from ptycho_config._schemas.sections import ExecutionConfig

TORCH_MISSING = (
    "PyTorch backend selected but torch is not installed; install it with: pip install torch>=2.2"
)
# Ends the provenance detail of a value resolved for this host (Source.host_resolved marks it).
ON_THIS_HOST = "on this host"
DEVICE_TYPE = {"cpu": "cpu", "gpu": "cuda", "cuda": "cuda", "mps": "mps"}
NO_CUDA_WARNING = (
    "POLICY-001: PyTorch backend defaults to GPU execution. No CUDA device detected; "
    "falling back to CPU. For production workloads, ensure CUDA is available or explicitly "
    "set accelerator='cpu'."
)


def import_torch() -> object:
    """torch, or BackendUnavailableError (a RuntimeError) with the install hint when it is
    missing or broken."""
    try:
        import torch
    except Exception as error:  # missing, or a broken install failing in arbitrary ways
        message = TORCH_MISSING
        if not isinstance(error, ImportError):
            message = (
                f"PyTorch backend selected but importing torch failed ({type(error).__name__}: "
                f"{error}); reinstall it with: pip install torch>=2.2"
            )
        problem = Problem("model.backend", message, "pytorch")
        raise BackendUnavailableError(message, [problem]) from error
    return torch


def resolve_accelerator(execution: ExecutionConfig, backend: str) -> ExecutionConfig:
    """Resolve accelerator 'auto' for this host; any other value passes through untouched.

    The resolved value does not join ``model_fields_set``: a host's answer is not the
    caller's choice, so passing the result to another factory resolves it again there.
    """
    if execution.accelerator != "auto":
        return execution
    if backend != "pytorch":
        return with_accelerator(execution, "cpu")
    if import_torch().cuda.is_available():  # type: ignore[attr-defined]
        return with_accelerator(execution, "cuda")
    warnings.warn(NO_CUDA_WARNING, stacklevel=2)
    return with_accelerator(execution, "cpu")


def with_accelerator(execution: ExecutionConfig, accelerator: str) -> ExecutionConfig:
    """``execution`` with another accelerator, explicitly set only if the caller had set it."""
    # pydantic's own copy: the value is one of the valid choices, so validating again is waste
    resolved = BaseModel.model_copy(execution, update={"accelerator": accelerator})
    if "accelerator" not in execution.model_fields_set:
        resolved.model_fields_set.discard("accelerator")
    return resolved
