"""Profiles (the reference's CI bundle) and the reference's cross-field rules (SPEC §11.4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ptycho_config import (
    ConflictError,
    InvalidValueError,
    PtychoConfigError,
    TrainingConfig,
    UnknownKeyError,
    create_inference_payload,
    create_training_payload,
    resolve_inference,
    resolve_training,
    save_snapshot,
)
from ptycho_config._errors import ArgumentTypeError
from ptycho_config._schemas import profiles as _profiles
from ptycho_config._schemas.profiles import get_profile, register_profile
from tests._example import write_example
from tests.conftest import make_model_dir


@pytest.fixture(autouse=True)
def _known_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Profiles a test registers are forgotten after it."""
    monkeypatch.setattr(_profiles, "_PROFILES", dict(_profiles._PROFILES))


CONTRACT = {
    "torch.scale_contract_version": "ci_intensity_v2",
    "torch.measurement_domain": "count_intensity",
    "torch.physics_forward_mode": "rectangular_scaled",
    "training.torch_loss_mode": "poisson",
    "torch.loss_function": "Poisson",
}
CI_DEFAULTS = {
    "torch.amplitude_physics_gain": 1.0,
    "torch.rect_s1s2_trainable": True,
    "torch.rect_s1s2_init": "data",
    "torch.cnn_output_mode": "real_imag",
}


class TestCiProfile:
    """profile='ci' applies the reference's bundle between the file and the checkpoint."""

    def test_bundle_applied_with_profile_provenance(self) -> None:
        """Every key of the bundle gets its value, recorded with provenance kind 'profile'."""
        resolved = resolve_training(profile="ci", environ={})
        for key, value in {**CONTRACT, **CI_DEFAULTS}.items():
            assert value == resolved.value(key)
            assert ("profile", "ci") == (
                resolved.provenance[key].kind,
                resolved.provenance[key].detail,
            )

    def test_profile_is_recorded_in_the_audit_trail(self) -> None:
        """overrides_applied names the profile, as the reference's does."""
        assert "ci" == resolve_training(profile="ci", environ={}).applied["profile"]

    def test_overrides_win_over_profile_defaults(self) -> None:
        """A profile default (not a contract key) gives way to an override."""
        resolved = resolve_training({"cnn_output_mode": "amp_phase"}, profile="ci", environ={})
        assert "amp_phase" == resolved.value("torch.cnn_output_mode")
        assert "override" == resolved.provenance["torch.cnn_output_mode"].kind

    def test_profile_wins_over_the_defaults_only(self) -> None:
        """Keys the profile does not name keep their sources."""
        resolved = resolve_training({"nepochs": 3}, profile="ci", environ={})
        assert "override" == resolved.provenance["training.nepochs"].kind
        assert "default" == resolved.provenance["training.batch_size"].kind

    def test_the_same_value_from_a_higher_source_is_fine(self) -> None:
        """Restating a contract value is no contradiction."""
        resolved = resolve_training({"torch_loss_mode": "poisson"}, profile="ci", environ={})
        assert "override" == resolved.provenance["training.torch_loss_mode"].kind

    def test_a_choice_in_another_letter_case_is_the_same_value(self) -> None:
        """' POISSON' is the pinned 'poisson' (a choice's letter case and spaces do not
        matter), and a profile may be written in any case too."""
        resolved = resolve_training({"torch_loss_mode": " POISSON"}, profile="ci", environ={})
        assert "poisson" == resolved.training_config.torch_loss_mode
        register_profile(
            "shouting", {"model.model_type": "SUPERVISED"}, pinned=["model.model_type"]
        )
        shouting = resolve_training({"model_type": "supervised"}, profile="shouting", environ={})
        assert "supervised" == shouting.training_config.model.model_type

    def test_contradicting_override_names_both_values_and_sources(self) -> None:
        """An override of a contract key with another value fails naming both and their sources."""
        with pytest.raises(ConflictError) as caught:
            resolve_training({"loss_function": "MAE"}, profile="ci", environ={})
        message = str(caught.value)
        assert "torch.loss_function" in message
        assert "profile ci requires torch.loss_function='Poisson'" in message
        assert "override loss_function gives 'MAE'" in message

    def test_contradicting_environment_value(self) -> None:
        """An environment value contradicting a contract key fails naming the variable."""
        environ = {
            "PTYCHO_PROFILE": "ci",
            "PTYCHO_TORCH__MEASUREMENT_DOMAIN": "normalized_amplitude",
        }
        with pytest.raises(
            ValueError, match="env PTYCHO_TORCH__MEASUREMENT_DOMAIN gives"
        ) as caught:
            resolve_training(environ=environ)
        assert "requires torch.measurement_domain='count_intensity'" in str(caught.value)

    def test_contradicting_file_value(self, tmp_path: Path) -> None:
        """A config file contradicting a contract key fails naming the file."""
        config = tmp_path / "config.yaml"
        config.write_text("torch:\n  scale_contract_version: legacy_v1\n")
        with pytest.raises(ValueError, match=f"file {config} gives 'legacy_v1'"):
            resolve_training(profile="ci", environ={}, config_file=config)

    @pytest.mark.parametrize("how", ["argument", "environment"])
    def test_unknown_profile_lists_the_known_ones(self, how: str) -> None:
        """An unknown profile fails listing the supported profiles."""
        kwargs: dict[str, Any] = (
            {"profile": "fast", "environ": {}}
            if how == "argument"
            else {"environ": {"PTYCHO_PROFILE": "fast"}}
        )
        with pytest.raises(UnknownKeyError, match="supported profiles: 'ci'"):
            resolve_training(**kwargs)

    def test_environment_selects_and_the_argument_wins(self) -> None:
        """PTYCHO_PROFILE selects a profile; the profile argument replaces it."""
        register_profile("quiet", {"torch.log_patch_stats": False})
        environ = {"PTYCHO_PROFILE": "ci"}
        assert "ci" == resolve_training(environ=environ).applied["profile"]
        assert "quiet" == resolve_training(profile="quiet", environ=environ).applied["profile"]

    def test_inference_takes_the_profile_too(self) -> None:
        """The inference resolution applies the bundle's keys that belong to it."""
        paths = {"model_path": "model", "test_data_file": "test.npz"}
        resolved = resolve_inference(paths, profile="ci", environ={})
        assert "rectangular_scaled" == resolved.value("torch.physics_forward_mode")

    def test_factory_with_the_ci_profile(self, tmp_path: Path) -> None:
        """create_training_payload(profile='ci') carries the contract into the pt_* objects."""
        example = write_example(tmp_path / "example")
        payload = create_training_payload(
            example / "train_data.npz",
            tmp_path / "out",
            {"n_groups": 4, "accelerator": "cpu"},
            environ={},
            profile="ci",
        )
        assert ("rectangular_scaled", "data", "ci_intensity_v2") == (
            payload.pt_model_config.physics_forward_mode,
            payload.pt_model_config.rect_s1s2_init,
            payload.pt_data_config.scale_contract_version,
        )
        assert "ci" == payload.overrides_applied["profile"]


class TestTrainedKnobs:
    """An inference payload takes the trained network's backend knobs from its snapshot."""

    def test_inference_inherits_the_contract_of_the_trained_model(self, tmp_path: Path) -> None:
        """A model trained under 'ci' is reconstructed under its contract, from the checkpoint."""
        example = write_example(tmp_path / "example")
        trained = create_training_payload(
            example / "train_data.npz",
            tmp_path / "out",
            {"n_groups": 4, "accelerator": "cpu"},
            environ={},
            profile="ci",
        )
        model = tmp_path / "model"
        make_model_dir(model)
        save_snapshot(trained, model)
        payload = create_inference_payload(
            model,
            example / "test_data.npz",
            tmp_path / "rec",
            {"n_groups": 2, "accelerator": "cpu"},
            environ={},
        )
        assert "rectangular_scaled" == payload.pt_model_config.physics_forward_mode
        assert "checkpoint" == payload.provenance["torch.physics_forward_mode"].kind
        assert "default" == payload.provenance["torch.window"].kind


class TestProfilesAreData:
    """A profile is a name with values and pinned keys; more can be registered."""

    def test_registered_profile_pins_its_keys(self) -> None:
        """A registered profile applies its values and refuses contradictions of its pins."""
        register_profile(
            "wide", {"torch.window": 40, "training.nepochs": 5}, pinned=["torch.window"]
        )
        assert 40 == resolve_training(profile="wide", environ={}).value("torch.window")
        assert 9 == resolve_training({"nepochs": 9}, profile="wide", environ={}).value(
            "training.nepochs"
        )
        with pytest.raises(ConflictError, match=r"torch\.window"):
            resolve_training({"window": 10}, profile="wide", environ={})

    @pytest.mark.parametrize(
        ("name", "values", "pinned", "error", "expected"),
        [
            ("typo", {"torch.windw": 1}, (), UnknownKeyError, "did you mean 'torch.window'"),
            ("bare", {"nepochs": 1}, (), UnknownKeyError, "did you mean 'training.nepochs'"),
            ("int key", {5: 1}, (), UnknownKeyError, "- 5: unknown key"),
            ("bad", {"training.nepochs": "many"}, (), InvalidValueError, "nepochs = 'many'"),
            ("loose", {}, ["torch.window"], InvalidValueError, "pinned without a value"),
            ("pin typo", {}, ["torch.windw"], UnknownKeyError, "did you mean 'torch.window'"),
            ("pin list", {}, [["torch.window"]], UnknownKeyError, "- ['torch.window']: unknown"),
            ("text", {"training.nepochs": 1}, "training.nepochs", ArgumentTypeError, "pinned"),
            ("list", [("training.nepochs", 1)], (), ArgumentTypeError, "must be a mapping"),
            ("", {"training.nepochs": 1}, (), InvalidValueError, "profile name"),
            (5, {"training.nepochs": 1}, (), ArgumentTypeError, "profile name"),
        ],
    )
    def test_bad_arguments_are_refused_when_declared(
        self, name: Any, values: Any, pinned: Any, error: type[Exception], expected: str
    ) -> None:
        """Every argument of register_profile is checked when the profile is declared: the
        library's error of each kind, naming the key or argument (with a suggestion for an
        unknown key), and nothing registered."""
        with pytest.raises(error) as caught:
            register_profile(name, values, pinned)
        assert expected in str(caught.value)
        assert name not in _profiles._PROFILES

    def test_pins_given_as_an_iterator(self) -> None:
        """pinned is read once: an iterator pins every key it yields."""
        values = {"torch.window": 40}
        assert {"torch.window"} == register_profile("it", values, iter(values)).pinned

    def test_every_problem_is_listed(self) -> None:
        """A profile with several problems lists them all in one error."""
        with pytest.raises(PtychoConfigError) as caught:
            register_profile("two", {"torch.windw": 1, "training.nepochs": 0})
        assert {"torch.windw", "training.nepochs"} == {p.key for p in caught.value.problems}

    def test_an_unknown_pinned_key_with_a_value_is_one_problem(self) -> None:
        """A key that is both given and pinned is reported once, with the values."""
        with pytest.raises(UnknownKeyError) as caught:
            register_profile("typo", {"torch.windw": 1}, pinned=["torch.windw"])
        assert ["torch.windw"] == [p.key for p in caught.value.problems]

    def test_ci_profile_data(self) -> None:
        """The ci profile holds the reference's five contract keys, pinned, and four defaults."""
        profile = get_profile("ci")
        assert {**CONTRACT, **CI_DEFAULTS} == dict(profile.values)
        assert set(CONTRACT) == profile.pinned


def _training(**torch: Any) -> TrainingConfig:
    return TrainingConfig(torch=torch)


class TestCrossFieldRules:
    """The reference's rules hold at every construction, not only in the factories."""

    def test_scale_pair_must_be_given_together(self) -> None:
        """scale_contract_version without measurement_domain (or the reverse) fails."""
        with pytest.raises(InvalidValueError, match="must be supplied together"):
            _training(scale_contract_version="legacy_v1")
        with pytest.raises(InvalidValueError, match="must be supplied together"):
            _training(measurement_domain="normalized_amplitude")

    @pytest.mark.parametrize(
        ("version", "domain"),
        [("ci_intensity_v2", "count_intensity"), ("legacy_v1", "normalized_amplitude")],
    )
    def test_supported_pairs(self, version: str, domain: str) -> None:
        """Both supported pairs are accepted."""
        config = _training(scale_contract_version=version, measurement_domain=domain)
        assert (version, domain) == (
            config.torch.scale_contract_version,
            config.torch.measurement_domain,
        )

    def test_unsupported_pair(self) -> None:
        """A mixed pair is not a supported profile."""
        with pytest.raises(InvalidValueError, match="must select a supported profile"):
            _training(scale_contract_version="legacy_v1", measurement_domain="count_intensity")

    @pytest.mark.parametrize(
        ("gain", "message"),
        [
            (True, "must be a number, not a boolean"),
            ("loud", "must be a number"),
            (0.0, "must be positive and finite"),
            (-1.0, "must be positive and finite"),
            (float("inf"), "must be finite"),
        ],
    )
    def test_amplitude_gain_is_a_positive_finite_number(self, gain: Any, message: str) -> None:
        """amplitude_physics_gain must be a real, finite, positive number."""
        with pytest.raises(InvalidValueError, match=message):
            _training(amplitude_physics_gain=gain)

    def test_amplitude_gain_is_one_under_rectangular_scaled(self) -> None:
        """Any gain but 1.0 under rectangular_scaled fails; in amplitude mode it is free."""
        assert 2.0 == _training(amplitude_physics_gain=2.0).torch.amplitude_physics_gain
        with pytest.raises(InvalidValueError, match=r"must be 1\.0 when physics_forward_mode"):
            _training(amplitude_physics_gain=2.0, physics_forward_mode="rectangular_scaled")

    def test_half_configured_ci_guard(self) -> None:
        """rect_s1s2_init='data' without rectangular_scaled is refused."""
        with pytest.raises(InvalidValueError, match="half-configured CI is fail-closed"):
            _training(rect_s1s2_init="data")

    def test_contract_coherence_mode(self) -> None:
        """ci_intensity_v2 under rectangular_scaled needs the unsupervised (pinn) model."""
        with pytest.raises(InvalidValueError, match="model_type='pinn'"):
            TrainingConfig(
                model={"model_type": "supervised"},
                torch={"physics_forward_mode": "rectangular_scaled"},
            )

    def test_contract_coherence_loss(self) -> None:
        """ci_intensity_v2 under rectangular_scaled needs the poisson loss."""
        with pytest.raises(InvalidValueError, match="torch_loss_mode='poisson'"):
            TrainingConfig(
                torch_loss_mode="mae", torch={"physics_forward_mode": "rectangular_scaled"}
            )

    def test_coherence_does_nothing_in_amplitude_mode(self) -> None:
        """In amplitude mode any model type and loss are coherent."""
        config = TrainingConfig(model={"model_type": "supervised"}, torch_loss_mode="mae")
        assert "amplitude" == config.torch.physics_forward_mode
