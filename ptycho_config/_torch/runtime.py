"""Torch objects for a resolved payload: device, precision, RNG, optimiser, schedule, loaders
(docs/torch.md). torch is imported only inside the functions that build them."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ptycho_config._errors import ArgumentTypeError
from ptycho_config._merge.accelerator import (
    DEVICE_TYPE,
    import_torch,
    resolve_accelerator,
    with_accelerator,
)
from ptycho_config._schemas.sections import ExecutionConfig, InferenceConfig, TrainingConfig
from ptycho_config._torch.config import torch_inference_config, torch_training_config
from ptycho_config._torch.objects import TorchInferenceConfig, TorchTrainingConfig
from ptycho_config._torch.torchrun import TorchrunLaunch

if TYPE_CHECKING:
    import torch
    from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

WARMUP_START = 0.1  # WarmupCosine starts at this fraction of the base rate
PLATEAU_MONITOR = "val_loss"
CONSTANT_SCHEDULERS = ("MultiStage", "Adaptive")

# The autocast dtype of each precision; parameters stay float32 under mixed precision too.
_AUTOCAST = {"32-true": None, "16-mixed": "float16", "bf16-mixed": "bfloat16"}


@dataclass(frozen=True)
class WarmupCosine:
    """The LambdaLR factor of docs/torch.md's WarmupCosine: a dataclass, not a closure, so the
    scheduler's state_dict and pickling work."""

    warmup: int
    epochs: int
    min_ratio: float

    def __call__(self, epoch: int) -> float:
        if epoch < self.warmup:
            return WARMUP_START + (1 - WARMUP_START) * epoch / self.warmup
        progress = min(1.0, (epoch - self.warmup) / max(1, self.epochs - self.warmup))
        return self.min_ratio + (1 - self.min_ratio) * (1 + math.cos(math.pi * progress)) / 2


@dataclass(frozen=True)
class TorchRuntime:
    """The torch objects and Lightning keyword arguments of one run (docs/torch.md); for an
    inference payload ``training`` is None and what needs it raises ``ValueError``."""

    device: torch.device
    dtype: torch.dtype
    autocast_dtype: torch.dtype | None
    seed: int
    generator: torch.Generator
    execution: ExecutionConfig
    training: TorchTrainingConfig | None
    inference: TorchInferenceConfig
    logger_backend: str | None
    dataloader_kwargs: dict[str, Any]
    trainer_kwargs: dict[str, Any]
    checkpoint_kwargs: dict[str, Any]
    early_stopping_kwargs: dict[str, Any]
    launch: TorchrunLaunch | None = None

    def apply_global_seed(self) -> None:
        """Seed torch's global RNG with this run's seed (a process-wide side effect)."""
        import torch

        torch.manual_seed(self.seed)

    def make_optimizer(self, params: Iterable[Any]) -> torch.optim.Optimizer:
        """Adam/AdamW (lr, betas, weight_decay) or SGD (lr, momentum, weight_decay)."""
        import torch

        t = self._training("an optimizer")
        common: dict[str, Any] = {"lr": t.learning_rate, "weight_decay": t.weight_decay}
        if t.optimizer == "sgd":
            return torch.optim.SGD(params, momentum=t.momentum, nesterov=t.momentum > 0, **common)
        adam = torch.optim.AdamW if t.optimizer == "adamw" else torch.optim.Adam
        return adam(params, betas=(t.adam_beta1, t.adam_beta2), **common)

    def make_scheduler(
        self, optimizer: torch.optim.Optimizer
    ) -> LRScheduler | ReduceLROnPlateau | None:
        """The per-epoch learning-rate schedule (docs/torch.md), or None."""
        from torch.optim import lr_scheduler

        t = self._training("a scheduler")
        if t.scheduler == "Exponential":
            return lr_scheduler.ExponentialLR(optimizer, gamma=0.95)
        if t.scheduler == "WarmupCosine":
            factor = WarmupCosine(t.lr_warmup_epochs, t.epochs, t.lr_min_ratio)
            return lr_scheduler.LambdaLR(optimizer, lr_lambda=factor)
        if t.scheduler == "ReduceLROnPlateau":
            return lr_scheduler.ReduceLROnPlateau(
                optimizer,
                mode="min",
                factor=t.plateau_factor,
                patience=t.plateau_patience,
                min_lr=t.plateau_min_lr,
                threshold=t.plateau_threshold,
            )
        if t.scheduler in CONSTANT_SCHEDULERS:
            warnings.warn(
                f"scheduler {t.scheduler!r} is no longer supported in single-loss mode; "
                "the learning rate stays constant",
                stacklevel=2,
            )
        return None

    def configure_optimizers(self, params: Iterable[Any]) -> dict[str, Any]:
        """What ``LightningModule.configure_optimizers`` returns: the optimiser, and the schedule
        (stepped every epoch; ReduceLROnPlateau on the validation loss) when there is one."""
        from torch.optim.lr_scheduler import ReduceLROnPlateau

        optimizer = self.make_optimizer(params)
        scheduler = self.make_scheduler(optimizer)
        if scheduler is None:
            return {"optimizer": optimizer}
        schedule: dict[str, Any] = {"scheduler": scheduler, "interval": "epoch", "frequency": 1}
        if isinstance(scheduler, ReduceLROnPlateau):
            schedule["monitor"] = PLATEAU_MONITOR
        return {"optimizer": optimizer, "lr_scheduler": schedule}

    def clip_gradients(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """Clip the gradients in place as configured (nothing when gradient_clip_val is None):
        after ``backward`` for 'agc', which Lightning lacks, or in a plain torch loop."""
        import torch

        t = self._training("gradient clipping")
        if t.gradient_clip_val is None:
            return
        if t.gradient_clip_algorithm == "norm":  # each skips parameters without a gradient
            torch.nn.utils.clip_grad_norm_(parameters, t.gradient_clip_val)
        elif t.gradient_clip_algorithm == "value":
            torch.nn.utils.clip_grad_value_(parameters, t.gradient_clip_val)
        else:
            adaptive_clip(parameters, t.gradient_clip_val)

    def _training(self, what: str) -> TorchTrainingConfig:
        if self.training is None:
            raise ValueError(f"an inference runtime has no training configuration for {what}")
        return self.training


def adaptive_clip(parameters: Iterable[torch.nn.Parameter], clipping: float) -> None:
    """Adaptive gradient clipping (Brock et al., 2021), in place: each unit's gradient is scaled
    down to at most ``clipping`` times the unit's parameter norm (at least 1e-3)."""
    import torch

    with torch.no_grad():
        for p in parameters:
            if p.grad is None:
                continue
            # a unit is a row of a weight (norm over every other dimension) or a whole bias
            dims = tuple(range(1, p.ndim)) if p.ndim > 1 else None
            # a norm below 1e-3 counts as 1e-3: fresh zero weights still learn
            weight_norm = p.norm(dim=dims, keepdim=p.ndim > 1).clamp(min=1e-3)
            grad_norm = p.grad.norm(dim=dims, keepdim=p.ndim > 1)
            limit = weight_norm * clipping
            # scaled down where over the limit, never up: a zero gradient (0/0) is left alone
            p.grad.mul_(torch.where(grad_norm > limit, limit / grad_norm, 1.0))


def build_torch_runtime(payload: Any, *, seed_globally: bool = False) -> TorchRuntime:
    """Build the torch objects of a payload (an ``execution_config`` and a ``training_config``
    or ``inference_config``); torch's global RNG is seeded only if asked."""
    import_torch()  # the install hint, before anything else
    import torch

    # a resolver result has both properties and raises AttributeError for the other kind
    found = (getattr(payload, name, None) for name in ("training_config", "inference_config"))
    config = next((c for c in found if isinstance(c, TrainingConfig | InferenceConfig)), None)
    if config is None:
        kind = type(payload).__name__
        raise ArgumentTypeError(f"{kind} has neither a training_config nor an inference_config")
    training = config if isinstance(config, TrainingConfig) else None
    execution = resolve_accelerator(_as_given(payload, config), "pytorch")
    device = torch.device(DEVICE_TYPE[execution.accelerator])
    autocast_name = _AUTOCAST[execution.precision]
    generator = torch.Generator()
    seed = generator.seed() if execution.seed is None else execution.seed
    generator.manual_seed(seed)
    # a payload's own backend objects already hold what only it knows (the trained batch size)
    i = getattr(payload, "pt_inference_config", None) or torch_inference_config(
        execution, training, config.torch
    )
    t = getattr(payload, "pt_training_config", None)
    if t is None and training is not None:
        t = torch_training_config(training, execution)
    launch: TorchrunLaunch | None = getattr(payload, "launch", None)
    loader: dict[str, Any] = {
        "batch_size": (t or i).batch_size,
        "num_workers": execution.num_workers,
        # pinning only helps host-to-GPU copies, and torch warns about it without a GPU
        "pin_memory": execution.pin_memory and device.type == "cuda",
        "generator": generator,
    }
    if execution.num_workers > 0:  # torch rejects worker options for loading in this process
        loader["persistent_workers"] = execution.persistent_workers
        if execution.prefetch_factor is not None:
            loader["prefetch_factor"] = execution.prefetch_factor
    watched = {"monitor": execution.checkpoint_monitor_metric, "mode": execution.checkpoint_mode}
    runtime = TorchRuntime(
        device=device,
        dtype=torch.float32,
        autocast_dtype=getattr(torch, autocast_name) if autocast_name else None,
        seed=seed,
        generator=generator,
        execution=execution,
        training=t,
        inference=i,
        logger_backend=execution.logger_backend,
        dataloader_kwargs=loader,
        trainer_kwargs=_trainer_kwargs(execution, device, t, launch),
        checkpoint_kwargs={**watched, "save_top_k": execution.checkpoint_save_top_k},
        early_stopping_kwargs={**watched, "patience": execution.early_stop_patience},
        launch=launch,
    )
    if seed_globally:
        runtime.apply_global_seed()
    return runtime


def _as_given(payload: Any, config: TrainingConfig | InferenceConfig) -> ExecutionConfig:
    """The execution config with accelerator 'auto' again where a payload of another backend
    resolved it for that backend (to 'cpu', without asking torch): this run uses torch."""
    execution: ExecutionConfig = payload.execution_config
    source = getattr(payload, "provenance", {}).get("execution.accelerator")
    if config.backend != "pytorch" and source is not None and source.host_resolved:
        return with_accelerator(execution, "auto")
    return execution


def _trainer_kwargs(
    execution: ExecutionConfig,
    device: torch.device,
    training: TorchTrainingConfig | None,
    launch: TorchrunLaunch | None,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "accelerator": device.type,
        "devices": execution.devices,
        "strategy": execution.strategy,
        "deterministic": execution.deterministic,
        "precision": execution.precision,
        "enable_progress_bar": execution.enable_progress_bar,
        "enable_checkpointing": execution.enable_checkpointing and training is not None,
        # Trainer takes logger objects, not names; the name is TorchRuntime.logger_backend
        "logger": execution.logger_backend is not None,
    }
    if launch is not None:  # under torchrun: its process layout, already checked against devices
        kwargs |= launch.trainer_kwargs()
    if training is not None:
        # Lightning has no 'agc': the runtime clips (TorchRuntime.clip_gradients) instead
        clips = training.gradient_clip_algorithm != "agc"
        kwargs |= {
            "max_epochs": training.epochs,
            "gradient_clip_val": training.gradient_clip_val if clips else None,
            "gradient_clip_algorithm": training.gradient_clip_algorithm if clips else None,
            "accumulate_grad_batches": training.accum_steps,
            "default_root_dir": training.output_dir,
        }
    return kwargs
