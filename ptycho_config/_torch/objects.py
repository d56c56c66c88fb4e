"""The PyTorch backend's configuration objects: every field its classes have, with the backend's
own defaults, which differ from the canonical ones on purpose (``K`` 6, ``nphotons`` 1e5,
``amp_activation`` 'silu'); a default that a schema also declares is read from it."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from ptycho_config._schemas.sections import (
    ExecutionConfig,
    ModelConfig,
    TorchBackendConfig,
    TrainingConfig,
)
from ptycho_config._schemas.types import ClipAlgorithm, LossMode, Optimizer, RuntimeScheduler

Mode = Literal["Unsupervised", "Supervised"]


def schema_default(schema: type[BaseModel], name: str) -> Any:
    """A schema's default for a field (immutable: lists are built per object)."""
    return schema.model_fields[name].get_default(call_default_factory=True)


_knob = functools.partial(schema_default, TorchBackendConfig)
_model = functools.partial(schema_default, ModelConfig)
_training = functools.partial(schema_default, TrainingConfig)
_execution = functools.partial(schema_default, ExecutionConfig)


@dataclass(frozen=True)
class TorchDataConfig:
    """What the PyTorch data pipeline reads: patch size, grouping, scaling and photon scale."""

    nphotons: float = 1e5
    scale_contract_version: str = _knob("scale_contract_version")
    measurement_domain: str = _knob("measurement_domain")
    N: int = _model("N")
    C: int = 4
    K: int = 6
    K_quadrant: int = _knob("K_quadrant")
    n_subsample: int = _knob("n_subsample")
    subsample_seed: int | None = None
    grid_size: tuple[int, int] = (2, 2)
    neighbor_function: str = _knob("neighbor_function")
    min_neighbor_distance: float = _knob("min_neighbor_distance")
    max_neighbor_distance: float = _knob("max_neighbor_distance")
    scan_pattern: str = _knob("scan_pattern")
    normalize: str = _knob("normalize")
    probe_scale: float = _model("probe_scale")
    probe_normalize: bool = _knob("probe_normalize")
    data_scaling: str = _knob("data_scaling")
    phase_subtraction: bool = _knob("phase_subtraction")
    x_bounds: tuple[float, float] = _knob("x_bounds")
    y_bounds: tuple[float, float] = _knob("y_bounds")


@dataclass(frozen=True)
class TorchModelConfig:
    """What the PyTorch network and forward model read."""

    mode: Mode = "Unsupervised"
    architecture: str = _model("architecture")
    fno_modes: int = _model("fno_modes")
    fno_width: int = _model("fno_width")
    fno_blocks: int = _model("fno_blocks")
    fno_cnn_blocks: int = _model("fno_cnn_blocks")
    learned_input_channels: int = _model("learned_input_channels")
    fno_input_transform: str = _model("fno_input_transform")
    max_hidden_channels: int | None = _model("max_hidden_channels")
    resnet_width: int | None = _model("resnet_width")
    spectral_bottleneck_blocks: int = _execution("spectral_bottleneck_blocks")
    spectral_bottleneck_modes: int = _execution("spectral_bottleneck_modes")
    spectral_bottleneck_share_weights: bool = _execution("spectral_bottleneck_share_weights")
    spectral_bottleneck_gate_init: float = _execution("spectral_bottleneck_gate_init")
    spectral_bottleneck_gate_mode: str = _execution("spectral_bottleneck_gate_mode")
    generator_output_mode: str = _model("generator_output_mode")
    cnn_output_mode: str = _knob("cnn_output_mode")
    use_shared_decoder: bool = _knob("use_shared_decoder")
    intensity_scale_trainable: bool = False
    intensity_scale: float = _knob("intensity_scale")
    max_position_jitter: int = _knob("max_position_jitter")
    num_datasets: int = _knob("num_datasets")
    C_model: int = 4
    n_filters_scale: int = _model("n_filters_scale")
    amp_activation: str = "silu"
    batch_norm: bool = _knob("batch_norm")
    probe_mask: bool = _model("probe_mask")
    # an array or tensor the caller supplies in code; no configuration source sets it
    probe_mask_tensor: Any = None
    probe_mask_sigma: float = _model("probe_mask_sigma")
    probe_mask_diameter: float | None = _model("probe_mask_diameter")
    edge_pad: int = _knob("edge_pad")
    decoder_last_c_outer_fraction: float = _knob("decoder_last_c_outer_fraction")
    decoder_last_amp_channels: int = _knob("decoder_last_amp_channels")
    use_legacy_decoder_channel_override: bool = _knob("use_legacy_decoder_channel_override")
    eca_encoder: bool = _knob("eca_encoder")
    cbam_encoder: bool = _knob("cbam_encoder")
    cbam_bottleneck: bool = _knob("cbam_bottleneck")
    cbam_decoder: bool = _knob("cbam_decoder")
    eca_decoder: bool = _knob("eca_decoder")
    spatial_decoder: bool = _knob("spatial_decoder")
    decoder_spatial_kernel: int = _knob("decoder_spatial_kernel")
    object_big: bool | None = _model("object_big")
    object_layout: str | None = _model("object_layout")
    training_canvas: str | None = _model("training_canvas")
    probe_big: bool = _model("probe_big")
    offset: int = _knob("offset")
    C_forward: int = 4
    training_patch_weighting: str | None = _model("training_patch_weighting")
    physics_forward_mode: str = _knob("physics_forward_mode")
    rect_s1s2_trainable: bool = _knob("rect_s1s2_trainable")
    rect_s1s2_init: str = _knob("rect_s1s2_init")
    amplitude_physics_gain: float = _knob("amplitude_physics_gain")
    pad_object: bool = _model("pad_object")
    gaussian_smoothing_sigma: float = _model("gaussian_smoothing_sigma")
    loss_function: str = _knob("loss_function")
    amp_loss: str | None = _knob("amp_loss")
    phase_loss: str | None = _knob("phase_loss")
    amp_loss_coeff: float = _knob("amp_loss_coeff")
    phase_loss_coeff: float = _knob("phase_loss_coeff")


@dataclass(frozen=True)
class TorchTrainingConfig:
    """What the PyTorch training loop reads: epochs, loss, optimiser, schedule, data."""

    training_directories: list[str] = field(default_factory=list)
    nll: bool = True
    device: str = "cuda"
    strategy: str | None = "ddp"
    n_devices: int | str = 1
    framework: str = _knob("framework")
    orchestrator: str = _knob("orchestrator")
    learning_rate: float = _execution("learning_rate")
    epochs: int = _training("nepochs")
    batch_size: int = _training("batch_size")
    epochs_fine_tune: int = _knob("epochs_fine_tune")
    fine_tune_gamma: float = _knob("fine_tune_gamma")
    scheduler: RuntimeScheduler = field(default=_training("scheduler"))
    lr_warmup_epochs: int = _training("lr_warmup_epochs")
    lr_min_ratio: float = _training("lr_min_ratio")
    plateau_factor: float = _training("plateau_factor")
    plateau_patience: int = _training("plateau_patience")
    plateau_min_lr: float = _training("plateau_min_lr")
    plateau_threshold: float = _training("plateau_threshold")
    num_workers: int = 4
    accum_steps: int = _execution("accum_steps")
    gradient_clip_val: float | None = None
    gradient_clip_algorithm: ClipAlgorithm = field(default=_training("gradient_clip_algorithm"))
    optimizer: Optimizer = field(default=_training("optimizer"))
    momentum: float = _training("momentum")
    weight_decay: float = _training("weight_decay")
    adam_beta1: float = _training("adam_beta1")
    adam_beta2: float = _training("adam_beta2")
    log_grad_norm: bool = _knob("log_grad_norm")
    grad_norm_log_freq: int = _knob("grad_norm_log_freq")
    stage_1_epochs: int = _knob("stage_1_epochs")
    stage_2_epochs: int = _knob("stage_2_epochs")
    stage_3_epochs: int = _knob("stage_3_epochs")
    physics_weight_schedule: str = _knob("physics_weight_schedule")
    stage_3_lr_factor: float = _knob("stage_3_lr_factor")
    torch_loss_mode: LossMode = field(default=_training("torch_loss_mode"))
    torch_mae_pred_l2_match_target: bool = _training("torch_mae_pred_l2_match_target")
    experiment_name: str = _knob("experiment_name")
    notes: str = _knob("notes")
    model_name: str = _knob("model_name")
    output_dir: str = "training_outputs"
    train_data_file: str | None = None
    test_data_file: str | None = None
    n_groups: int | None = None


@dataclass(frozen=True)
class TorchInferenceConfig:
    """What PyTorch reconstruction reads: batch size, stitching and patch statistics."""

    middle_trim: int = 32
    batch_size: int = 1000
    experiment_number: int = _knob("experiment_number")
    pad_eval: bool = True
    window: int = _knob("window")
    patch_weighting: str = _knob("patch_weighting")
    varpro_scaling: bool = _knob("varpro_scaling")
    log_patch_stats: bool = _knob("log_patch_stats")
    patch_stats_limit: int | None = _knob("patch_stats_limit")
