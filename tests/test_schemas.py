"""The four schemas (SPEC §2): every rule in both directions, aliases, errors and round trips."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ptycho_config import (
    ExecutionConfig,
    InferenceConfig,
    InvalidValueError,
    MissingValueError,
    ModelConfig,
    PtychoConfigError,
    PyTorchExecutionConfig,
    TrainingConfig,
    UnknownKeyError,
)
from ptycho_config._schemas.types import MAX_COUNT
from ptycho_config.testing import (
    execution_configs,
    inference_configs,
    model_configs,
    training_configs,
)

SCHEMAS: dict[str, type[pydantic.BaseModel]] = {
    "model": ModelConfig,
    "training": TrainingConfig,
    "inference": InferenceConfig,
    "execution": ExecutionConfig,
}
# Fields every InferenceConfig needs; added wherever an inference config is built.
INFERENCE_REQUIRED = {"model_path": Path("model"), "test_data_file": Path("test.npz")}
INF = math.inf
NAN = math.nan


def build(section: str, **fields: Any) -> Any:
    """The schema of ``section`` built from keyword arguments (inference paths filled in)."""
    if section == "inference":
        fields = {**INFERENCE_REQUIRED, **fields}
    return SCHEMAS[section](**fields)


def key_of(section: str, name: str) -> str:
    """The qualified key of a field."""
    return f"{section}.{name}"


def rejected(
    make: Callable[[], object], error: type[PtychoConfigError] = InvalidValueError
) -> PtychoConfigError:
    """The library error raised by ``make`` (which must not succeed)."""
    with pytest.raises(error) as info:
        make()
    return info.value


def assert_names(err: PtychoConfigError, key: str, value: Any) -> None:
    """The error lists ``key`` as a problem and shows the bad value next to it."""
    assert key in [p.key for p in err.problems]
    assert f"{key} = {value!r}" in str(err)


class TestProbeSize:
    """model.N: one of 64, 128, 256."""

    @pytest.mark.parametrize("value", [64, 128, 256])
    def test_probe_size_choices_are_accepted(self, value: int) -> None:
        """Each supported probe size is accepted and kept."""
        assert value == ModelConfig(N=value).N

    @pytest.mark.parametrize("value", [100, 32, 512, 0, -64])
    def test_other_probe_sizes_are_rejected(self, value: int) -> None:
        """A probe size other than 64, 128 or 256 is rejected naming model.N and the value."""
        err = rejected(lambda: ModelConfig(N=value))
        assert_names(err, "model.N", value)
        assert "64, 128, 256" in str(err)

    def test_nested_model_error_names_model_key(self) -> None:
        """A bad model field inside a TrainingConfig is reported under its model.* key."""
        err = rejected(lambda: TrainingConfig(model={"N": 100}))
        assert_names(err, "model.N", 100)

    def test_nested_model_error_names_model_key_in_inference(self) -> None:
        """A bad model field inside an InferenceConfig is reported under its model.* key."""
        err = rejected(lambda: build("inference", model={"gridsize": 0}))
        assert_names(err, "model.gridsize", 0)


@dataclass(frozen=True)
class Bound:
    """One numeric rule: the interval of valid values and the context that makes it sufficient."""

    section: str
    name: str
    kind: type
    low: float
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    context: dict[str, Any] = field(default_factory=dict)
    cap: int | None = None  # largest value the context allows, for rules bounded by another field

    def __str__(self) -> str:
        return key_of(self.section, self.name)

    def holds(self, value: float) -> bool:
        """Whether ``value`` lies inside the interval (NaN and infinities never do)."""
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        if self.high is None:
            return above
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def inside(self) -> SearchStrategy[Any]:
        """Values that satisfy the rule."""
        if self.kind is int:
            high = self.cap if self.cap is not None else int(self.high or 0)
            return st.integers(min_value=int(self.low), max_value=high)
        return st.floats(
            min_value=self.low,
            max_value=self.high,
            exclude_min=self.low_open,
            exclude_max=self.high_open,
            allow_nan=False,
            allow_infinity=False,
        )

    def outside(self) -> SearchStrategy[Any]:
        """Values that break the rule, including the first invalid value on each side."""
        if self.kind is int:
            below = st.integers(max_value=int(self.low) - 1)
            if self.high is None:
                return below
            return below | st.integers(min_value=int(self.high) + 1)
        values = st.floats(max_value=self.low) | st.sampled_from([INF, -INF, NAN])
        if self.high is not None:
            values |= st.floats(min_value=self.high)
        return values.filter(lambda v: not self.holds(v))

    def make(self, value: Any) -> Any:
        """The schema built with this field set to ``value``."""
        return build(self.section, **{**self.context, self.name: value})


GROUPING_BOUNDS = [
    ("n_subsample", int, 1),
    ("neighbor_count", int, 1),
]
SEED = (-(2**63), 2**64 - 1)  # torch's generator takes int64 or uint64
BOUNDS = [
    Bound("model", "gridsize", int, 1, 32),
    Bound("model", "n_filters_scale", int, 1, MAX_COUNT),
    Bound("model", "probe_scale", float, 0.0, low_open=True),
    Bound("model", "gaussian_smoothing_sigma", float, 0.0),
    Bound("training", "nepochs", int, 1, MAX_COUNT),
    Bound("training", "mae_weight", float, 0.0, 1.0),
    Bound("training", "nll_weight", float, 0.0, 1.0, context={"mae_weight": 0.5}),
    Bound("training", "realspace_mae_weight", float, 0.0, context={"realspace_weight": 1.0}),
    Bound("training", "realspace_weight", float, 0.0),
    Bound("training", "nphotons", float, 0.0, low_open=True),
    Bound("training", "n_groups", int, 1, MAX_COUNT),
    *(Bound("training", name, kind, low, MAX_COUNT) for name, kind, low in GROUPING_BOUNDS),
    Bound("training", "subsample_seed", int, *SEED),
    Bound("training", "neighbor_pool_size", int, 1, MAX_COUNT, context={"neighbor_count": 1}),
    Bound("training", "momentum", float, 0.0, 1.0, high_open=True),
    Bound("training", "weight_decay", float, 0.0),
    Bound("training", "adam_beta1", float, 0.0, 1.0, high_open=True),
    Bound("training", "adam_beta2", float, 0.0, 1.0, high_open=True),
    Bound(
        "training",
        "lr_warmup_epochs",
        int,
        0,
        MAX_COUNT,
        context={"nepochs": MAX_COUNT},
        cap=MAX_COUNT - 1,
    ),
    Bound("training", "lr_min_ratio", float, 0.0, 1.0),
    Bound("inference", "n_groups", int, 1, MAX_COUNT),
    *(Bound("inference", name, kind, low, MAX_COUNT) for name, kind, low in GROUPING_BOUNDS),
    Bound("execution", "seed", int, *SEED),
    Bound("inference", "neighbor_pool_size", int, 1, MAX_COUNT, context={"neighbor_count": 1}),
    Bound("execution", "devices", int, 1, MAX_COUNT),
    Bound("execution", "gradient_clip_val", float, 0.0, low_open=True),
    Bound("execution", "accum_steps", int, 1, MAX_COUNT),
    Bound("execution", "num_workers", int, 0, MAX_COUNT),
    Bound("execution", "prefetch_factor", int, 1, MAX_COUNT, context={"num_workers": 1}),
    Bound("execution", "learning_rate", float, 0.0, low_open=True),
    Bound("execution", "checkpoint_save_top_k", int, -1, MAX_COUNT),
    Bound("execution", "early_stop_patience", int, 1, MAX_COUNT),
    Bound("execution", "inference_batch_size", int, 1, MAX_COUNT),
    Bound("execution", "middle_trim", int, 0, MAX_COUNT),
]


def _edges(bound: Bound) -> list[tuple[Bound, Any]]:
    edge = bound.low if not bound.low_open else math.nextafter(bound.low, INF)
    cases = [(bound, bound.kind(edge))]
    if bound.high is not None:
        top = bound.high if not bound.high_open else math.nextafter(bound.high, -INF)
        cases.append((bound, bound.kind(top if bound.cap is None else bound.cap)))
    return cases


def _first_invalid(bound: Bound) -> list[tuple[Bound, Any]]:
    cases: list[tuple[Bound, Any]]
    if bound.kind is int:
        cases = [(bound, int(bound.low) - 1)]
        if bound.high is not None:
            cases.append((bound, int(bound.high) + 1))
        return cases
    low = bound.low if bound.low_open else math.nextafter(bound.low, -INF)
    cases = [(bound, low), (bound, INF), (bound, NAN)]
    if bound.high is not None:
        high = bound.high if bound.high_open else math.nextafter(bound.high, INF)
        cases.append((bound, high))
    return cases


EDGES = [case for bound in BOUNDS for case in _edges(bound)]
FIRST_INVALID = [case for bound in BOUNDS for case in _first_invalid(bound)]


class TestNumericBounds:
    """Every numeric rule of SPEC §2, at its edges and for all values (Hypothesis)."""

    @pytest.mark.parametrize(("bound", "value"), EDGES, ids=lambda c: str(c))
    def test_edge_value_is_accepted(self, bound: Bound, value: Any) -> None:
        """The last valid value at each end of the interval is accepted and kept."""
        assert value == getattr(bound.make(value), bound.name)

    @pytest.mark.parametrize(("bound", "value"), FIRST_INVALID, ids=lambda c: str(c))
    def test_first_invalid_value_is_rejected(self, bound: Bound, value: Any) -> None:
        """The first invalid value past each end (and inf, nan for floats) names key and value."""
        assert_names(rejected(lambda: bound.make(value)), str(bound), value)

    @pytest.mark.parametrize("bound", BOUNDS, ids=str)
    def test_bounds_in_json_schema(self, bound: Bound) -> None:
        """The JSON Schema states each bound with the standard minimum/maximum keywords."""
        prop = SCHEMAS[bound.section].model_json_schema()["properties"][bound.name]
        number = next(
            b for b in prop.get("anyOf", [prop]) if b.get("type") in ("integer", "number")
        )
        expected = {"exclusiveMinimum" if bound.low_open else "minimum": bound.low}
        if bound.high is not None:
            expected["exclusiveMaximum" if bound.high_open else "maximum"] = bound.high
        keywords = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
        assert expected == {k: v for k, v in number.items() if k in keywords}

    @pytest.mark.parametrize("bound", BOUNDS, ids=str)
    @given(data=st.data())
    def test_any_value_inside_is_kept(self, bound: Bound, data: st.DataObject) -> None:
        """For all values inside the bounds, construction succeeds and keeps the value."""
        value = data.draw(bound.inside())
        assert value == getattr(bound.make(value), bound.name)

    @pytest.mark.parametrize("bound", BOUNDS, ids=str)
    @given(data=st.data())
    def test_any_value_outside_is_rejected(self, bound: Bound, data: st.DataObject) -> None:
        """For all values outside the bounds, construction fails naming the key and value."""
        value = data.draw(bound.outside())
        assert_names(rejected(lambda: bound.make(value)), str(bound), value)


class TestBatchSize:
    """training.batch_size: a positive power of two."""

    @pytest.mark.parametrize("value", [1, 2, 16, 1024, 2**30])
    def test_powers_of_two_are_accepted(self, value: int) -> None:
        """A positive power of two is accepted and kept."""
        assert value == TrainingConfig(batch_size=value).batch_size

    @pytest.mark.parametrize("value", [0, 3, 12, -2, -16, 1023])
    def test_other_integers_are_rejected(self, value: int) -> None:
        """Zero, negatives and non-powers of two are rejected naming the key and value."""
        err = rejected(lambda: TrainingConfig(batch_size=value))
        assert_names(err, "training.batch_size", value)
        assert "power of two" in str(err)

    @given(exponent=st.integers(min_value=0, max_value=62))
    def test_any_power_of_two_is_kept(self, exponent: int) -> None:
        """For all exponents k, a batch size of 2**k is accepted and kept up to the count
        limit, 2**31 - 1, and rejected above it."""
        if exponent < 31:
            assert 2**exponent == TrainingConfig(batch_size=2**exponent).batch_size
        else:
            assert "at most 2147483647" in str(
                rejected(lambda: TrainingConfig(batch_size=2**exponent))
            )

    @given(value=st.integers(max_value=2**62).filter(lambda v: v < 1 or v & (v - 1)))
    def test_any_non_power_of_two_is_rejected(self, value: int) -> None:
        """For all integers that are not a positive power of two, construction fails."""
        assert_names(
            rejected(lambda: TrainingConfig(batch_size=value)), "training.batch_size", value
        )


class TestIntegerFields:
    """Integer fields refuse booleans and fractions rather than coercing them."""

    @pytest.mark.parametrize(
        ("section", "name"),
        [("model", "gridsize"), ("training", "batch_size"), ("training", "n_groups")],
    )
    def test_boolean_is_rejected(self, section: str, name: str) -> None:
        """True given for a count is rejected naming the key."""
        err = rejected(lambda: build(section, **{name: True}))
        assert_names(err, key_of(section, name), True)

    def test_fraction_is_rejected(self) -> None:
        """A number with a fractional part is rejected for an integer field."""
        assert_names(rejected(lambda: TrainingConfig(nepochs=2.5)), "training.nepochs", 2.5)

    @pytest.mark.parametrize("name", ["probe_scale", "gaussian_smoothing_sigma"])
    def test_boolean_is_rejected_for_float(self, name: str) -> None:
        """True given for a float field is rejected naming the key."""
        assert_names(rejected(lambda: ModelConfig(**{name: True})), f"model.{name}", True)


CHOICES: list[tuple[str, str, list[Any]]] = [
    ("model", "model_type", ["pinn", "supervised"]),
    ("model", "architecture", ["cnn", "ffno", "fno", "fno_vanilla", "neuralop_uno"]),
    ("model", "amp_activation", ["sigmoid", "swish", "softplus", "relu"]),
    ("training", "backend", ["tensorflow", "pytorch"]),
    ("training", "torch_loss_mode", ["poisson", "mae"]),
    ("training", "optimizer", ["adam", "adamw", "sgd"]),
    ("training", "scheduler", ["Default", "Exponential", "WarmupCosine", "ReduceLROnPlateau"]),
    ("inference", "backend", ["tensorflow", "pytorch"]),
    ("execution", "accelerator", ["auto", "cpu", "gpu", "cuda", "mps"]),
    ("execution", "devices", ["auto", 1, 8]),
    (
        "execution",
        "strategy",
        [
            "auto",
            "ddp",
            "ddp_spawn",
            "ddp_notebook",
            "ddp_find_unused_parameters_true",
            "fsdp",
            "deepspeed",
            "single_device",
        ],
    ),
    ("execution", "deterministic", [True, False, "warn"]),
    ("execution", "precision", ["32-true", "16-mixed", "bf16-mixed"]),
    ("execution", "gradient_clip_algorithm", ["norm", "value", "agc"]),
    ("training", "gradient_clip_algorithm", ["norm", "value", "agc"]),
    (
        "execution",
        "scheduler",
        ["Default", "Exponential", "MultiStage", "Adaptive", "WarmupCosine", "ReduceLROnPlateau"],
    ),
    ("execution", "checkpoint_mode", ["min", "max"]),
    ("execution", "logger_backend", ["csv", "tensorboard", "mlflow", None]),
]
BAD_CHOICES: list[tuple[str, str, Any]] = [
    ("model", "model_type", "gan"),
    ("model", "model_type", "pi nn"),
    ("model", "architecture", "resnet"),
    ("model", "amp_activation", "tanh"),
    ("training", "backend", "jax"),
    ("training", "torch_loss_mode", "mse"),
    ("training", "optimizer", "rmsprop"),
    ("training", "scheduler", "Cosine"),
    ("training", "gradient_clip_algorithm", "max"),
    ("inference", "backend", "jax"),
    ("execution", "accelerator", "xla"),
    ("execution", "devices", "all"),
    ("execution", "devices", True),
    ("execution", "strategy", "dp"),
    ("execution", "deterministic", "error"),
    ("execution", "precision", "64-true"),
    ("execution", "gradient_clip_algorithm", "max"),
    ("execution", "scheduler", "Cosine"),
    ("execution", "checkpoint_mode", "avg"),
    ("execution", "logger_backend", "wandb"),
    ("execution", "checkpoint_monitor_metric", ""),
]


class TestChoices:
    """Fields with a fixed set of choices accept every choice and nothing else."""

    @pytest.mark.parametrize(
        ("section", "name", "value"),
        [(s, n, v) for s, n, values in CHOICES for v in values],
    )
    def test_every_choice_is_accepted(self, section: str, name: str, value: Any) -> None:
        """Each documented choice is accepted and kept as given."""
        assert value == getattr(build(section, **{name: value}), name)

    @pytest.mark.parametrize(("section", "name", "value"), BAD_CHOICES)
    def test_other_values_are_rejected(self, section: str, name: str, value: Any) -> None:
        """A value outside the choices is rejected naming the key and the value."""
        assert_names(
            rejected(lambda: build(section, **{name: value})), key_of(section, name), value
        )


class TestAliases:
    """Alternative spellings accepted on input and stored in canonical form."""

    @pytest.mark.parametrize("value", ["silu", "SiLU", "SILU"])
    def test_silu_means_swish(self, value: str) -> None:
        """'silu' in any case is stored as 'swish'."""
        assert ModelConfig(amp_activation=value).amp_activation == "swish"

    @pytest.mark.parametrize(
        ("value", "expected"),
        [("Unsupervised", "pinn"), ("unsupervised", "pinn"), ("Supervised", "supervised")],
    )
    def test_reference_model_types(self, value: str, expected: str) -> None:
        """The reference's 'Unsupervised'/'Supervised' modes map onto 'pinn'/'supervised'."""
        assert expected == ModelConfig(model_type=value).model_type

    @pytest.mark.parametrize("value", ["none", "None", "null", None])
    def test_logger_backend_none(self, value: str | None) -> None:
        """The string 'none' (or None itself) disables the logger."""
        assert ExecutionConfig(logger_backend=value).logger_backend is None

    def test_accelerator_auto_is_kept(self) -> None:
        """'auto' is not resolved in the schema, so a config means the same on every host."""
        assert ExecutionConfig(accelerator="auto").accelerator == "auto"
        assert ExecutionConfig().accelerator == "auto"

    @pytest.mark.parametrize("value", ["tpu", "TPU"])
    def test_tpu_is_rejected_clearly(self, value: str) -> None:
        """Asking for a TPU fails with a message that it is unsupported and what to use."""
        err = rejected(lambda: ExecutionConfig(accelerator=value))
        assert_names(err, "execution.accelerator", value)
        assert "TPU execution is unsupported" in str(err)
        assert "'cpu'" in str(err)

    def test_devices_true_is_rejected(self) -> None:
        """devices=True (a bool, not a count) is rejected."""
        assert_names(rejected(lambda: ExecutionConfig(devices=True)), "execution.devices", True)

    def test_devices_auto_is_accepted(self) -> None:
        """devices='auto' is accepted and kept."""
        assert ExecutionConfig(devices="auto").devices == "auto"


class TestDeprecatedNImages:
    """n_images: a deprecated alias of n_groups."""

    @pytest.mark.parametrize("section", ["training", "inference"])
    def test_copied_into_n_groups_with_warning(self, section: str) -> None:
        """n_images alone warns and becomes n_groups."""
        with pytest.warns(DeprecationWarning, match="Parameter 'n_images' is deprecated"):
            config = build(section, n_images=100)
        assert config.n_groups == 100

    @pytest.mark.parametrize("section", ["training", "inference"])
    def test_does_not_override_explicit_n_groups(self, section: str) -> None:
        """An explicit n_groups wins over n_images (which still warns)."""
        with pytest.warns(DeprecationWarning, match="n_images"):
            config = build(section, n_groups=7, n_images=100)
        assert config.n_groups == 7

    def test_explicit_default_n_groups_is_kept(self) -> None:
        """n_groups given explicitly at its default value is not replaced by n_images."""
        with pytest.warns(DeprecationWarning, match="n_images"):
            config = TrainingConfig(n_groups=512, n_images=100)
        assert config.n_groups == 512

    @pytest.mark.parametrize("section", ["training", "inference"])
    def test_invalid_n_images_is_rejected(self, section: str) -> None:
        """An invalid n_images is rejected naming it."""
        with pytest.warns(DeprecationWarning, match="n_images"):
            err = rejected(lambda: build(section, n_images=0))
        assert_names(err, key_of(section, "n_images"), 0)


class TestCrossFieldRules:
    """Rules over several fields, each in both directions."""

    def test_realspace_mae_weight_with_realspace_weight(self) -> None:
        """realspace_mae_weight > 0 is accepted when realspace_weight > 0."""
        config = TrainingConfig(realspace_mae_weight=0.5, realspace_weight=0.1)
        assert (config.realspace_mae_weight, config.realspace_weight) == (0.5, 0.1)

    def test_realspace_mae_weight_without_realspace_weight(self) -> None:
        """realspace_mae_weight > 0 with realspace_weight == 0 is rejected naming both."""
        err = rejected(lambda: TrainingConfig(realspace_mae_weight=0.5, realspace_weight=0.0))
        assert "training.realspace_mae_weight=0.5" in str(err)
        assert "training.realspace_weight=0.0" in str(err)

    @pytest.mark.parametrize("section", ["training", "inference"])
    def test_oversampling_with_grid_and_pool(self, section: str) -> None:
        """Oversampling is accepted with gridsize > 1 and neighbor_pool_size >= gridsize²."""
        config = build(
            section, model={"gridsize": 2}, enable_oversampling=True, neighbor_pool_size=4
        )
        assert config.enable_oversampling is True

    @pytest.mark.parametrize("section", ["training", "inference"])
    def test_oversampling_needs_gridsize_above_one(self, section: str) -> None:
        """Oversampling with gridsize 1 is rejected naming both keys."""
        err = rejected(lambda: build(section, enable_oversampling=True, neighbor_pool_size=4))
        assert f"{section}.enable_oversampling=True" in str(err)
        assert "model.gridsize=1" in str(err)

    @pytest.mark.parametrize("section", ["training", "inference"])
    def test_oversampling_needs_large_enough_pool(self, section: str) -> None:
        """Oversampling with neighbor_pool_size < gridsize² is rejected naming the pool size."""
        err = rejected(
            lambda: build(
                section,
                model={"gridsize": 2},
                enable_oversampling=True,
                neighbor_count=3,
                neighbor_pool_size=3,
            )
        )
        assert f"{section}.neighbor_pool_size=3" in str(err)
        assert "gridsize**2" in str(err)

    @pytest.mark.parametrize("section", ["training", "inference"])
    def test_oversampling_needs_a_pool(self, section: str) -> None:
        """Oversampling without a neighbor_pool_size is rejected."""
        err = rejected(lambda: build(section, model={"gridsize": 2}, enable_oversampling=True))
        assert f"{section}.neighbor_pool_size=None" in str(err)

    @pytest.mark.parametrize("section", ["training", "inference"])
    def test_pool_equal_to_neighbor_count(self, section: str) -> None:
        """neighbor_pool_size equal to neighbor_count is accepted."""
        assert build(section, neighbor_count=6, neighbor_pool_size=6).neighbor_pool_size == 6

    @pytest.mark.parametrize("section", ["training", "inference"])
    def test_pool_below_neighbor_count(self, section: str) -> None:
        """neighbor_pool_size below neighbor_count is rejected naming both."""
        err = rejected(lambda: build(section, neighbor_count=6, neighbor_pool_size=5))
        assert f"{section}.neighbor_pool_size=5" in str(err)
        assert f"{section}.neighbor_count=6" in str(err)

    def test_warmup_shorter_than_training(self) -> None:
        """lr_warmup_epochs = nepochs - 1 is accepted."""
        assert TrainingConfig(nepochs=10, lr_warmup_epochs=9).lr_warmup_epochs == 9

    def test_warmup_as_long_as_training(self) -> None:
        """lr_warmup_epochs = nepochs is rejected naming both."""
        err = rejected(lambda: TrainingConfig(nepochs=10, lr_warmup_epochs=10))
        assert "training.lr_warmup_epochs=10" in str(err)
        assert "training.nepochs=10" in str(err)

    def test_warmup_against_default_nepochs(self) -> None:
        """lr_warmup_epochs is checked against the default nepochs (50) too."""
        err = rejected(lambda: TrainingConfig(lr_warmup_epochs=50))
        assert "training.nepochs=50" in str(err)

    @pytest.mark.parametrize(
        ("name", "value"), [("persistent_workers", True), ("prefetch_factor", 2)]
    )
    def test_worker_options_with_workers(self, name: str, value: Any) -> None:
        """persistent_workers and prefetch_factor are accepted with num_workers > 0."""
        assert value == getattr(ExecutionConfig(num_workers=1, **{name: value}), name)

    @pytest.mark.parametrize(
        ("name", "value"), [("persistent_workers", True), ("prefetch_factor", 2)]
    )
    def test_worker_options_without_workers(self, name: str, value: Any) -> None:
        """persistent_workers and prefetch_factor are rejected with num_workers == 0."""
        err = rejected(lambda: ExecutionConfig(num_workers=0, **{name: value}))
        assert f"execution.{name}={value!r}" in str(err)
        assert "execution.num_workers=0" in str(err)

    def test_broken_rules_are_all_listed(self) -> None:
        """Several broken cross-field rules are reported together."""
        err = rejected(
            lambda: TrainingConfig(realspace_mae_weight=1.0, nepochs=1, lr_warmup_epochs=1)
        )
        expected = {
            "training.realspace_mae_weight & training.realspace_weight",
            "training.lr_warmup_epochs & training.nepochs",
        }
        assert expected == {p.key for p in err.problems}


class TestModelBehaviour:
    """Frozen, closed, described, schema-exporting models."""

    @pytest.mark.parametrize(
        ("config", "name", "value"),
        [
            (ModelConfig(), "N", 128),
            (TrainingConfig(), "batch_size", 32),
            (InferenceConfig(**INFERENCE_REQUIRED), "debug", True),
            (ExecutionConfig(), "accelerator", "cpu"),
        ],
        ids=lambda c: type(c).__name__ if isinstance(c, pydantic.BaseModel) else str(c),
    )
    def test_assignment_fails(self, config: pydantic.BaseModel, name: str, value: Any) -> None:
        """Assigning to a field of a config fails and leaves the value unchanged."""
        before = getattr(config, name)
        with pytest.raises(InvalidValueError, match="frozen"):
            setattr(config, name, value)
        assert before == getattr(config, name)

    @pytest.mark.parametrize(
        ("section", "typo", "expected"),
        [
            ("model", "gridsze", "gridsize"),
            ("training", "batch_sise", "batch_size"),
            ("inference", "model_pth", "model_path"),
            ("execution", "acelerator", "accelerator"),
        ],
    )
    def test_unknown_field_suggests_closest(self, section: str, typo: str, expected: str) -> None:
        """An unknown field is an UnknownKeyError naming it and suggesting the closest field."""
        err = rejected(lambda: build(section, **{typo: 1}), UnknownKeyError)
        assert [key_of(section, typo)] == [p.key for p in err.problems]
        assert expected == err.problems[0].suggestions[0]
        assert f"did you mean '{expected}'" in str(err)

    def test_unknown_nested_model_field_suggests_closest(self) -> None:
        """An unknown field inside the nested model is reported as model.<name> with a hint."""
        err = rejected(lambda: TrainingConfig(model={"gridsze": 2}), UnknownKeyError)
        assert err.problems[0].key == "model.gridsze"
        assert "did you mean 'gridsize'" in str(err)

    def test_unknown_field_without_close_match(self) -> None:
        """An unknown field unlike any other is still rejected, without a suggestion."""
        err = rejected(lambda: ExecutionConfig(zzzzzz=1), UnknownKeyError)  # type: ignore[call-arg]
        assert err.problems[0].suggestions == ()

    def test_unknown_field_after_many_bad_values_gets_its_suggestion(self) -> None:
        """The first unknown fields of one call get suggestions however many bad values come
        before them (docs/errors.md: the first 20 of each source)."""
        fields = TrainingConfig.model_fields.items()
        bad = {name: [] for name, info in fields if info.annotation in (int, float, bool)}
        err = rejected(lambda: TrainingConfig(**bad, batch_sise=16), PtychoConfigError)
        assert len(err.problems) > 21  # the typo comes after more problems than a message lists
        typo = next(p for p in err.problems if p.key == "training.batch_sise")
        assert ("batch_size",) == typo.suggestions

    @pytest.mark.parametrize(
        ("section", "name"),
        [(s, n) for s, schema in SCHEMAS.items() for n in schema.model_fields],
    )
    def test_every_field_has_a_one_line_description(self, section: str, name: str) -> None:
        """Every field has a non-empty one-line description."""
        description = SCHEMAS[section].model_fields[name].description or ""
        assert description.strip() != ""
        assert "\n" not in description

    @pytest.mark.parametrize("section", SCHEMAS)
    def test_json_schema(self, section: str) -> None:
        """model_json_schema() lists every field with its description."""
        schema = SCHEMAS[section].model_json_schema()
        fields = SCHEMAS[section].model_fields
        assert set(fields) == set(schema["properties"])
        descriptions = {n: p.get("description") for n, p in schema["properties"].items()}
        assert {n: f.description for n, f in fields.items()} == descriptions

    def test_json_schema_lists_probe_sizes(self) -> None:
        """The JSON Schema of N enumerates the supported probe sizes."""
        assert ModelConfig.model_json_schema()["properties"]["N"]["enum"] == [64, 128, 256]

    def test_pytorch_execution_config_is_execution_config(self) -> None:
        """PyTorchExecutionConfig is the same class as ExecutionConfig."""
        assert PyTorchExecutionConfig is ExecutionConfig


class TestInferenceRequired:
    """InferenceConfig needs a model and data to reconstruct."""

    def test_both_missing(self) -> None:
        """Without model_path and test_data_file, a MissingValueError lists both."""
        err = rejected(lambda: InferenceConfig(), MissingValueError)  # type: ignore[call-arg]
        assert [p.key for p in err.problems] == ["inference.model_path", "inference.test_data_file"]

    @pytest.mark.parametrize("given_field", ["model_path", "test_data_file"])
    def test_one_missing(self, given_field: str) -> None:
        """With only one of the two, the error names the other."""
        missing = next(n for n in INFERENCE_REQUIRED if n != given_field)
        err = rejected(
            lambda: InferenceConfig(**{given_field: Path("x")}),
            MissingValueError,
        )
        assert [f"inference.{missing}"] == [p.key for p in err.problems]

    def test_both_given(self) -> None:
        """With both, the paths are kept as Path objects."""
        config = InferenceConfig(model_path="run/model", test_data_file="data/test.npz")
        expected = (Path("run/model"), Path("data/test.npz"))
        assert expected == (config.model_path, config.test_data_file)


class TestErrors:
    """Validation errors are library errors that list every problem."""

    def test_all_problems_listed(self) -> None:
        """Several bad values are reported in one error, each with key and value."""
        err = rejected(lambda: TrainingConfig(batch_size=12, nepochs=0, model={"N": 100}))
        expected = {"training.batch_size": 12, "training.nepochs": 0, "model.N": 100}
        assert expected == {p.key: p.value for p in err.problems}
        assert "(3 problems)" in str(err)
        for key, value in expected.items():
            assert f"{key} = {value!r}" in str(err)

    def test_mixed_problems_use_the_base_class(self) -> None:
        """An unknown key together with a bad value is one PtychoConfigError listing both."""
        with pytest.raises(PtychoConfigError) as info:
            TrainingConfig(batch_sise=2, nepochs=0)  # type: ignore[call-arg]
        assert {"training.batch_sise", "training.nepochs"} == {p.key for p in info.value.problems}

    @pytest.mark.parametrize(
        "call",
        [
            lambda: TrainingConfig(batch_size=3),
            lambda: TrainingConfig.model_validate({"batch_size": 3}),
            lambda: TrainingConfig.model_validate_json('{"batch_size": 3}'),
            lambda: ModelConfig.model_validate({"N": 100}),
            lambda: ModelConfig.model_validate_json('{"N": 100}'),
            lambda: InferenceConfig.model_validate({}),
            lambda: InferenceConfig.model_validate_json("{}"),
            lambda: ExecutionConfig.model_validate({"accelerator": "tpu"}),
            lambda: ExecutionConfig.model_validate_json('{"devices": 0}'),
        ],
        ids=[
            "constructor",
            "training-validate",
            "training-validate-json",
            "model-validate",
            "model-validate-json",
            "inference-validate",
            "inference-validate-json",
            "execution-validate",
            "execution-validate-json",
        ],
    )
    def test_pydantic_error_never_escapes(self, call: Callable[[], object]) -> None:
        """Constructor, model_validate and model_validate_json raise PtychoConfigError only."""
        with pytest.raises(PtychoConfigError) as info:
            call()
        assert not isinstance(info.value, pydantic.ValidationError)
        assert isinstance(info.value.__cause__, pydantic.ValidationError)

    def test_validate_names_field_and_value(self) -> None:
        """model_validate reports the qualified key and the bad value like the constructor."""
        err = rejected(lambda: TrainingConfig.model_validate({"model": {"N": 100}}))
        assert_names(err, "model.N", 100)

    @pytest.mark.parametrize("text", ["{bad", "[1]", ""])
    def test_malformed_json_is_a_library_error(self, text: str) -> None:
        """JSON that is not an object is a PtychoConfigError, not a pydantic error."""
        err = rejected(lambda: TrainingConfig.model_validate_json(text), PtychoConfigError)
        assert not isinstance(err, pydantic.ValidationError)

    def test_non_mapping_is_a_library_error(self) -> None:
        """model_validate of something that is not a mapping is a PtychoConfigError."""
        err = rejected(lambda: ModelConfig.model_validate([1, 2]), PtychoConfigError)
        assert not isinstance(err, pydantic.ValidationError)


CONFIGS: dict[str, SearchStrategy[Any]] = {
    "model": model_configs(),
    "training": training_configs(),
    "inference": inference_configs(),
    "execution": execution_configs(),
}


class TestRoundTrip:
    """Any valid config survives being dumped and built again."""

    @pytest.mark.parametrize("section", SCHEMAS)
    @given(data=st.data())
    def test_dump_and_construct(self, section: str, data: st.DataObject) -> None:
        """Dumping (python or JSON mode, or JSON text) and validating again gives it back."""
        config = data.draw(CONFIGS[section])
        schema = SCHEMAS[section]
        assert config == schema(**config.model_dump())
        assert config == schema.model_validate(config.model_dump(mode="json"))
        assert config == schema.model_validate_json(config.model_dump_json())

    def test_defaults_round_trip(self) -> None:
        """The default TrainingConfig dumps to its documented defaults and back."""
        dumped = TrainingConfig().model_dump()
        assert (
            dumped["model"]["N"],
            dumped["batch_size"],
            dumped["nepochs"],
            dumped["n_groups"],
        ) == (64, 16, 50, 512)
        assert TrainingConfig() == TrainingConfig(**dumped)


class TestValidatedCopies:
    """model_copy(update=...) and model_validate_strings validate like construction."""

    def test_copy_with_invalid_update_fails(self) -> None:
        """An update that breaks a rule is rejected, naming every bad field."""
        with pytest.raises(InvalidValueError) as caught:
            TrainingConfig().model_copy(update={"batch_size": 3, "nepochs": 0})
        keys = sorted(problem.key for problem in caught.value.problems)
        assert ["training.batch_size", "training.nepochs"] == keys

    def test_copy_validates_nested_models(self) -> None:
        """A nested update becomes a real ModelConfig."""
        copy = TrainingConfig(batch_size=8).model_copy(update={"model": {"N": 128}})
        assert isinstance(copy.model, ModelConfig)
        assert (128, 8) == (copy.model.N, copy.batch_size)

    def test_copy_keeps_explicit_fields(self) -> None:
        """The fields set on the original and by the update count as set on the copy."""
        copy = ExecutionConfig(seed=3).model_copy(update={"accelerator": "cpu"})
        assert {"accelerator", "seed"} == copy.model_fields_set

    def test_copy_checks_cross_field_rules(self) -> None:
        """An update that breaks a rule across fields is rejected too."""
        with pytest.raises(InvalidValueError, match="persistent_workers"):
            ExecutionConfig().model_copy(update={"persistent_workers": True})

    def test_validate_strings(self) -> None:
        """model_validate_strings raises the library's error, not pydantic's."""
        with pytest.raises(InvalidValueError, match=r"model\.N = '7'"):
            ModelConfig.model_validate_strings({"N": "7"})


class TestSharedBase:
    """The shared grouping base validates like the schemas built on it."""

    def test_grouping_base_reports_the_field(self) -> None:
        """A bad value on the shared base names its field, not an empty section."""
        from ptycho_config._schemas.sections import _Grouping

        with pytest.raises(InvalidValueError, match=r"neighbor_count = 0") as caught:
            _Grouping(neighbor_count=0)
        assert ["neighbor_count"] == [p.key for p in caught.value.problems]
