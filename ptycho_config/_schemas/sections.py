"""The schemas (model, torch, training, inference, execution): each field declared once, with its
type, default, bounds and description; and the metadata a snapshot or report records beside them."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from ptycho_config._errors import show
from ptycho_config._schemas.base import Schema
from ptycho_config._schemas.object_policy import (
    OBJECT_POLICY_RULES,
    ObjectLayout,
    PatchWeighting,
    TrainingCanvas,
)
from ptycho_config._schemas.types import (
    AT_MOST_MAX_COUNT,
    FINITE,
    PLAIN_NUMBER,
    Activation,
    Backend,
    Bounds,
    ClipAlgorithm,
    CrossFieldRule,
    Entries,
    FiniteFloat,
    FinitePositiveFloat,
    GridSize,
    HalfOpenUnitFloat,
    LossMode,
    ModelType,
    NonNegativeFloat,
    NonNegativeInt,
    OpenUnitFloat,
    Optimizer,
    OptionalPath,
    OptionalPositiveFloat,
    OptionalPositiveInt,
    OptionalSeed,
    OrNone,
    OutputDirectory,
    PathText,
    PathValue,
    PositiveFloat,
    PositiveInt,
    PowerOfTwo,
    ProbeSize,
    RuntimeScheduler,
    UnitFloat,
    list_text,
    none_string,
    reject_tpu,
)


def _copy_deprecated_n_images(data: Any) -> Any:
    if isinstance(data, dict) and none_string(data.get("n_images")) is not None:
        copied = none_string(data.get("n_groups")) is None
        what = "its value was copied into n_groups" if copied else "n_groups is given and wins"
        message = f"Parameter 'n_images' is deprecated and will be removed; use n_groups ({what})"
        warnings.warn(message, DeprecationWarning, 4)
        if copied:
            data = {**data, "n_groups": data["n_images"]}
    return data


def _ci_contract(c: Any) -> bool:
    return bool(
        c.torch.physics_forward_mode == "rectangular_scaled"
        and c.torch.scale_contract_version == "ci_intensity_v2"
    )


# The rules training and inference share: grouping, and the contract's coherence.
_SHARED_RULES: tuple[CrossFieldRule, ...] = (
    CrossFieldRule(
        ("enable_oversampling", "model.gridsize"),
        lambda c: not c.enable_oversampling or c.model.gridsize > 1,
        "enable_oversampling=True requires model.gridsize > 1",
    ),
    CrossFieldRule(
        ("enable_oversampling", "neighbor_pool_size", "model.gridsize"),
        lambda c: (
            not c.enable_oversampling
            or (c.neighbor_pool_size is not None and c.neighbor_pool_size >= c.model.gridsize**2)
        ),
        "enable_oversampling=True requires neighbor_pool_size >= gridsize**2",
    ),
    CrossFieldRule(
        ("neighbor_pool_size", "neighbor_count"),
        lambda c: c.neighbor_pool_size is None or c.neighbor_pool_size >= c.neighbor_count,
        "neighbor_pool_size must be >= neighbor_count when set",
    ),
    CrossFieldRule(  # nothing to check in amplitude mode
        ("model.model_type", "torch.physics_forward_mode", "torch.scale_contract_version"),
        lambda c: not _ci_contract(c) or c.model.model_type == "pinn",
        "ci_intensity_v2 requires model_type='pinn' (mode 'Unsupervised') under rectangular_scaled",
    ),
)


class ModelConfig(Schema):
    """The network: what a trained model is, and what a checkpoint must agree on."""

    section = "model"

    N: ProbeSize = Field(
        64, description="Probe and diffraction patch size in pixels (64, 128 or 256)."
    )
    gridsize: GridSize = Field(
        1, description="Patches per side of a solution region (gridsize² channels)."
    )
    n_filters_scale: PositiveInt = Field(
        2, description="Multiplier on the number of convolution filters."
    )
    model_type: ModelType = Field(
        "pinn", description="'pinn' (physics-informed, unsupervised) or 'supervised'."
    )
    architecture: Literal["cnn", "ffno", "fno", "fno_vanilla", "neuralop_uno"] = Field(
        "cnn", description="Generator network architecture."
    )
    fno_modes: PositiveInt = Field(12, description="Fourier modes kept per FNO layer.")
    fno_width: PositiveInt = Field(32, description="Channel width of the FNO layers.")
    fno_blocks: PositiveInt = Field(4, description="Number of FNO blocks.")
    fno_cnn_blocks: NonNegativeInt = Field(
        2, description="Convolution blocks of the hybrid FNO generator."
    )
    learned_input_channels: PositiveInt = Field(
        1, description="Input channels of the learned input transform."
    )
    max_hidden_channels: OptionalPositiveInt = Field(
        None, description="Cap on hidden channels of the generator (None: no cap)."
    )
    resnet_width: OptionalPositiveInt = Field(
        None, description="Width of the ResNet bottleneck (None: the default width)."
    )
    fno_input_transform: Literal["none", "sqrt", "log1p", "instancenorm"] = Field(
        "none", description="Transform applied to diffraction input of the FNO generators."
    )
    generator_output_mode: Literal["real_imag", "amp_phase_logits", "amp_phase"] = Field(
        "real_imag", description="What the generator outputs: real/imag or amplitude/phase."
    )
    amp_activation: Activation = Field(
        "sigmoid", description="Activation of the amplitude output ('silu' means 'swish')."
    )
    object_big: OrNone[bool] = Field(
        None,
        description="Deprecated spelling of the object policy: True is grouped patches on a "
        "relative-overlap canvas, False single patches (None: from the pair, else True).",
    )
    object_layout: OrNone[ObjectLayout] = Field(
        None, description="Object layout (set with training_canvas; None: from object_big)."
    )
    training_canvas: OrNone[TrainingCanvas] = Field(
        None, description="Training canvas (set with object_layout; None: from object_big)."
    )
    training_patch_weighting: OrNone[PatchWeighting] = Field(
        None,
        description="Weighting of patch pixels in the training loss (None: 'central_mask').",
    )
    probe_big: bool = Field(
        True, description="Let the probe fill the whole patch rather than its centre."
    )
    probe_mask: bool = Field(False, description="Apply a circular mask to the probe.")
    probe_mask_sigma: PositiveFloat = Field(
        1.0, description="Sigma of the soft edge of the probe mask."
    )
    probe_mask_diameter: OptionalPositiveFloat = Field(
        None, description="Diameter of the probe mask in pixels (None: the default)."
    )
    pad_object: bool = Field(True, description="Pad the object so edge patches are fully covered.")
    probe_scale: PositiveFloat = Field(4.0, description="Scale applied to the probe amplitude.")
    gaussian_smoothing_sigma: NonNegativeFloat = Field(
        0.0, description="Sigma of Gaussian smoothing on the output (0 disables it)."
    )

    cross_field_rules = OBJECT_POLICY_RULES


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
    training_directories: Annotated[Entries[PathText], BeforeValidator(list_text)] = Field(
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


class _Grouping(Schema):
    """The fields training and inference share: how scan positions are grouped, the network and
    the PyTorch backend's knobs."""

    # never dumped: a config written out must not carry the deprecated spelling back in
    n_images: OptionalPositiveInt = Field(
        None, description="Deprecated alias of n_groups.", exclude=True
    )
    n_subsample: OptionalPositiveInt = Field(
        None, description="Subsample this many scan positions before grouping."
    )
    subsample_seed: OptionalSeed = Field(None, description="Random seed of the subsampling.")
    neighbor_count: PositiveInt = Field(
        4, description="Nearest neighbours considered when grouping (K)."
    )
    enable_oversampling: bool = Field(
        False, description="Form more groups than positions by sampling neighbour combinations."
    )
    neighbor_pool_size: OptionalPositiveInt = Field(
        None, description="Neighbour pool size for oversampling (>= neighbor_count)."
    )
    model: ModelConfig = Field(default_factory=ModelConfig, description="The network.")
    torch: TorchBackendConfig = Field(
        default_factory=TorchBackendConfig, description="Knobs only the PyTorch backend reads."
    )

    _n_images = model_validator(mode="before")(_copy_deprecated_n_images)


class TrainingConfig(_Grouping):
    """What to train on and how: data, losses, sampling, optimisation."""

    section = "training"

    train_data_file: OptionalPath = Field(
        None, description="NPZ file with the training diffraction data."
    )
    test_data_file: OptionalPath = Field(None, description="NPZ file with held-out test data.")
    batch_size: PowerOfTwo = Field(16, description="Training batch size (a positive power of two).")
    nepochs: PositiveInt = Field(50, description="Number of training epochs.")
    mae_weight: UnitFloat = Field(
        0.0, description="Weight of the MAE loss on diffraction amplitudes."
    )
    nll_weight: UnitFloat = Field(
        1.0, description="Weight of the Poisson negative log-likelihood loss."
    )
    realspace_mae_weight: NonNegativeFloat = Field(
        0.0, description="Weight of the real-space MAE loss (needs realspace_weight > 0)."
    )
    realspace_weight: NonNegativeFloat = Field(
        0.0, description="Overall weight of the real-space losses."
    )
    nphotons: PositiveFloat = Field(1e9, description="Mean photon count per diffraction pattern.")
    n_groups: PositiveInt = Field(512, description="Number of scan-position groups to train on.")
    positions_provided: bool = Field(True, description="Scan positions are given with the data.")
    probe_trainable: bool = Field(False, description="Refine the probe during training.")
    intensity_scale_trainable: bool = Field(
        True, description="Learn the intensity scale during training."
    )
    output_dir: OutputDirectory = Field(
        Path("training_outputs"), description="Directory for training outputs."
    )
    sequential_sampling: bool = Field(
        False, description="Group scan positions in order instead of at random."
    )
    backend: Backend = Field("tensorflow", description="Training backend.")
    torch_loss_mode: LossMode = Field("poisson", description="Loss of the PyTorch backend.")
    torch_mae_pred_l2_match_target: bool = Field(
        False, description="MAE loss: match the prediction's L2 norm to the target's first."
    )
    gradient_clip_val: OptionalPositiveFloat = Field(
        None, description="Gradient clipping threshold (one value with execution's; see docs)."
    )
    gradient_clip_algorithm: ClipAlgorithm = Field(
        "norm", description="Clip by norm, by value, or adaptively ('agc')."
    )
    optimizer: Optimizer = Field("adam", description="Optimisation algorithm.")
    momentum: HalfOpenUnitFloat = Field(0.9, description="SGD momentum, in [0, 1).")
    weight_decay: NonNegativeFloat = Field(0.0, description="Weight decay (L2 penalty).")
    adam_beta1: HalfOpenUnitFloat = Field(
        0.9, description="Adam/AdamW first-moment decay, in [0, 1)."
    )
    adam_beta2: HalfOpenUnitFloat = Field(
        0.999, description="Adam/AdamW second-moment decay, in [0, 1)."
    )
    scheduler: RuntimeScheduler = Field("Default", description="Learning-rate schedule.")
    lr_warmup_epochs: NonNegativeInt = Field(
        0, description="Warm-up epochs of WarmupCosine (< nepochs)."
    )
    lr_min_ratio: UnitFloat = Field(
        0.1, description="Final learning rate of WarmupCosine as a fraction of the initial one."
    )
    plateau_factor: OpenUnitFloat = Field(
        0.5, description="ReduceLROnPlateau: factor applied to the rate on a plateau."
    )
    plateau_patience: NonNegativeInt = Field(
        2, description="ReduceLROnPlateau: epochs without improvement before reducing."
    )
    plateau_min_lr: NonNegativeFloat = Field(
        5e-5, description="ReduceLROnPlateau: lower bound of the learning rate."
    )
    plateau_threshold: NonNegativeFloat = Field(
        0.0, description="ReduceLROnPlateau: smallest change that counts as improvement."
    )

    cross_field_rules = (
        CrossFieldRule(
            ("nll_weight", "mae_weight", "realspace_mae_weight", "realspace_weight", "backend"),
            # the TensorFlow loss is these weighted terms (PyTorch's comes from torch_loss_mode)
            lambda c: (
                c.backend == "pytorch"
                or c.nll_weight > 0
                or c.mae_weight > 0
                or c.realspace_mae_weight * c.realspace_weight > 0
            ),
            "at least one loss weight must be > 0 (nll_weight, mae_weight, or "
            "realspace_mae_weight with realspace_weight), or nothing is trained",
        ),
        CrossFieldRule(
            ("realspace_mae_weight", "realspace_weight"),
            lambda c: c.realspace_mae_weight == 0 or c.realspace_weight > 0,
            "realspace_mae_weight > 0 requires realspace_weight > 0",
        ),
        CrossFieldRule(
            ("lr_warmup_epochs", "nepochs"),
            lambda c: c.lr_warmup_epochs < c.nepochs,
            "lr_warmup_epochs must be < nepochs",
        ),
        *_SHARED_RULES,
        CrossFieldRule(
            ("torch_loss_mode", "torch.physics_forward_mode", "torch.scale_contract_version"),
            lambda c: not _ci_contract(c) or c.torch_loss_mode == "poisson",
            "ci_intensity_v2 requires torch_loss_mode='poisson' under rectangular_scaled "
            "(torch.loss_function does not override it)",
        ),
    )


class InferenceConfig(_Grouping):
    """What to reconstruct, with which trained model."""

    section = "inference"

    model_path: PathValue = Field(description="Directory of the trained model (holds wts.h5.zip).")
    test_data_file: PathValue = Field(description="NPZ file with the data to reconstruct.")
    n_groups: OptionalPositiveInt = Field(
        None, description="Number of groups to reconstruct (None: all)."
    )
    debug: bool = Field(False, description="Write debugging output.")
    output_dir: OutputDirectory = Field(
        Path("inference_outputs"), description="Directory for reconstructions."
    )
    backend: Backend = Field("tensorflow", description="Inference backend.")

    cross_field_rules = _SHARED_RULES


class ExecutionConfig(Schema):
    """Runtime knobs of the PyTorch backend; never written to the legacy dict."""

    section = "execution"

    accelerator: Annotated[
        Literal["auto", "cpu", "gpu", "cuda", "mps"], BeforeValidator(reject_tpu)
    ] = Field(
        "auto", description="Device kind; 'auto' is resolved per host when a payload is built."
    )
    devices: PositiveInt | Literal["auto"] = Field(1, description="Number of devices, or 'auto'.")
    strategy: Literal[
        "auto",
        "ddp",
        "ddp_spawn",
        "ddp_notebook",
        "ddp_find_unused_parameters_true",
        "fsdp",
        "deepspeed",
        "single_device",
    ] = Field("auto", description="Distributed strategy.")
    deterministic: bool | Literal["warn"] = Field(
        True, description="Use deterministic algorithms (or 'warn')."
    )
    precision: Literal["32-true", "16-mixed", "bf16-mixed"] = Field(
        "32-true", description="Numeric precision."
    )
    seed: OptionalSeed = Field(None, description="Random seed of the run (None: unseeded).")
    gradient_clip_val: OptionalPositiveFloat = Field(
        None, description="Gradient clipping threshold (> 0; None disables clipping)."
    )
    gradient_clip_algorithm: ClipAlgorithm = Field(
        "norm", description="Clip by norm, by value, or adaptively ('agc')."
    )
    accum_steps: PositiveInt = Field(1, description="Batches to accumulate per optimiser step.")
    num_workers: NonNegativeInt = Field(0, description="DataLoader worker processes.")
    pin_memory: bool = Field(False, description="Pin host memory for faster transfer to the GPU.")
    persistent_workers: bool = Field(
        False, description="Keep DataLoader workers alive between epochs (needs num_workers > 0)."
    )
    prefetch_factor: OptionalPositiveInt = Field(
        None, description="Batches each worker loads ahead (needs num_workers > 0)."
    )
    learning_rate: PositiveFloat = Field(1e-3, description="Initial learning rate.")
    scheduler: RuntimeScheduler = Field(
        "Default", description="Learning-rate schedule of the PyTorch runtime."
    )
    enable_progress_bar: bool = Field(False, description="Show a progress bar.")
    enable_checkpointing: bool = Field(True, description="Save checkpoints during training.")
    checkpoint_save_top_k: Annotated[
        int, PLAIN_NUMBER, Bounds("-1 or more", ge=-1), AT_MOST_MAX_COUNT
    ] = Field(1, description="Best checkpoints kept (-1 all, 0 none).")
    checkpoint_monitor_metric: Annotated[str, Field(min_length=1)] = Field(
        "val_loss", description="Metric that ranks checkpoints."
    )
    checkpoint_mode: Literal["min", "max"] = Field(
        "min", description="Whether a lower or higher metric is better."
    )
    early_stop_patience: PositiveInt = Field(
        100, description="Epochs without improvement before stopping."
    )
    logger_backend: OrNone[Literal["csv", "tensorboard", "mlflow"]] = Field(
        "csv", description="Experiment logger ('none' disables logging)."
    )
    recon_log_every_n_epochs: OptionalPositiveInt = Field(
        None, description="Log reconstructions every this many epochs (None: never)."
    )
    recon_log_num_patches: PositiveInt = Field(
        4, description="Patches shown in each reconstruction log."
    )
    recon_log_fixed_indices: Annotated[
        Entries[NonNegativeInt] | None, BeforeValidator(list_text), BeforeValidator(none_string)
    ] = Field(None, description="Fixed sample indices to log (None: chosen per log).")
    recon_log_stitch: bool = Field(False, description="Also log stitched reconstructions.")
    recon_log_max_stitch_samples: OptionalPositiveInt = Field(
        None, description="Samples stitched for a logged reconstruction (None: all)."
    )
    ffno_encoder_blocks: PositiveInt = Field(24, description="Blocks of the FFNO encoder.")
    ffno_encoder_modes: PositiveInt = Field(12, description="Fourier modes of the FFNO encoder.")
    ffno_encoder_share_weights: bool = Field(
        True, description="Share weights between FFNO encoder blocks."
    )
    ffno_encoder_gate_init: FinitePositiveFloat = Field(
        0.1, description="Initial gate of the FFNO encoder blocks."
    )
    ffno_encoder_norm: Annotated[str, Field(min_length=1)] = Field(
        "instance", description="Normalisation of the FFNO encoder."
    )
    ffno_encoder_mlp_ratio: FinitePositiveFloat = Field(
        2.0, description="MLP expansion ratio of the FFNO encoder."
    )
    spectral_bottleneck_blocks: PositiveInt = Field(
        6, description="Blocks of the spectral bottleneck."
    )
    spectral_bottleneck_modes: PositiveInt = Field(
        12, description="Fourier modes of the spectral bottleneck."
    )
    spectral_bottleneck_share_weights: bool = Field(
        True, description="Share weights between spectral bottleneck blocks."
    )
    spectral_bottleneck_gate_init: FiniteFloat = Field(
        0.1, description="Initial gate of the spectral bottleneck blocks."
    )
    spectral_bottleneck_gate_mode: Literal["shared", "per_block"] = Field(
        "shared", description="One gate for all spectral bottleneck blocks, or one per block."
    )
    inference_batch_size: OptionalPositiveInt = Field(
        None, description="Inference batch size (None: the training batch size)."
    )
    middle_trim: NonNegativeInt = Field(
        0, description="Pixels trimmed from each patch edge when stitching."
    )
    pad_eval: bool = Field(False, description="Pad patches during evaluation.")

    cross_field_rules = (
        CrossFieldRule(
            ("persistent_workers", "num_workers"),
            lambda c: not c.persistent_workers or c.num_workers > 0,
            "persistent_workers=True requires num_workers > 0",
        ),
        CrossFieldRule(
            ("prefetch_factor", "num_workers"),
            lambda c: c.prefetch_factor is None or c.num_workers > 0,
            "prefetch_factor requires num_workers > 0",
        ),
    )


PyTorchExecutionConfig = ExecutionConfig

SECTIONS: dict[str, type[Schema]] = {
    s.section: s
    for s in (ModelConfig, TrainingConfig, InferenceConfig, ExecutionConfig, TorchBackendConfig)
}
# Sections nested in the training and inference configs rather than beside them.
NESTED_SECTIONS = ("model", "torch")

METADATA_KEY = "metadata"
# The layout this library writes; version 1 snapshots kept the sections under training_config
# and execution_config, the rest at the top level.
SCHEMA_VERSION = 2


def _readable(version: int) -> int:
    if not 1 <= version <= SCHEMA_VERSION:
        fix = "upgrade ptycho-config" if version > SCHEMA_VERSION else "schema versions start at 1"
        raise ValueError(f"this ptycho-config reads versions 1 to {SCHEMA_VERSION} ({fix})")
    return version


class Metadata(BaseModel, extra="forbid", strict=True, frozen=True):
    """What a checkpoint snapshot or a `--format json/yaml` report records beside its sections:
    no configuration, so rerunning from such a file takes its sections only."""

    schema_version: Annotated[
        int,
        AfterValidator(_readable),
        Field(json_schema_extra={"minimum": 1, "maximum": SCHEMA_VERSION}),
    ]
    kind: Literal["training", "inference"]
    fingerprint: str
    provenance: dict[str, dict[str, str]]  # qualified key → its source's kind and detail
    overrides_applied: dict[str, Any]
