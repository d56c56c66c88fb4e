"""Drop-in for ``ptycho_torch.config_factory``: the CI profile, the execution config, factories.

``PyTorchExecutionConfig`` is a mutable dataclass with the fields and defaults of the
library's ``ExecutionConfig`` (no ``seed``), checked by the library's rules at construction
(first problem, plain ValueError) and resolving ``accelerator='auto'`` there, as the
reference does. The factories translate the reference's override names and call the
library's factories, which resolve, validate, audit and populate ``params.cfg``.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import warnings
from collections.abc import Mapping
from typing import Any

from ptycho.config.legacy_state import configured_legacy_params
from ptycho_config._datafiles.npz import infer_probe_size
from ptycho_config._errors import PtychoConfigError
from ptycho_config._factories.factories import create_inference_payload as _library_inference
from ptycho_config._factories.factories import create_training_payload as _library_training
from ptycho_config._factories.payloads import InferencePayload, TrainingPayload
from ptycho_config._legacy.bridge import populate_legacy_params
from ptycho_config._merge.accelerator import NO_CUDA_WARNING
from ptycho_config._schemas.profiles import get_profile
from ptycho_config._schemas.sections import ExecutionConfig
from ptycho_config.compat import config_params as pt

__all__ = [
    "CI_PROFILE_BUNDLE",
    "CI_PROFILE_CONTRACT_FIELDS",
    "InferencePayload",
    "PyTorchExecutionConfig",
    "TrainingPayload",
    "create_inference_payload",
    "create_training_payload",
    "datagen_config_from_simulation",
    "infer_probe_size",
    "populate_legacy_params",
    "resolve_ci_profile",
    "simulation_from_datagen_config",
]

_CI = get_profile("ci")
# The library's 'ci' profile by the reference's flat names: the pinned contract, then all.
CI_PROFILE_CONTRACT_FIELDS: dict[str, Any] = {
    key.rsplit(".", 1)[-1]: value for key, value in _CI.values.items() if key in _CI.pinned
}
CI_PROFILE_BUNDLE: dict[str, Any] = {
    key.rsplit(".", 1)[-1]: value for key, value in _CI.values.items()
}


def resolve_ci_profile(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CI bundle under ``overrides``; a contradicted contract field is a ValueError."""
    given = dict(overrides or {})
    for field, required in CI_PROFILE_CONTRACT_FIELDS.items():
        if field in given and given[field] != required:
            raise ValueError(
                f"the CI profile requires {field}={required!r}; you passed {given[field]!r}. "
                "The named CI profile is fail-closed: remove the contradicting override, or "
                "drop profile='ci' to assemble a custom configuration explicitly."
            )
    return {**CI_PROFILE_BUNDLE, **given}


NO_TORCH_WARNING = (
    "POLICY-001: PyTorch not available. Falling back to CPU accelerator. "
    "Install PyTorch (torch>=2.2) for GPU acceleration."
)
# Deprecated aliases of the PT ModelConfig's structural fields, in the merge order.
STRUCTURAL_ALIASES = (
    "spectral_bottleneck_blocks", "spectral_bottleneck_modes",
    "spectral_bottleneck_share_weights", "spectral_bottleneck_gate_init",
    "spectral_bottleneck_gate_mode",
)  # fmt: skip
# Checked before 'auto' is resolved (the reference's order); the rest after.
_FIRST_CHECKED = ("devices", "precision", "accelerator")


def _auto_accelerator() -> str:
    """'cuda' when torch sees one, else 'cpu' with the reference's CPU fallback warning."""
    try:
        import torch
    except ImportError:
        warnings.warn(NO_TORCH_WARNING, UserWarning, stacklevel=4)  # the constructing line
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    warnings.warn(NO_CUDA_WARNING, UserWarning, stacklevel=4)
    return "cpu"


def _execution_problems(config: Any) -> dict[str, str]:
    """Field → the library's message for each field its rules reject."""
    try:
        ExecutionConfig.model_validate(dataclasses.asdict(config))
    except PtychoConfigError as error:
        return {p.key.split(" & ")[0].rsplit(".", 1)[-1]: str(p) for p in error.problems}
    return {}


def _check_execution(config: Any) -> None:
    problems = _execution_problems(config)
    for name in _FIRST_CHECKED:
        if name in problems:
            raise ValueError(problems[name])
    if config.accelerator == "auto":
        config.accelerator = _auto_accelerator()
    for problem in problems.values():
        raise ValueError(problem)


def _record_explicit_aliases(cls: type, *args: Any, **kwargs: Any) -> Any:
    """Which structural aliases the caller passed (by keyword or position)."""
    instance: Any = object.__new__(cls)
    positional = {item.name for item in dataclasses.fields(cls)[: len(args)]}
    given = frozenset(n for n in STRUCTURAL_ALIASES if n in kwargs or n in positional)
    object.__setattr__(instance, "_explicit_structural_aliases", given)
    return instance


def _execution_fields() -> list[tuple[str, Any, Any]]:
    # every default is immutable (no list or dict defaults in the execution schema)
    return [
        (name, Any, dataclasses.field(default=info.default))
        for name, info in ExecutionConfig.model_fields.items()
        if name != "seed"  # the reference's runtime reads its seed from the environment
    ]


PyTorchExecutionConfig: type[Any] = dataclasses.make_dataclass(
    "PyTorchExecutionConfig",
    _execution_fields(),
    namespace={
        "__doc__": "Runtime knobs of the PyTorch backend; 'auto' is resolved on construction.",
        "__module__": __name__,
        "__post_init__": _check_execution,
        "__new__": _record_explicit_aliases,
    },
)
# the fields, not __new__'s catch-all, for inspect.signature and help()
_INIT = inspect.signature(PyTorchExecutionConfig.__init__)
PyTorchExecutionConfig.__signature__ = _INIT.replace(parameters=list(_INIT.parameters.values())[1:])


def _pt_fields(*classes: type) -> frozenset[str]:
    return frozenset(item.name for cls in classes for item in dataclasses.fields(cls))


# The training factory's accepted override names: every PT field, and four aliases.
PT_ALIASES = {"max_epochs": "epochs", "neighbor_count": "K", "model_type": "mode"}
ACCEPTED_TRAINING_KEYS = _pt_fields(
    pt.DataConfig, pt.ModelConfig, pt.TrainingConfig, pt.InferenceConfig
) | {"gridsize", *PT_ALIASES}
# PT names the factory sets itself (so an override is accepted, then overwritten), and PT
# names the library derives from other keys (device from the accelerator, ...).
_SET_BY_FACTORY = frozenset(
    {"C", "C_forward", "C_model", "nll", "train_data_file", "output_dir", "model_path",
     "device", "n_devices", "probe_mask_tensor"}
)  # fmt: skip
# PT names of canonical keys.
_RENAMES = {"mode": "model_type", "epochs": "nepochs", "K": "neighbor_count"}


def _canonical(given: Mapping[str, Any]) -> dict[str, Any]:
    """Reference override names → the library's keys (PT aliases applied first)."""
    values = dict(given)
    for alias, target in PT_ALIASES.items():
        if alias in values:
            values.setdefault(target, values.pop(alias))
    out = {}
    for key, value in values.items():
        if key in _SET_BY_FACTORY:
            continue
        out[_RENAMES.get(key, key)] = value
    return out


def _library_execution(config: Any) -> ExecutionConfig | None:
    if config is None:
        return None
    return ExecutionConfig(**dataclasses.asdict(config))


def _merge_structural_aliases(given: dict[str, Any], execution_config: Any) -> None:
    """The explicitly passed spectral aliases of the execution config join the overrides."""
    used = []
    explicit: frozenset[str] = getattr(
        execution_config, "_explicit_structural_aliases", frozenset()
    )
    for name in (n for n in STRUCTURAL_ALIASES if n in explicit):
        value = getattr(execution_config, name)
        if name in given and given[name] != value:
            raise ValueError(
                f"structural field {name!r} conflicts between ModelConfig input "
                f"({given[name]}) and deprecated PyTorchExecutionConfig alias ({value})"
            )
        given[name] = value
        used.append(name)
    if used:
        warnings.warn(
            "PyTorchExecutionConfig topology fields are deprecated aliases; pass them "
            f"through the structural ModelConfig input instead: {', '.join(used)}",
            DeprecationWarning,
            stacklevel=3,
        )


@configured_legacy_params  # a failing call leaves params.cfg and the seal as they were
def create_training_payload(
    train_data_file: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    overrides: dict[str, Any] | None = None,
    execution_config: Any = None,
    profile: str | None = None,
) -> TrainingPayload:
    """The reference's training factory: profile, aliases, closed override names, then the
    library's factory (no environment or config file is read, as in the reference)."""
    given = dict(overrides or {})
    if profile is not None:
        if profile != "ci":
            raise ValueError(
                f"Unknown configuration profile {profile!r}; supported profiles: 'ci'."
            )
        given = resolve_ci_profile(given)
    if execution_config is not None:
        _merge_structural_aliases(given, execution_config)
    unknown = sorted(set(given) - ACCEPTED_TRAINING_KEYS)
    if unknown:
        raise ValueError(f"unknown training override field(s): {', '.join(unknown)}")
    values = _canonical(given)
    # the loss follows the loss mode (reference 77edc75)
    poisson = values.get("torch_loss_mode", "poisson") == "poisson"
    values["loss_function"] = "Poisson" if poisson else "MAE"
    return _library_training(
        train_data_file, output_dir, values, _library_execution(execution_config), environ={}
    )


@configured_legacy_params
def create_inference_payload(
    model_path: str | os.PathLike[str],
    test_data_file: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    overrides: dict[str, Any] | None = None,
    execution_config: Any = None,
) -> InferencePayload:
    """The reference's inference factory (no profile); keys it does not read are ignored."""
    values = {k: v for k, v in _canonical(overrides or {}).items() if k not in _TRAINING_ONLY}
    return _library_inference(
        model_path, test_data_file, output_dir, values, _library_execution(execution_config),
        environ={},
    )  # fmt: skip


# Keys the inference factory of the reference never reads.
_TRAINING_ONLY = frozenset({"nphotons", "nepochs", "batch_size", "torch_loss_mode"})


def simulation_from_datagen_config(datagen_config: Any, *, base: Any = None) -> Any:
    """The SimulationConfig of a DatagenConfig over ``base``."""
    if not isinstance(datagen_config, pt.DatagenConfig):
        raise TypeError("datagen_config must be a DatagenConfig")
    return datagen_config.to_simulation_config(base=base)


def datagen_config_from_simulation(simulation: Any) -> Any:
    """The DatagenConfig of a SimulationConfig (lossy)."""
    return pt.DatagenConfig.from_simulation_config(simulation)
