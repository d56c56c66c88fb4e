"""The drop-in factory module: reference-next.md §2, §3, §11, §12.1 and §9.9's wrappers."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ptycho_config import ExecutionConfig
from ptycho_config._schemas.profiles import get_profile
from ptycho_config.compat import config_factory as cf

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "data" / "compat" / "downstream_script.py"


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.npz"
    np.savez(path, probeGuess=np.ones((64, 64), np.complex64))
    return path


def _execution(**values: Any) -> Any:
    return cf.PyTorchExecutionConfig(accelerator="cpu", **values)


class TestCiProfile:
    def test_constants_are_the_library_profile(self) -> None:
        """5 contract fields, 9 bundle entries, the library's 'ci' values under flat names."""
        profile = get_profile("ci")
        assert 5 == len(cf.CI_PROFILE_CONTRACT_FIELDS)
        assert 9 == len(cf.CI_PROFILE_BUNDLE)
        assert sorted(profile.values.values(), key=repr) == sorted(
            cf.CI_PROFILE_BUNDLE.values(), key=repr
        )
        assert [
            "scale_contract_version", "measurement_domain", "physics_forward_mode",
            "torch_loss_mode", "loss_function",
        ] == list(cf.CI_PROFILE_CONTRACT_FIELDS)  # fmt: skip

    def test_user_keys_win_for_defaults_and_extras(self) -> None:
        result = cf.resolve_ci_profile({"rect_s1s2_init": "ones", "n_groups": 8})
        assert ("ones", 8, "Poisson") == (
            result["rect_s1s2_init"], result["n_groups"], result["loss_function"]
        )  # fmt: skip
        assert list(cf.CI_PROFILE_BUNDLE) == list(result)[:9]

    def test_is_pure(self) -> None:
        given = {"n_groups": 8}
        cf.resolve_ci_profile(given)
        assert {"n_groups": 8} == given
        assert cf.CI_PROFILE_BUNDLE == cf.resolve_ci_profile()

    def test_first_contradiction_fails_closed_exactly(self) -> None:
        given = {"loss_function": "MAE", "measurement_domain": "x"}
        with pytest.raises(ValueError) as caught:
            cf.resolve_ci_profile(given)
        assert (
            "the CI profile requires measurement_domain='count_intensity'; you passed 'x'. "
            "The named CI profile is fail-closed: remove the contradicting override, or drop "
            "profile='ci' to assemble a custom configuration explicitly."
        ) == str(caught.value)

    def test_comparison_is_exact(self) -> None:
        with pytest.raises(ValueError, match="requires loss_function='Poisson'"):
            cf.resolve_ci_profile({"loss_function": "poisson"})

    @pytest.mark.parametrize("profile", ["", "CI", "gpu"])
    def test_factory_rejects_other_profiles(self, profile: str, train_file: Path) -> None:
        with pytest.raises(ValueError) as caught:
            cf.create_training_payload(
                train_file, train_file.parent, {"n_groups": 8}, None, profile
            )
        expected = f"Unknown configuration profile {profile!r}; supported profiles: 'ci'."
        assert expected == str(caught.value)

    def test_factory_applies_the_ci_bundle(self, train_file: Path) -> None:
        execution = _execution()
        payload = cf.create_training_payload(
            train_file, train_file.parent / "o", {"n_groups": 8}, execution, "ci"
        )
        assert "rectangular_scaled" == payload.pt_model_config.physics_forward_mode

    def test_inference_factory_has_no_profile(self) -> None:
        assert "profile" not in inspect.signature(cf.create_inference_payload).parameters


class TestExecutionConfig:
    def test_fields_and_defaults_are_the_library_schema(self) -> None:
        ours = {
            n: i.get_default(call_default_factory=True)
            for n, i in ExecutionConfig.model_fields.items()
        }
        ours.pop("seed")
        config = _execution()
        assert {**ours, "accelerator": "cpu"} == dataclasses.asdict(config)

    def test_auto_resolves_at_construction(self) -> None:
        import torch

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            config = cf.PyTorchExecutionConfig()
        expected = "cuda" if torch.cuda.is_available() else "cpu"
        assert expected == config.accelerator
        if expected == "cpu":
            assert [__file__] == [w.filename for w in caught]
            assert "No CUDA device detected" in str(caught[0].message)

    def test_without_torch(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "torch", None)
        with pytest.warns(UserWarning, match="PyTorch not available") as caught:
            config = cf.PyTorchExecutionConfig()
        assert "cpu" == config.accelerator
        assert __file__ == caught[0].filename

    @pytest.mark.parametrize("accelerator", ["cpu", "gpu", "cuda", "mps"])
    def test_explicit_accelerator_is_kept(self, accelerator: str) -> None:
        assert accelerator == cf.PyTorchExecutionConfig(accelerator=accelerator).accelerator

    def test_mutable_and_later_auto_is_not_resolved(self) -> None:
        config = _execution()
        config.accelerator = "auto"
        assert "auto" == config.accelerator

    def test_first_problem_is_a_plain_value_error(self) -> None:
        with pytest.raises(ValueError, match="devices") as caught:
            _execution(devices=0, num_workers=-1)
        assert ValueError is type(caught.value)

    def test_devices_checked_before_auto_resolution(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match="devices"):
                cf.PyTorchExecutionConfig(devices=0)

    def test_tpu_rejected(self) -> None:
        with pytest.raises(ValueError, match="TPU"):
            cf.PyTorchExecutionConfig(accelerator="tpu")

    def test_explicit_structural_aliases(self) -> None:
        """§11: which spectral aliases were passed; replace marks all five."""
        config = _execution(spectral_bottleneck_blocks=3)
        assert frozenset({"spectral_bottleneck_blocks"}) == config._explicit_structural_aliases
        assert frozenset() == _execution()._explicit_structural_aliases
        assert 5 == len(dataclasses.replace(config)._explicit_structural_aliases)
        assert _execution(spectral_bottleneck_blocks=6) == _execution()
        assert (
            "spectral_bottleneck_blocks" in inspect.signature(cf.PyTorchExecutionConfig).parameters
        )


class TestTrainingFactory:
    def test_accepted_names(self) -> None:
        """§12.1: the union of the PT field names (132) and four aliases."""
        assert 136 == len(cf.ACCEPTED_TRAINING_KEYS)

    def test_unknown_override_names(self, train_file: Path) -> None:
        given = {"n_groups": 8, "zeta": 1, "alpha": 2, "mae_weight": 0.1}
        with pytest.raises(ValueError) as caught:
            cf.create_training_payload(train_file, train_file.parent, given, _execution())
        assert "unknown training override field(s): alpha, mae_weight, zeta" == str(caught.value)

    def test_reference_names_reach_the_configs(self, train_file: Path) -> None:
        given = {"n_groups": 8, "epochs": 3, "mode": "Supervised", "K": 5, "grid_size": (2, 2)}
        payload = cf.create_training_payload(
            train_file, train_file.parent / "o", given, _execution()
        )
        config = payload.tf_training_config
        assert (3, "supervised", 5, 2) == (
            config.nepochs, config.model.model_type, config.neighbor_count, config.model.gridsize
        )  # fmt: skip

    def test_aliases(self, train_file: Path) -> None:
        given = {"n_groups": 8, "max_epochs": 4, "neighbor_count": 3, "model_type": "Supervised"}
        payload = cf.create_training_payload(
            train_file, train_file.parent / "o", given, _execution()
        )
        config = payload.tf_training_config
        assert (4, 3, "supervised") == (
            config.nepochs, config.neighbor_count, config.model.model_type
        )  # fmt: skip

    def test_loss_function_follows_the_loss_mode(self, train_file: Path) -> None:
        given = {"n_groups": 8, "torch_loss_mode": "mae", "loss_function": "Poisson"}
        payload = cf.create_training_payload(
            train_file, train_file.parent / "o", given, _execution()
        )
        assert "MAE" == payload.pt_model_config.loss_function

    def test_structural_alias_merge(self, train_file: Path) -> None:
        execution = _execution(spectral_bottleneck_blocks=3)
        with pytest.warns(
            DeprecationWarning, match="deprecated aliases.*spectral_bottleneck_blocks"
        ):
            payload = cf.create_training_payload(
                train_file, train_file.parent / "o", {"n_groups": 8}, execution
            )
        assert 3 == payload.pt_model_config.spectral_bottleneck_blocks

    def test_structural_alias_conflict(self, train_file: Path) -> None:
        execution = _execution(spectral_bottleneck_blocks=3)
        given = {"n_groups": 8, "spectral_bottleneck_blocks": 4}
        with pytest.raises(ValueError) as caught:
            cf.create_training_payload(train_file, train_file.parent, given, execution)
        assert (
            "structural field 'spectral_bottleneck_blocks' conflicts between ModelConfig input "
            "(4) and deprecated PyTorchExecutionConfig alias (3)"
        ) == str(caught.value)


class TestDownstreamScript:
    def test_runs_unchanged_but_for_the_imports(self, tmp_path: Path) -> None:
        """The script of docs/migration.md runs, with torch free to be present or absent."""
        result = subprocess.run(
            [sys.executable, str(SCRIPT), str(tmp_path)],
            capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
        )  # fmt: skip
        assert 0 == result.returncode, result.stderr
        assert [
            "bridge 3 2 swish", "ci Poisson 8", "accelerator True", "payload 2 2",
        ] == result.stdout.split("\n")[:4]  # fmt: skip

    def test_only_imports_differ_from_the_docs_script(self) -> None:
        page = (ROOT / "docs" / "migration.md").read_text(encoding="utf-8")
        assert SCRIPT.read_text(encoding="utf-8").split('"""', 2)[2].strip() in page


def test_compat_imports_no_torch() -> None:
    """Importing every compat module leaves torch unimported; only 'auto' resolution needs it."""
    code = (
        "import sys; import ptycho_config.compat.config_factory, "
        "ptycho_config.compat.config_bridge, ptycho_config.compat.object_compatibility; "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "False" == result.stdout.strip()


@pytest.mark.parametrize(
    ("field", "value"),
    [("devices", 0), ("precision", "64"), ("accum_steps", 0), ("num_workers", -1),
     ("learning_rate", 0.0), ("checkpoint_mode", "mid"), ("early_stop_patience", 0),
     ("ffno_encoder_gate_init", 0.0), ("spectral_bottleneck_gate_mode", "x"),
     ("inference_batch_size", 0), ("strategy", "nope")],
)  # fmt: skip
def test_execution_rules_are_the_registrys(field: str, value: object) -> None:
    """A value the library's ExecutionConfig rejects, the compat class rejects too."""
    with pytest.raises(ValueError):
        ExecutionConfig(**{field: value})
    with pytest.raises(ValueError, match=field):
        _execution(**{field: value})
