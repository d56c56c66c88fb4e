"""Extension without a fork (SPEC §11.5): a package built here adds fields to the library."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ptycho_config import (
    AmbiguousKeyError,
    ConflictError,
    InvalidValueError,
    ModelConfig,
    PtychoConfigError,
    TrainingConfig,
    UnknownKeyError,
    create_training_payload,
    fingerprint,
    from_legacy_dict,
    load_snapshot,
    register_schema,
    resolve_training,
    save_snapshot,
    settings,  # imported before any extension registers
    to_legacy_dict,
)
from ptycho_config._schemas import profiles as _profiles
from ptycho_config._schemas.profiles import register_profile
from ptycho_config._schemas.registry import reset_extensions
from tests._example import write_example
from tools.reference_pages import fields_page

PACKAGE = "ptycho_dose_ext"
MODULE = """
from pydantic import Field

from ptycho_config import ModelConfig, TrainingConfig, register_schema
from ptycho_config._schemas.types import NonNegativeFloat, PositiveInt


class DoseTraining(TrainingConfig):
    dose_weight: NonNegativeFloat = Field(0.5, description="Weight of the dose loss.")


class DoseModel(ModelConfig):
    dose_channels: PositiveInt = Field(3, description="Channels of the dose head.")


register_schema(DoseTraining, legacy={"dose_weight": "dose.weight"})
register_schema(DoseModel)
"""
ENTRY_POINTS = f"[ptycho_config.extensions]\ndose = {PACKAGE}\n"


def _write_package(root: Path) -> Path:
    """A minimal installed distribution: the module and its entry point metadata."""
    (root / PACKAGE).mkdir(parents=True)
    (root / PACKAGE / "__init__.py").write_text(textwrap.dedent(MODULE))
    info = root / "ptycho_dose_ext-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ptycho-dose-ext\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return root


@pytest.fixture
def extension(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The extension package, imported (so registered); the library's own schemas after."""
    root = _write_package(tmp_path / "site")
    monkeypatch.syspath_prepend(str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.modules.pop(PACKAGE, None)
        reset_extensions()


@pytest.mark.usefixtures("extension")
class TestRegisteredField:
    """The new fields resolve, validate, fingerprint and reach the legacy dict as declared."""

    def test_override_env_and_file_with_provenance(self, tmp_path: Path) -> None:
        """The new key resolves from an override, the environment and a file, with provenance."""
        config = tmp_path / "config.yaml"
        config.write_text("model:\n  dose_channels: 5\n")
        resolved = resolve_training(
            {"dose_weight": 0.25},
            environ={"PTYCHO_MODEL__DOSE_CHANNELS": "7"},
            config_file=config,
        )
        assert (0.25, 7) == (
            resolved.value("training.dose_weight"),
            resolved.value("model.dose_channels"),
        )
        assert ("override", "env") == (
            resolved.provenance["training.dose_weight"].kind,
            resolved.provenance["model.dose_channels"].kind,
        )
        from_file = resolve_training(environ={}, config_file=config)
        assert ("file", 5) == (
            from_file.provenance["model.dose_channels"].kind,
            from_file.value("model.dose_channels"),
        )

    def test_settings_classes_carry_the_new_fields(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A settings class read after registering has the new fields and resolves them."""
        monkeypatch.setenv("PTYCHO_DOSE_WEIGHT", "0.25")
        built = settings.TrainingSettings()
        assert (0.25, 3) == (built.training.dose_weight, built.model.dose_channels)
        assert settings.TrainingSettings is settings.TrainingSettings

    def test_bare_environment_variable(self) -> None:
        """The bare PTYCHO_<FIELD> spelling works for an unambiguous new field."""
        resolved = resolve_training(environ={"PTYCHO_DOSE_WEIGHT": "0.75"})
        assert 0.75 == resolved.value("training.dose_weight")

    def test_typo_of_a_new_variable_is_suggested(self, extension: ModuleType) -> None:
        """A misspelt variable of a field registered after the library's own names were
        looked at fails with the new field's spelling suggested."""
        reset_extensions()
        with pytest.raises(UnknownKeyError, match="PTYCHO_BATCH_SIZE"):
            resolve_training(environ={"PTYCHO_BATCH_SIZ": "8"})  # the known names, looked at
        importlib.reload(extension)  # registers the new fields again
        with pytest.raises(UnknownKeyError, match="PTYCHO_DOSE_WEIGHT"):
            resolve_training(environ={"PTYCHO_DOSE_WEIGTH": "0.5"})

    def test_validated(self) -> None:
        """A value breaking the new field's rule is rejected naming the key."""
        with pytest.raises(InvalidValueError, match=r"training\.dose_weight"):
            resolve_training({"dose_weight": -1.0}, environ={})

    def test_fingerprinted(self) -> None:
        """Changing the new field changes the fingerprint."""
        first = fingerprint(resolve_training({"dose_weight": 0.1}, environ={}))
        second = fingerprint(resolve_training({"dose_weight": 0.2}, environ={}))
        assert first != second

    def test_legacy_name_declared_is_written_and_read_back(self) -> None:
        """A field with a legacy name is written under it; one without none is not written."""
        config = resolve_training({"dose_weight": 0.3}, environ={}).training_config
        legacy = to_legacy_dict(config)
        assert 0.3 == legacy["dose.weight"]
        assert "dose_channels" not in legacy
        assert 0.3 == from_legacy_dict(legacy, "training").dose_weight

    def test_values_table_follows_the_registered_schemas(self) -> None:
        """Every key's value, in schema order, has the new keys while they are registered and
        loses them when the library's own schemas are back."""
        resolved = resolve_training({"dose_weight": 0.3}, environ={})
        values = resolved.values()
        assert (0.3, 3) == (values["training.dose_weight"], values["model.dose_channels"])
        assert list(resolved.provenance) == list(values)
        reset_extensions()
        assert "training.dose_weight" not in resolve_training(environ={}).values()

    def test_listed_in_the_reference_pages(self) -> None:
        """The generated field reference lists the new keys."""
        page = fields_page()
        assert "`training.dose_weight`" in page
        assert "`dose.weight`" in page

    def test_payload_and_snapshot(self, tmp_path: Path) -> None:
        """A factory builds the extended config, and its snapshot reads back."""
        example = write_example(tmp_path / "example")
        payload = create_training_payload(
            example / "train_data.npz",
            tmp_path / "out",
            {"n_groups": 4, "dose_weight": 0.9, "accelerator": "cpu"},
            environ={},
        )
        assert isinstance(payload.training_config, TrainingConfig)
        (tmp_path / "model").mkdir()
        save_snapshot(payload, tmp_path / "model")
        snapshot = load_snapshot(tmp_path / "model")
        assert snapshot is not None
        assert 0.9 == snapshot.training_config.dose_weight


class TestCommandLine:
    """An installed extension appears in `ptycho-config env` and `schema` (entry point)."""

    def _cli(self, root: Path, *args: str) -> str:
        environ = {**os.environ, "PYTHONPATH": str(root)}
        environ = {k: v for k, v in environ.items() if not k.upper().startswith("PTYCHO_")}
        done = subprocess.run(
            [sys.executable, "-m", "ptycho_config", *args],
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    def test_env_and_schema_list_the_new_fields(self, tmp_path: Path) -> None:
        """The entry point registers the extension in a fresh process."""
        root = _write_package(tmp_path / "site")
        assert "PTYCHO_TRAINING__DOSE_WEIGHT" in self._cli(root, "env")
        sections = json.loads(self._cli(root, "schema"))["properties"]
        assert "dose_weight" in sections["training"]["properties"]
        assert "dose_channels" in sections["model"]["properties"]


class TestRegistrationRules:
    """Only a subclass of the section's schema can be registered, and the library resets."""

    def test_a_settings_class_built_before_says_so(self, tmp_path: Path) -> None:
        """A settings class built before an extension registered fails with a library error
        that says how to get a current one."""
        before = settings.TrainingSettings
        root = _write_package(tmp_path / "site")
        sys.path.insert(0, str(root))
        try:
            importlib.import_module(PACKAGE)
            with pytest.raises(ConflictError, match="before a schema was registered"):
                before()
            assert (
                "dose_weight"
                in settings.TrainingSettings.model_fields["training"].annotation.model_fields
            )
        finally:
            sys.path.remove(str(root))
            sys.modules.pop(PACKAGE, None)
            reset_extensions()
        # the library's own schemas again: the class built for them is the current one again
        assert settings.TrainingSettings is before

    def test_not_a_subclass_is_refused(self) -> None:
        """A class that does not extend the section's schema is a TypeError."""
        from ptycho_config import register_schema

        with pytest.raises(TypeError, match="subclass of TrainingConfig"):
            register_schema(type("Other", (), {"section": "training"}))  # type: ignore[arg-type]

    @pytest.mark.parametrize("model_first", [True, False])
    def test_extensions_of_model_and_training_register_in_either_order(
        self, model_first: bool
    ) -> None:
        """Two independent extensions, of the model and of the public TrainingConfig (two
        installed packages, loaded in whatever order): both register, and a run has both."""
        from ptycho_config import ModelConfig, TrainingConfig, register_schema
        from ptycho_config._schemas.sections import SECTIONS

        class Wider(ModelConfig):
            width: int = 1

        class Late(TrainingConfig):
            late: int = 2

        try:
            for schema in [Wider, Late] if model_first else [Late, Wider]:
                register_schema(schema)
            resolved = resolve_training({"late": 3, "width": 4}, environ={})
            assert 3 == resolved.value("training.late")
            assert 4 == resolved.value("model.width")
            assert isinstance(resolved.training_config, Late)
            assert isinstance(resolved.training_config.model, Wider)
            # registering the current schema again changes nothing
            register_schema(SECTIONS["training"])
            assert 2 == resolve_training({}, environ={}).training_config.late
        finally:
            reset_extensions()

    @pytest.mark.parametrize("model_first", [True, False])
    def test_a_nested_section_redeclared_by_a_payload_extension_is_refused(
        self, model_first: bool
    ) -> None:
        """An extension of training that redeclares ``model`` as a schema the registry does
        not nest (its own subclass of ModelConfig) is refused, naming what to register:
        rebuilding it with the registered model would drop the redeclared fields unsaid."""
        from ptycho_config import ModelConfig, TrainingConfig, register_schema
        from ptycho_config._schemas.sections import SECTIONS

        class Wider(ModelConfig):
            width: int = 1

        class Own(ModelConfig):
            own: int = 2

        class Redeclares(TrainingConfig):
            model: Own = Field(default_factory=Own)

        try:
            if model_first:
                register_schema(Wider)
            with pytest.raises(TypeError, match=r"redeclares model as Own") as caught:
                register_schema(Redeclares)
            assert "register_schema(Own)" in str(caught.value)
            assert not issubclass(SECTIONS["training"], Redeclares)

            # a training extension that nests the registered model is accepted
            registered = SECTIONS["model"]

            class Nests(TrainingConfig):
                model: registered = Field(default_factory=registered)  # type: ignore[valid-type]

            register_schema(Nests)
            assert SECTIONS["training"] is Nests
        finally:
            reset_extensions()

    def test_a_second_extension_of_a_section_is_told_what_to_subclass(self) -> None:
        """Two extensions of one section chain: a second subclass of the public
        TrainingConfig is refused with the name of the schema to subclass; that one works."""
        from ptycho_config import TrainingConfig, register_schema
        from ptycho_config._schemas.sections import SECTIONS

        class Early(TrainingConfig):
            early: int = 1

        class Late(TrainingConfig):
            late: int = 2

        register_schema(Early)
        try:
            with pytest.raises(TypeError, match=r"subclass SECTIONS\['training'\]") as caught:
                register_schema(Late)
            assert "an extension registered before replaced it" in str(caught.value)

            class Chained(SECTIONS["training"]):  # type: ignore[misc, valid-type]
                late: int = 2

            register_schema(Chained)
            resolved = resolve_training({"late": 3, "early": 4}, environ={})
            assert (3, 4) == (resolved.value("training.late"), resolved.value("training.early"))
        finally:
            reset_extensions()

    def test_registering_one_extension_again_and_again_stays_small(self) -> None:
        """Register and reset cycles of one model extension (as a test suite does) build its
        schemas once: the memory of what is derived from them does not grow with each cycle."""
        import tracemalloc

        from ptycho_config import ModelConfig, register_schema
        from ptycho_config.testing import values

        class Wider(ModelConfig):
            width: int = 1

        def cycle() -> None:
            register_schema(Wider)
            try:
                assert resolve_training({"width": 2}, environ={}).value("model.width") == 2
                values("training.batch_size")
            finally:
                reset_extensions()

        cycle()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(20):
                cycle()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert grown < 1_000_000, f"{grown} bytes more after 20 cycles"

    def test_the_library_is_unchanged_without_an_extension(self) -> None:
        """Without the extension, the new key is unknown."""
        with pytest.raises(ValueError, match="dose_weight"):
            resolve_training({"dose_weight": 0.1}, environ={})

    def test_a_name_two_extensions_add_to_two_sections_is_ambiguous(self) -> None:
        """A field name two extensions add to the model and the training section is no bare
        key of training: as an override or a bare variable it is the library's
        AmbiguousKeyError naming both qualified keys, or both variables."""

        class ScaledModel(ModelConfig):
            dose_scale: float = Field(1.0, description="Scale of the dose head.")

        class ScaledTraining(TrainingConfig):
            dose_scale: float = Field(1.0, description="Scale of the dose loss.")

        try:
            register_schema(ScaledTraining)
            register_schema(ScaledModel)
            keys = r"dose_scale.*ambiguous here; use model\.dose_scale or training\.dose_scale"
            with pytest.raises(AmbiguousKeyError, match=keys):
                resolve_training({"dose_scale": 2.0}, environ={})
            variables = "use PTYCHO_MODEL__DOSE_SCALE or PTYCHO_TRAINING__DOSE_SCALE"
            with pytest.raises(AmbiguousKeyError, match=f"PTYCHO_DOSE_SCALE.*{variables}"):
                resolve_training(environ={"PTYCHO_DOSE_SCALE": "2"})
            resolved = resolve_training({"training.dose_scale": 2.0}, environ={})
            assert (1.0, 2.0) == (
                resolved.value("model.dose_scale"),
                resolved.value("training.dose_scale"),
            )
        finally:
            reset_extensions()


class Dose(BaseModel):
    """A field type of an extension that is itself a pydantic model."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    weight: float = 0.5
    channels: int = 3


def _json_text(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


class DoseBlockTraining(TrainingConfig):
    # the extension reads the environment's text as JSON; the library reads no JSON into a model
    dose: Annotated[Dose, BeforeValidator(_json_text)] = Field(Dose(), description="Dose head.")


PINNED_DOSE = {"weight": 0.7, "channels": 2}


@pytest.fixture
def model_typed_field(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An extension whose new field is a model, and a profile that pins it."""
    monkeypatch.setattr(_profiles, "_PROFILES", dict(_profiles._PROFILES))
    register_schema(DoseBlockTraining)
    try:
        register_profile("dosed", {"training.dose": PINNED_DOSE}, pinned=["training.dose"])
        yield
    finally:
        reset_extensions()


@pytest.mark.usefixtures("model_typed_field")
class TestModelTypedField:
    """A field whose type is a model is pinned, given and refused like any other."""

    def test_the_profile_value_applies(self) -> None:
        """The profile alone gives the pinned block."""
        resolved = resolve_training(profile="dosed", environ={})
        assert Dose(**PINNED_DOSE) == resolved.value("training.dose")

    def test_the_same_value_from_every_source_is_fine(self, tmp_path: Path) -> None:
        """The pinned block given again by an override, the environment or a file is no
        conflict, whatever its spelling (a mapping, the model itself, JSON text)."""
        config = tmp_path / "config.yaml"
        config.write_text("training:\n  dose:\n    weight: 0.7\n    channels: 2\n")
        for given in (
            {"overrides": {"dose": dict(PINNED_DOSE)}},
            {"overrides": {"dose": Dose(**PINNED_DOSE)}},
            {"environ": {"PTYCHO_TRAINING__DOSE": '{"weight": 0.7, "channels": 2}'}},
            {"config_file": config},
        ):
            options: dict[str, Any] = {"environ": {}, **given}
            resolved = resolve_training(profile="dosed", **options)
            assert Dose(**PINNED_DOSE) == resolved.value("training.dose"), given

    def test_another_value_from_every_source_is_a_conflict(self, tmp_path: Path) -> None:
        """Another block from an override, the environment or a file is the library's
        ConflictError naming the key and the profile."""
        config = tmp_path / "config.yaml"
        config.write_text("training:\n  dose:\n    weight: 0.9\n")
        for given in (
            {"overrides": {"dose": {"weight": 0.9}}},
            {"environ": {"PTYCHO_TRAINING__DOSE": '{"weight": 0.9}'}},
            {"config_file": config},
        ):
            options: dict[str, Any] = {"environ": {}, **given}
            with pytest.raises(ConflictError, match=r"training\.dose.*profile dosed requires"):
                resolve_training(profile="dosed", **options)

    @pytest.mark.parametrize(
        ("dose", "message"),
        [
            ({"weight": "heavy"}, r"training\.dose\.weight = 'heavy'.*: must be a number"),
            ({"wieght": 0.7}, r"training\.dose\.wieght = 0\.7.*: unknown field"),
            (7, r"training\.dose = 7 .*: must be a mapping of field names to values"),
        ],
    )
    def test_a_wrong_value_is_the_library_error(self, dose: object, message: str) -> None:
        """A value the model refuses is the library's error naming the key and the model's
        complaint, beside the conflict with the pin, as for any pinned key; not a crash."""
        with pytest.raises(PtychoConfigError, match=message) as raised:
            resolve_training({"dose": dose}, profile="dosed", environ={})
        assert "profile dosed requires training.dose=" in str(raised.value)
        with pytest.raises(PtychoConfigError, match=message) as alone:  # no profile
            resolve_training({"dose": dose}, environ={})
        assert "1 problem" in str(alone.value)
