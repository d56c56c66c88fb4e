"""The ``torch`` section: knobs only the PyTorch backend reads, each declared once, nested in
the training and inference configs like ``model``; they never reach the legacy dict."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from ptycho_config._errors import show
from ptycho_config._schemas.base import Schema
from ptycho_config._schemas.types import (
    FINITE,
    PLAIN_NUMBER,
    Bounds,
    CrossFieldRule,
    NonNegativeFloat,
    NonNegativeInt,
    OptionalPositiveInt,
    OrNone,
    PathText,
    PositiveFloat,
    PositiveInt,
    UnitFloat,
    list_text,
)


def _two(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) != 2:
        raise ValueError(f"expected a pair like [0.1, 0.9], got {show(value)}")
    return value


def _ordered(pair: tuple[float, float]) -> tuple[float, float]:
    if not pair[0] < pair[1]:
        raise ValueError(f"must be (low, high) with low < high, got {show(pair)}")
    return pair


# validators before the type run last-declared first: text to a list, then its length. The
# fraction of a coordinate range that is used: a non-empty part of [0, 1].
RangeFraction = Annotated[
    tuple[UnitFloat, UnitFloat],
    AfterValidator(_ordered),
    BeforeValidator(_two),
    BeforeValidator(list_text),
]
Regulariser = OrNone[Literal["Total_Variation", "Mean_Deviation"]]
Gain = Annotated[float, PLAIN_NUMBER, FINITE, Bounds("positive and finite", gt=0)]

# The two scale contracts the reference supports: (scale_contract_version, measurement_domain).
SCALE_CONTRACTS = (
    ("ci_intensity_v2", "count_intensity"),
    ("legacy_v1", "normalized_amplitude"),
)


def _pair_given_together(c: Any) -> bool:
    given = {"scale_contract_version", "measurement_domain"} & c.model_fields_set
    return len(given) != 1


class TorchBackendConfig(Schema):
    """Knobs of the PyTorch backend that no canonical section holds."""

    section = "torch"

    # data pipeline
    scale_contract_version: Literal["ci_intensity_v2", "legacy_v1"] = Field(
        "ci_intensity_v2", description="Scale contract of the data (set with measurement_domain)."
    )
    measurement_domain: Literal["count_intensity", "normalized_amplitude"] = Field(
        "count_intensity", description="What the measurements are (set with the contract)."
    )
    K_quadrant: PositiveInt = Field(30, description="Neighbours searched per quadrant.")
    n_subsample: PositiveInt = Field(
        7, description="Coordinate subsampling factor of the PyTorch data pipeline."
    )
    neighbor_function: Literal["Nearest", "Min_dist", "4_quadrant"] = Field(
        "Nearest", description="How neighbours of a scan position are chosen."
    )
    min_neighbor_distance: NonNegativeFloat = Field(
        0.0, description="Smallest distance of a neighbour (Min_dist)."
    )
    max_neighbor_distance: NonNegativeFloat = Field(
        3.0, description="Largest distance of a neighbour (Min_dist)."
    )
    scan_pattern: Literal["Isotropic", "Rectangular"] = Field(
        "Isotropic", description="Layout of the scan positions."
    )
    normalize: Literal["Group", "Batch", "None"] = Field(
        "Batch", description="Normalisation of diffraction data: per group, per batch or none."
    )
    probe_normalize: bool = Field(True, description="Normalise the probe.")
    data_scaling: Literal["Parseval", "Max"] = Field(
        "Parseval", description="How diffraction data are scaled."
    )
    phase_subtraction: bool = Field(True, description="Subtract the mean phase.")
    x_bounds: RangeFraction = Field(
        (0.1, 0.9), description="Fraction of the x range used (low, high)."
    )
    y_bounds: RangeFraction = Field(
        (0.1, 0.9), description="Fraction of the y range used (low, high)."
    )

    # network
    cnn_output_mode: Literal["amp_phase", "real_imag"] = Field(
        "amp_phase", description="CNN output ('real_imag' needs model_type 'pinn')."
    )
    use_shared_decoder: bool = Field(False, description="One decoder for amplitude and phase.")
    intensity_scale: PositiveFloat = Field(10000.0, description="Initial intensity scale.")
    max_position_jitter: NonNegativeInt = Field(
        10, description="Largest position jitter in pixels (deprecated in the backend)."
    )
    num_datasets: PositiveInt = Field(1, description="Number of data sets trained together.")
    batch_norm: bool = Field(False, description="Use batch normalisation.")
    edge_pad: NonNegativeInt = Field(10, description="Padding at the object's edge in pixels.")
    decoder_last_c_outer_fraction: UnitFloat = Field(
        0.125, description="Fraction of the last decoder's channels used for the outer region."
    )
    decoder_last_amp_channels: PositiveInt = Field(
        1, description="Amplitude channels of the last decoder layer."
    )
    use_legacy_decoder_channel_override: bool = Field(
        False, description="Use the old decoder channel counts."
    )
    eca_encoder: bool = Field(False, description="ECA attention in the encoder.")
    cbam_encoder: bool = Field(True, description="CBAM attention in the encoder.")
    cbam_bottleneck: bool = Field(False, description="CBAM attention in the bottleneck.")
    cbam_decoder: bool = Field(False, description="CBAM attention in the decoder.")
    eca_decoder: bool = Field(False, description="ECA attention in the decoder.")
    spatial_decoder: bool = Field(False, description="Spatial attention in the decoder.")
    decoder_spatial_kernel: PositiveInt = Field(
        7, description="Kernel size of the decoder's spatial attention."
    )
    offset: NonNegativeInt = Field(6, description="Offset between patches of a group in pixels.")
    physics_forward_mode: Literal["amplitude", "rectangular_scaled"] = Field(
        "amplitude", description="Forward model of the physics layer."
    )
    rect_s1s2_trainable: bool = Field(
        True, description="Learn the rectangular_scaled scale factors."
    )
    rect_s1s2_init: Literal["ones", "data"] = Field(
        "ones", description="Initial rectangular_scaled factors ('data' needs that mode)."
    )
    amplitude_physics_gain: Gain = Field(
        1.0, description="Gain of the amplitude forward model (1.0 under rectangular_scaled)."
    )
    loss_function: Literal["MAE", "Poisson"] = Field(
        "Poisson", description="Loss named by the backend's model config."
    )
    amp_loss: Regulariser = Field(None, description="Regulariser of the amplitude (None: off).")
    phase_loss: Regulariser = Field(None, description="Regulariser of the phase (None: off).")
    amp_loss_coeff: NonNegativeFloat = Field(
        1.0, description="Weight of the amplitude regulariser."
    )
    phase_loss_coeff: NonNegativeFloat = Field(1.0, description="Weight of the phase regulariser.")

    # training loop
    training_directories: Annotated[list[PathText], BeforeValidator(list_text)] = Field(
        default_factory=list, description="Directories of training data."
    )
    framework: Literal["Default", "Lightning"] = Field(
        "Lightning", description="Training framework."
    )
    orchestrator: Literal["Mlflow", "Lightning"] = Field(
        "Mlflow", description="Experiment orchestrator."
    )
    epochs_fine_tune: NonNegativeInt = Field(0, description="Fine-tuning epochs after training.")
    fine_tune_gamma: PositiveFloat = Field(0.1, description="Learning-rate factor of fine-tuning.")
    log_grad_norm: bool = Field(False, description="Log the gradient norm.")
    grad_norm_log_freq: PositiveInt = Field(1, description="Log the gradient norm every n steps.")
    stage_1_epochs: NonNegativeInt = Field(0, description="Epochs of the first training stage.")
    stage_2_epochs: NonNegativeInt = Field(0, description="Epochs of the second training stage.")
    stage_3_epochs: NonNegativeInt = Field(0, description="Epochs of the third training stage.")
    physics_weight_schedule: Literal["linear", "cosine", "exponential"] = Field(
        "cosine", description="How the physics loss weight ramps up between stages."
    )
    stage_3_lr_factor: PositiveFloat = Field(
        0.1, description="Learning-rate factor of the third stage."
    )
    experiment_name: str = Field("Synthetic_Runs", description="Experiment name for tracking.")
    notes: str = Field("", description="Free-text notes for tracking.")
    model_name: str = Field("PtychoPINNv2", description="Model name for tracking.")

    # reconstruction
    experiment_number: NonNegativeInt = Field(0, description="Experiment number of the run.")
    window: NonNegativeInt = Field(20, description="Window of the reconstruction in pixels.")
    patch_weighting: Literal["uniform", "probe"] = Field(
        "probe", description="Weighting of patches when stitching."
    )
    varpro_scaling: bool = Field(True, description="Variable-projection scaling of patches.")
    log_patch_stats: bool = Field(False, description="Log statistics of reconstructed patches.")
    patch_stats_limit: OptionalPositiveInt = Field(
        None, description="Patches whose statistics are logged (None: all)."
    )

    cross_field_rules = (
        CrossFieldRule(
            ("min_neighbor_distance", "max_neighbor_distance"),
            lambda c: c.min_neighbor_distance <= c.max_neighbor_distance,
            "min_neighbor_distance must be <= max_neighbor_distance",
        ),
        CrossFieldRule(
            ("scale_contract_version", "measurement_domain"),
            _pair_given_together,
            "scale_contract_version and measurement_domain must be supplied together",
        ),
        CrossFieldRule(
            ("scale_contract_version", "measurement_domain"),
            lambda c: (
                not _pair_given_together(c)  # reported by the rule above
                or (c.scale_contract_version, c.measurement_domain) in SCALE_CONTRACTS
            ),
            "scale_contract_version and measurement_domain must select a supported profile "
            f"together: {' or '.join(map(str, SCALE_CONTRACTS))}",
        ),
        CrossFieldRule(
            ("amplitude_physics_gain", "physics_forward_mode"),
            lambda c: (
                c.physics_forward_mode != "rectangular_scaled" or c.amplitude_physics_gain == 1.0
            ),
            "amplitude_physics_gain must be 1.0 when physics_forward_mode='rectangular_scaled'",
        ),
        CrossFieldRule(
            ("rect_s1s2_init", "physics_forward_mode"),
            lambda c: c.rect_s1s2_init != "data" or c.physics_forward_mode == "rectangular_scaled",
            "rect_s1s2_init='data' is a CI-contract knob and needs "
            "physics_forward_mode='rectangular_scaled' (half-configured CI is fail-closed)",
        ),
    )
