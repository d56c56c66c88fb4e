"""A downstream script written against PtychoPINN's configuration modules.

Only the three import lines differ from the original: ``ptycho_torch.config_X`` became
``ptycho_config.compat.config_X``. Run: python downstream_script.py WORK_DIR
"""

import sys
import warnings
from pathlib import Path

import numpy as np

from ptycho_config.compat.config_bridge import to_model_config, to_training_config
from ptycho_config.compat.config_factory import (
    PyTorchExecutionConfig,
    create_training_payload,
    resolve_ci_profile,
)
from ptycho_config.compat.config_params import DataConfig, ModelConfig, TrainingConfig

work = Path(sys.argv[1])
train = work / "train.npz"
np.savez(train, probeGuess=np.ones((64, 64), np.complex64))

# backend configs built with no arguments, then changed by setting attributes
data = DataConfig()
data.nphotons = 1e9
data.grid_size = (2, 2)
model = ModelConfig()
model.mode = "Unsupervised"
model.amp_activation = "silu"
training = TrainingConfig()
training.epochs = 3

tf_model = to_model_config(data, model)
overrides = dict(n_groups=64, train_data_file=train, test_data_file=train, output_dir=work)  # noqa: C408
tf_training = to_training_config(tf_model, data, model, training, overrides)
print("bridge", tf_training.nepochs, tf_training.model.gridsize, tf_training.model.amp_activation)

bundle = resolve_ci_profile({"n_groups": 8})
print("ci", bundle["loss_function"], bundle["n_groups"])

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the CPU fallback warning on a host without CUDA
    execution = PyTorchExecutionConfig()
print("accelerator", execution.accelerator in ("cpu", "cuda"))
execution.num_workers = 0  # mutable, as in the reference

payload = create_training_payload(train, work / "out", {"n_groups": 8, "epochs": 2}, execution)
print("payload", payload.tf_training_config.nepochs, payload.pt_training_config.epochs)
