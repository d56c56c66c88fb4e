"""Learning-rate schedules and gradient clipping equal the PyTorch backend's (SPEC §11.4)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptycho_config import ExecutionConfig, TrainingConfig, build_torch_runtime, resolve_training
from ptycho_config._torch.runtime import TorchRuntime

torch = pytest.importorskip("torch")

EPOCHS = 10
BASE = 0.01
LOSSES = [1.0, 0.9, 0.9, 0.9, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8]


@dataclass(frozen=True)
class _Payload:
    training_config: TrainingConfig
    execution_config: ExecutionConfig


def _runtime(**training: Any) -> TorchRuntime:
    execution = ExecutionConfig(accelerator="cpu", learning_rate=BASE)
    return build_torch_runtime(_Payload(TrainingConfig(nepochs=EPOCHS, **training), execution))


def _rates(rt: TorchRuntime) -> list[float]:
    """The rate in force in each of the 10 epochs, stepping once per epoch (loss for plateau)."""
    optimizer = rt.make_optimizer(torch.nn.Linear(2, 1).parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = rt.make_scheduler(optimizer)
    rates = []
    for loss in LOSSES:
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(loss)
        elif scheduler is not None:
            scheduler.step()
    return rates


def _cosine(epoch: int, warmup: int, ratio: float) -> float:
    """reference-head.md §7: 0.1x to 1x over the warm-up, then cosine to base·lr_min_ratio."""
    if epoch < warmup:
        return BASE * (0.1 + 0.9 * epoch / warmup)
    progress = (epoch - warmup) / (EPOCHS - warmup)
    floor = BASE * ratio
    return floor + (BASE - floor) * (1 + math.cos(math.pi * progress)) / 2


def _plateau(factor: float, patience: int, min_lr: float, threshold: float) -> list[float]:
    """Mode 'min': after more than `patience` epochs without a relative improvement, ×factor."""
    rate, best, bad, rates = BASE, math.inf, 0, []
    for loss in LOSSES:
        rates.append(rate)
        if loss < best * (1 - threshold):
            best, bad = loss, 0
        else:
            bad += 1
        if bad > patience:
            rate, bad = max(rate * factor, min_lr), 0
    return rates


TABLES: list[tuple[str, dict[str, Any], list[float]]] = [
    ("Default", {}, [BASE] * EPOCHS),
    ("Exponential", {}, [BASE * 0.95**e for e in range(EPOCHS)]),
    (
        "WarmupCosine",
        {"lr_warmup_epochs": 3, "lr_min_ratio": 0.2},
        [_cosine(e, 3, 0.2) for e in range(EPOCHS)],
    ),
    ("WarmupCosine", {"lr_min_ratio": 0.1}, [_cosine(e, 0, 0.1) for e in range(EPOCHS)]),
    (
        "ReduceLROnPlateau",
        {"plateau_factor": 0.5, "plateau_patience": 1, "plateau_min_lr": 0.003},
        _plateau(0.5, 1, 0.003, 0.0),
    ),
    (
        "ReduceLROnPlateau",
        {"plateau_factor": 0.1, "plateau_patience": 0, "plateau_threshold": 0.05},
        _plateau(0.1, 0, 5e-5, 0.05),
    ),
    ("MultiStage", {}, [BASE] * EPOCHS),
    ("Adaptive", {}, [BASE] * EPOCHS),
]


class TestLearningRateTables:
    """Per-epoch rates over 10 epochs equal the reference's formulas, for every scheduler."""

    @pytest.mark.parametrize(("scheduler", "fields", "expected"), TABLES)
    def test_table(self, scheduler: str, fields: dict[str, Any], expected: list[float]) -> None:
        """make_scheduler's rates, epoch by epoch, are the formula's."""
        assert pytest.approx(expected, rel=1e-9) == _rates(_runtime(scheduler=scheduler, **fields))

    @given(
        warmup=st.integers(min_value=0, max_value=EPOCHS - 1),
        ratio=st.floats(min_value=0.0, max_value=1.0),
    )
    def test_any_warmup_cosine(self, warmup: int, ratio: float) -> None:
        """For all warm-up lengths and floors, WarmupCosine follows the formula."""
        rt = _runtime(scheduler="WarmupCosine", lr_warmup_epochs=warmup, lr_min_ratio=ratio)
        expected = [_cosine(e, warmup, ratio) for e in range(EPOCHS)]
        assert pytest.approx(expected, rel=1e-9, abs=1e-15) == _rates(rt)

    def test_a_resolved_flat_scheduler_drives_the_runtime(self) -> None:
        """scheduler='WarmupCosine' as a flat override is the schedule the runtime builds."""
        resolved = resolve_training(
            {"scheduler": "WarmupCosine", "learning_rate": BASE, "nepochs": EPOCHS},
            environ={"PTYCHO_ACCELERATOR": "cpu"},
        )
        expected = [_cosine(e, 0, 0.1) for e in range(EPOCHS)]
        assert pytest.approx(expected) == _rates(build_torch_runtime(resolved))


class TestAdaptiveClipping:
    """'agc' is clipped by the runtime, never by Lightning."""

    def test_trainer_kwargs_carry_no_clipping_for_agc(self) -> None:
        """With 'agc' the Trainer gets no clipping value or algorithm."""
        rt = _runtime(gradient_clip_val=0.1, gradient_clip_algorithm="agc")
        clipping = (
            rt.trainer_kwargs["gradient_clip_val"],
            rt.trainer_kwargs["gradient_clip_algorithm"],
        )
        assert (None, None) == clipping

    def test_unit_wise_clipping_by_hand(self) -> None:
        """Each row's gradient is scaled to at most clip × the row's weight norm."""
        layer = torch.nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            layer.weight.copy_(torch.tensor([[3.0, 4.0], [0.0, 1.0]]))
        layer.weight.grad = torch.tensor([[6.0, 8.0], [0.0, 0.05]])
        _runtime(gradient_clip_val=0.1, gradient_clip_algorithm="agc").clip_gradients(
            layer.parameters()
        )
        # row 1: |g| = 10 > 0.1·5 = 0.5 -> scaled to 0.5; row 2: |g| = 0.05 <= 0.1, kept
        expected = torch.tensor([[0.3, 0.4], [0.0, 0.05]])
        assert torch.allclose(expected, layer.weight.grad)

    def test_a_gradient_within_a_tiny_limit_is_kept(self) -> None:
        """A limit below 1e-6 (clip 1e-4 × the 1e-3 floor of fresh zero weights) still leaves a
        gradient inside it as it is, and scales one beyond it to exactly the limit; a zero
        gradient stays zero."""
        weight = torch.nn.Parameter(torch.zeros(3, 2))
        weight.grad = torch.tensor([[3e-8, 4e-8], [3e-7, 4e-7], [0.0, 0.0]])  # norms 5e-8, 5e-7
        _runtime(gradient_clip_val=1e-4, gradient_clip_algorithm="agc").clip_gradients([weight])
        # the limit is 1e-4 · 1e-3 = 1e-7: row 1 kept, row 2 scaled down to norm 1e-7
        expected = torch.tensor([[3e-8, 4e-8], [0.6e-7, 0.8e-7], [0.0, 0.0]])
        assert torch.allclose(expected, weight.grad, rtol=1e-5, atol=0)

    @given(st.floats(min_value=5e-324, max_value=1e3))
    def test_any_limit_leaves_no_nan(self, clip: float) -> None:
        """For any positive clip value (one so small that the float32 limit is 0 included), a
        zero gradient stays zero and the others are scaled by a factor in [0, 1]: no NaN."""
        weight = torch.nn.Parameter(torch.zeros(3, 2))
        grad = torch.tensor([[0.0, 0.0], [3.0, 4.0], [3e-9, 4e-9]])
        weight.grad = grad.clone()
        _runtime(gradient_clip_val=clip, gradient_clip_algorithm="agc").clip_gradients([weight])
        assert torch.isfinite(weight.grad).all()
        assert torch.equal(weight.grad[0], grad[0])
        factors = weight.grad[1:, 0] / grad[1:, 0]
        assert ((factors >= 0) & (factors <= 1)).all()

    @pytest.mark.parametrize(
        ("algorithm", "expected"), [("norm", [0.6, 0.8]), ("value", [1.0, 1.0])]
    )
    def test_norm_and_value_in_a_plain_loop(self, algorithm: str, expected: list[float]) -> None:
        """clip_gradients also clips by norm or by value, for loops without Lightning."""
        weight = torch.nn.Parameter(torch.zeros(2))
        weight.grad = torch.tensor([3.0, 4.0])
        _runtime(gradient_clip_val=1.0, gradient_clip_algorithm=algorithm).clip_gradients([weight])
        assert torch.allclose(torch.tensor(expected), weight.grad)

    def test_no_value_no_clipping(self) -> None:
        """Without gradient_clip_val nothing is clipped."""
        weight = torch.nn.Parameter(torch.zeros(2))
        weight.grad = torch.tensor([3.0, 4.0])
        _runtime(gradient_clip_algorithm="agc").clip_gradients([weight])
        assert torch.equal(torch.tensor([3.0, 4.0]), weight.grad)
