"""A tiny LightningModule driven only by a payload's runtime; shared by the Lightning tests.

Everything Lightning is given comes from the runtime: the Trainer's keyword arguments, the
checkpoint and early-stopping callbacks, the DataLoader's keyword arguments, and what
``configure_optimizers`` returns.
"""

from __future__ import annotations

from typing import Any

import lightning
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from ptycho_config import TorchRuntime, build_torch_runtime
from ptycho_config.distributed import verify_consistent


def dataset(size: int = 32) -> TensorDataset:
    """y = 2·x₀ − x₁, exactly learnable by one linear layer."""
    inputs = torch.linspace(-1, 1, 2 * size).reshape(size, 2)
    return TensorDataset(inputs, (inputs @ torch.tensor([[2.0], [-1.0]])))


class Tiny(lightning.LightningModule):
    """One linear layer; records the learning rate each epoch starts with."""

    def __init__(self, runtime: TorchRuntime, payload: Any = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.payload = payload
        self.layer = torch.nn.Linear(2, 1)
        self.initial = self.layer.weight.detach().clone()
        self.learning_rates: list[float] = []
        self.fingerprint: str | None = None

    def setup(self, stage: str) -> None:
        # every rank has joined the process group here: check that they agree before training
        if self.payload is not None:
            self.fingerprint = verify_consistent(self.payload)

    def loss(self, batch: Any) -> torch.Tensor:
        inputs, targets = batch
        return torch.nn.functional.mse_loss(self.layer(inputs), targets)

    def training_step(self, batch: Any, batch_index: int) -> torch.Tensor:
        loss = self.loss(batch)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_index: int) -> None:
        self.log("val_loss", self.loss(batch), sync_dist=True)

    def on_train_epoch_start(self) -> None:
        self.learning_rates.append(self.trainer.optimizers[0].param_groups[0]["lr"])

    def configure_optimizers(self) -> Any:
        return self.runtime.configure_optimizers(self.parameters())

    def configure_gradient_clipping(
        self, optimizer: Any, gradient_clip_val: Any = None, gradient_clip_algorithm: Any = None
    ) -> None:
        # Lightning has no 'agc' (its arguments carry no clipping then): the runtime clips
        if gradient_clip_val is None:
            self.runtime.clip_gradients(self.parameters())
        else:
            self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def train_dataloader(self) -> DataLoader[Any]:
        return DataLoader(dataset(), shuffle=True, **self.runtime.dataloader_kwargs)

    def val_dataloader(self) -> DataLoader[Any]:
        loader_kwargs = {
            k: v for k, v in self.runtime.dataloader_kwargs.items() if k != "generator"
        }
        return DataLoader(dataset(8), **loader_kwargs)


def fit(payload: Any, *, verify: bool = False) -> tuple[lightning.Trainer, Tiny]:
    """Fit Tiny on the payload with the runtime's objects only; the trainer and the module."""
    runtime = build_torch_runtime(payload, seed_globally=True)
    module = Tiny(runtime, payload if verify else None)
    kwargs = dict(runtime.trainer_kwargs)
    if runtime.logger_backend == "csv":  # Lightning takes a logger object, built from its name
        kwargs["logger"] = CSVLogger(save_dir=kwargs["default_root_dir"])
    trainer = lightning.Trainer(
        **kwargs,
        callbacks=[
            ModelCheckpoint(**runtime.checkpoint_kwargs),
            EarlyStopping(**runtime.early_stopping_kwargs),
        ],
    )
    trainer.fit(module)
    return trainer, module
