"""The public object policy: reference-next.md §8 (canonical keys, resolver, records, bridge)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptycho.config.config import (
    ModelConfig,
    TrainingConfig,
    dataclass_to_legacy_dict,
    resolve_model_object_policy,
    validate_model_config,
)
from ptycho.object_compatibility import (
    CURRENT_OBJECT_COMPATIBILITY_VERSION,
    LegacyObjectFields,
    ObjectCompatibilitySpec,
    TrainingAssemblySpec,
    reconcile_object_compatibility,
    resolve_object_compatibility_spec,
    resolve_public_object_policy,
)
from ptycho_config import InvalidValueError, load_snapshot, resolve_training, to_legacy_dict
from ptycho_config.compat import config_params as cp
from ptycho_config.compat.object_compatibility import (
    resolve_model_object_compatibility,
    resolve_torch_model_object_policy,
)

DATA = Path(__file__).parent / "data"
GROUPED = (True, "grouped_patches", "relative_overlap")
SINGLE = (False, "single_patch", "independent")


def _resolve(**given: Any) -> Any:
    values = {
        "object_big": None, "object_layout": None, "training_canvas": None,
        "training_patch_weighting": None, "pad_object": True, "probe_big": True,
        "warn_deprecated": False, **given,
    }  # fmt: skip
    return resolve_public_object_policy(**values)


def _triple(policy: Any) -> tuple[Any, ...]:
    return (policy.object_big, policy.object_layout, policy.training_canvas)


class TestResolution:
    @pytest.mark.parametrize(
        ("given", "expected"),
        [({}, GROUPED), ({"object_big": False}, SINGLE), ({"object_big": True}, GROUPED),
         ({"object_layout": "single_patch", "training_canvas": "independent"}, SINGLE),
         ({"object_layout": "grouped_patches", "training_canvas": "relative_overlap"}, GROUPED),
         ({"object_big": False, "object_layout": "single_patch",
           "training_canvas": "independent"}, SINGLE)],
    )  # fmt: skip
    def test_table(self, given: dict[str, Any], expected: tuple[Any, ...]) -> None:
        assert expected == _triple(_resolve(**given))

    @pytest.mark.parametrize(
        ("given", "message"),
        [({"object_layout": "single_patch"},
          "object_layout and training_canvas must be supplied together"),
         ({"object_layout": "single_patch", "training_canvas": "relative_overlap"},
          "unsupported object_layout/training_canvas pair ('single_patch', 'relative_overlap')"),
         ({"object_big": True, "object_layout": "single_patch", "training_canvas": "independent"},
          "object_big=True conflicts with object_layout='single_patch'"),
         ({"backend": "pytorch"}, "unsupported object-policy backend 'pytorch'"),
         ({"object_layout": "x"}, "unsupported object_layout 'x'"),
         ({"training_canvas": "x"}, "unsupported training_canvas 'x'"),
         ({"training_patch_weighting": "x"},
          "training_patch_weighting must be 'central_mask', 'uniform', or 'probe', got 'x'"),
         ({"backend": "tensorflow", "training_patch_weighting": "probe"},
          "TensorFlow supports training_patch_weighting='central_mask' only; got 'probe'")],
    )  # fmt: skip
    def test_errors(self, given: dict[str, Any], message: str) -> None:
        with pytest.raises(ValueError) as caught:
            _resolve(**given)
        assert message == str(caught.value)

    @pytest.mark.parametrize(
        ("given", "message"),
        [({"object_big": 1}, "object_big must be bool or None"),
         ({"pad_object": 1}, "pad_object must be bool"),
         ({"probe_big": None}, "probe_big must be bool")],
    )  # fmt: skip
    def test_type_errors(self, given: dict[str, Any], message: str) -> None:
        with pytest.raises(TypeError, match=message):
            _resolve(**given)

    def test_deprecation_precedes_the_pair_check(self) -> None:
        with pytest.warns(DeprecationWarning, match="object_big is deprecated"):  # noqa: SIM117
            with pytest.raises(ValueError, match="conflicts"):
                _resolve(object_big=True, object_layout="single_patch",
                         training_canvas="independent", warn_deprecated=True)  # fmt: skip

    @pytest.mark.parametrize(
        ("big", "weighting", "mode"),
        [(False, "probe", "pass_through_v1"), (True, "central_mask", "central_mask_overlap_v1"),
         (True, "uniform", "weighted_overlap_v1"), (True, "probe", "weighted_overlap_v1")],
    )  # fmt: skip
    def test_assembly(self, big: bool, weighting: str, mode: str) -> None:
        policy = _resolve(object_big=big, training_patch_weighting=weighting)
        assert mode == policy.compatibility.training_assembly.mode
        assert weighting == policy.training_patch_weighting


class TestRecords:
    def test_payload_round_trip(self) -> None:
        spec = _resolve().compatibility
        assert CURRENT_OBJECT_COMPATIBILITY_VERSION == spec.schema_version
        assert "grouped_patch_components_v1" == spec.layout
        assert spec == ObjectCompatibilitySpec.from_payload(spec.to_payload())

    def test_payload_keys_exact(self) -> None:
        payload = {**_resolve().compatibility.to_payload(), "extra": 1}
        del payload["pad_object"]
        with pytest.raises(ValueError) as caught:
            ObjectCompatibilitySpec.from_payload(payload)
        assert (
            "object compatibility payload keys are not exact; missing=['pad_object'], "
            "unknown=['extra']"
        ) == str(caught.value)

    def test_spec_checks(self) -> None:
        assembly = TrainingAssemblySpec("pass_through_v1", "central_mask")
        with pytest.raises(ValueError, match="unsupported object compatibility schema 'v0'"):
            ObjectCompatibilitySpec("v0", "single_patch_components_v1",
                                    "independent_patch_v1", assembly, True, True)  # fmt: skip
        with pytest.raises(ValueError, match="requires relative_overlap_canvas_v1"):
            ObjectCompatibilitySpec(CURRENT_OBJECT_COMPATIBILITY_VERSION,
                                    "grouped_patch_components_v1", "independent_patch_v1",
                                    assembly, True, True)  # fmt: skip
        with pytest.raises(ValueError, match="conflicts with training assembly 'pass_through_v1'"):
            ObjectCompatibilitySpec(CURRENT_OBJECT_COMPATIBILITY_VERSION,
                                    "grouped_patch_components_v1", "relative_overlap_canvas_v1",
                                    assembly, True, True)  # fmt: skip

    def test_legacy_fields_and_reconcile(self) -> None:
        legacy = LegacyObjectFields(False, "uniform", True, False)
        spec = resolve_object_compatibility_spec(legacy)
        assert legacy == spec.to_legacy_fields()
        assert spec is reconcile_object_compatibility(spec, legacy)
        with pytest.raises(ValueError, match="conflicts with versioned object compatibility"):
            reconcile_object_compatibility(spec, LegacyObjectFields(True, "uniform", True, False))
        with pytest.raises(TypeError, match="pad_object must be bool"):
            LegacyObjectFields(False, "uniform", 1, False)  # type: ignore[arg-type]


class TestCanonicalKeys:
    def test_keys_from_every_source(self) -> None:
        """The new keys are registry keys: an environment variable sets them."""
        environ = {"PTYCHO_OBJECT_LAYOUT": "single_patch", "PTYCHO_TRAINING_CANVAS": "independent"}
        resolved = resolve_training({}, environ=environ)
        assert ("single_patch", "independent") == (
            resolved.value("model.object_layout"), resolved.value("model.training_canvas")
        )  # fmt: skip

    def test_the_librarys_error_names_both_keys(self) -> None:
        with pytest.raises(InvalidValueError) as caught:
            ModelConfig(object_layout="single_patch")
        keys = [problem.key for problem in caught.value.problems]
        assert ["model.object_layout & model.training_canvas"] == keys

    def test_legacy_dict_holds_the_resolved_policy(self) -> None:
        """§8.4: 64 training keys, object.big still written with the resolved bool."""
        legacy = to_legacy_dict(TrainingConfig(model=ModelConfig(object_big=False)))
        assert 64 == len(legacy)
        assert (False, "single_patch", "independent", "central_mask") == (
            legacy["object.big"], legacy["object_layout"], legacy["training_canvas"],
            legacy["training_patch_weighting"],
        )  # fmt: skip

    @given(st.sampled_from([None, True, False]))
    def test_resolved_model_agrees_with_the_legacy_dict(self, big: bool | None) -> None:
        model = ModelConfig(object_big=big)
        resolved = resolve_model_object_policy(model, warn_deprecated=False)
        expected = {True: GROUPED, False: SINGLE, None: GROUPED}[big]
        assert expected == (resolved.object_big, resolved.object_layout, resolved.training_canvas)
        assert to_legacy_dict(model)["object.big"] is resolved.object_big

    def test_validate_and_legacy_dict_warn_about_object_big(self) -> None:
        with pytest.warns(DeprecationWarning, match="object_big is deprecated"):
            validate_model_config(ModelConfig(object_big=True))
        with pytest.warns(DeprecationWarning, match="object_big is deprecated"):
            dataclass_to_legacy_dict(ModelConfig(object_big=True))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            validate_model_config(ModelConfig())

    def test_resolve_model_object_policy_checks(self) -> None:
        with pytest.raises(TypeError, match="config must be ModelConfig"):
            resolve_model_object_policy(object())  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="TensorFlow supports"):
            resolve_model_object_policy(
                ModelConfig(training_patch_weighting="uniform"), backend="tensorflow"
            )

    def test_snapshot_before_the_policy_loads(self, tmp_path: Path) -> None:
        """A model saved with torch.training_patch_weighting reads it as the model key."""
        folder = tmp_path / "model"
        shutil.copytree(DATA / "snapshot_before_object_policy", folder)
        snapshot = load_snapshot(folder)
        assert snapshot is not None
        assert "central_mask" == snapshot.training_config.model.training_patch_weighting


class TestTorchSide:
    def test_resolve_torch_model(self) -> None:
        model = cp.ModelConfig(object_big=False)
        resolved = resolve_torch_model_object_policy(model)
        assert SINGLE == (resolved.object_big, resolved.object_layout, resolved.training_canvas)
        assert model.object_layout is None  # a new object
        with pytest.raises(TypeError, match="model_config must be a Torch ModelConfig"):
            resolve_torch_model_object_policy(ModelConfig())

    def test_compatibility_of_either_model(self) -> None:
        for model in (cp.ModelConfig(), ModelConfig()):
            spec = resolve_model_object_compatibility(model)
            assert "grouped_patch_components_v1" == spec.layout
        with pytest.raises(TypeError, match="canonical or Torch ModelConfig"):
            resolve_model_object_compatibility(object())
