"""Simulation recipes and the ptycho.config re-exports: reference-next.md §9."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import ptycho.config
from ptycho.config import (
    DetectorSimulationConfig,
    ProbeSimulationConfig,
    ScanSimulationConfig,
    SimulationConfig,
    SyntheticObjectConfig,
    dataclass_to_legacy_dict,
    load_simulation_config,
    simulation_config_from_mapping,
    simulation_config_sha256,
    simulation_config_to_dict,
    update_legacy_dict,
    validate_simulation_compatibility,
    validate_simulation_config,
)
from ptycho.config import config as tf
from ptycho_config import ModelConfig
from ptycho_config.compat.config_factory import (
    datagen_config_from_simulation,
    simulation_from_datagen_config,
)
from ptycho_config.compat.config_params import DatagenConfig

DEFAULT_HASH = "e2b3a9972bb5c9992490b82f38b074ea9e96ac766427bfb8e53ad6699716e5ef"


def _with(**sections: dict[str, Any]) -> SimulationConfig:
    base = SimulationConfig()
    changed = {k: dataclasses.replace(getattr(base, k), **v) for k, v in sections.items()}
    return dataclasses.replace(base, **changed)


class TestExports:
    def test_package_reexports_21_names(self) -> None:
        assert 21 == len(ptycho.config.__all__)
        assert "resolve_model_object_policy" not in ptycho.config.__all__
        assert 22 == len(tf.__all__)
        assert "KEY_MAPPINGS" not in tf.__all__

    def test_every_name_is_importable(self) -> None:
        for name in tf.__all__:
            assert getattr(tf, name) is not None


class TestHash:
    def test_default_recipe_hash(self) -> None:
        assert DEFAULT_HASH == simulation_config_sha256(SimulationConfig())

    def test_photons_coerced_diameters_not(self) -> None:
        a = _with(detector={"photons_per_pattern": 1000})
        b = _with(detector={"photons_per_pattern": 1000.0})
        assert simulation_config_sha256(a) == simulation_config_sha256(b)
        c = _with(detector={"beamstop_diameter": 4})
        d = _with(detector={"beamstop_diameter": 4.0})
        assert c == d
        assert simulation_config_sha256(c) != simulation_config_sha256(d)

    def test_to_dict_order(self) -> None:
        result = simulation_config_to_dict(SimulationConfig())
        assert ["N", "seed", "probe", "object", "scan", "detector"] == list(result)
        assert [1, 1] == result["scan"]["grid_size"]
        assert json.loads(json.dumps(result)) == result


class TestFromMapping:
    def test_nested_mapping(self) -> None:
        config = simulation_config_from_mapping(
            {"N": 64, "object": {"image_size": [100, 100]}, "probe": {"source_path": "p.npz"}}
        )
        assert (100, 100) == config.object.image_size
        assert Path("p.npz") == config.probe.source_path

    @pytest.mark.parametrize(
        ("values", "message"),
        [([], "simulation must be a mapping"),
         ({"nepochs": 1, "batch_size": 2},
          "simulation.batch_size, simulation.nepochs is not a recognized simulation "
          "configuration field"),
         ({"scan": {"bogus": 1}}, "simulation.scan.bogus is not a recognized"),
         ({"probe": 3}, "simulation.probe must be a mapping"),
         ({"object": {"image_size": [1]}}, "must be a two-element dimension pair"),
         ({"object": {"image_size": [True, 1]}}, "dimensions must be integers"),
         ({"probe": {"source_path": 3}}, "must be a filesystem path")],
    )  # fmt: skip
    def test_errors(self, values: Any, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            simulation_config_from_mapping(values)

    def test_instances_accepted(self) -> None:
        config = simulation_config_from_mapping({"detector": DetectorSimulationConfig(5.0)})
        assert 5.0 == config.detector.photons_per_pattern


class TestValidate:
    @pytest.mark.parametrize(
        ("config", "message"),
        [
            (SimulationConfig(N=0), "simulation.N must be a positive integer, got 0"),
            (_with(probe={"source": "x"}), "must be 'custom' or 'ideal', got 'x'"),
            (_with(probe={"source": "ideal", "source_path": Path("p")}), "must be omitted"),
            (_with(probe={"source_path": "p"}), "must be a Path when set"),
            (_with(probe={"mask_diameter": "3"}), "must be a finite positive number"),
            (_with(probe={"mask_diameter": -1.0}), "must be finite and positive"),
            (_with(probe={"transform_pipeline": "pad:32"}),
             "final size 32 does not match simulation.N 64"),
            (_with(object={"kind": "x"}), "Unsupported simulation.object.kind 'x'"),
            (_with(object={"image_size": [4, 4]}), "must be a two-element tuple"),
            (_with(object={"image_size": (4, 5)}), "must be square, got (4, 5)"),
            (_with(object={"objects_per_probe": 0}), "objects_per_probe must be positive"),
            (_with(scan={"kind": "x"}), "Unsupported simulation.scan.kind"),
            (_with(scan={"buffer": -1}), "simulation.scan.buffer must be a non-negative integer"),
            (_with(scan={"test_groups": 0}), "test_groups must be a positive integer"),
            (_with(detector={"photons_per_pattern": True}), "must be a finite positive number"),
            (_with(detector={"beamstop_diameter": 0}), "must be finite and positive"),
            (SimulationConfig(seed=1.5), "simulation.seed must be an integer or None"),  # type: ignore[arg-type]
        ],
    )  # fmt: skip
    def test_first_failure(self, config: SimulationConfig, message: str) -> None:
        with pytest.raises(ValueError) as caught:
            validate_simulation_config(config)
        assert message in str(caught.value)

    def test_type(self) -> None:
        with pytest.raises(TypeError, match="config must be a SimulationConfig"):
            validate_simulation_config({})

    @pytest.mark.parametrize(
        ("pipeline", "message"),
        [("", "must be non-empty"), ("pad:64||smooth:1", "contains an empty operation"),
         ("smooth:1", "must resolve an explicit final size"), ("blur:3|pad:64", "operation 'blur'"),
         ("pad", "pad requires a target size"), ("pad:0", "target size must be positive"),
         ("pad_extrapolate_boundary_matched:64|smooth:1", "must be the final operation"),
         ("pad:64|smooth:-1", "smooth requires a sigma")],
    )  # fmt: skip
    def test_pipeline(self, pipeline: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            validate_simulation_config(_with(probe={"transform_pipeline": pipeline}))

    def test_pipeline_last_size_wins(self) -> None:
        validate_simulation_config(_with(probe={"transform_pipeline": "pad:32|interp:64,1"}))

    def test_compatibility(self) -> None:
        validate_simulation_compatibility(SimulationConfig(), ModelConfig())
        with pytest.raises(ValueError, match=r"simulation.N=64 conflicts with model.N=128"):
            validate_simulation_compatibility(SimulationConfig(), ModelConfig(N=128))
        with pytest.raises(ValueError, match=r"grid_size=\(1, 1\) conflicts with model.gridsize=2"):
            validate_simulation_compatibility(SimulationConfig(), ModelConfig(gridsize=2))


class TestLoad:
    @pytest.mark.parametrize(
        ("name", "text"),
        [("a.toml", "N = 64\n[scan]\noffset = 3\n"),
         ("a.YAML", "simulation:\n  N: 64\n  scan:\n    offset: 3\n"),
         ("a.json", '{"N": 64, "scan": {"offset": 3}}')],
    )  # fmt: skip
    def test_formats(self, tmp_path: Path, name: str, text: str) -> None:
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert 3 == load_simulation_config(tmp_path / name).scan.offset

    def test_errors(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match=r"must end in \.toml, \.yaml, \.yml, or \.json"):
            load_simulation_config(tmp_path / "a.txt")
        with pytest.raises(ValueError, match="could not load simulation config"):
            load_simulation_config(tmp_path / "missing.json")
        (tmp_path / "b.json").write_text('{"simulation": {}, "x": 1}', encoding="utf-8")
        with pytest.raises(ValueError, match=r"unexpected top-level keys \['x'\]"):
            load_simulation_config(tmp_path / "b.json")
        (tmp_path / "c.json").write_text("[1]", encoding="utf-8")
        with pytest.raises(ValueError, match="must contain a mapping"):
            load_simulation_config(tmp_path / "c.json")


class TestLegacy:
    def test_22_keys(self) -> None:
        sim = _with(probe={"source": "ideal"}, scan={"buffer": 3}, detector={})
        legacy = dataclass_to_legacy_dict(dataclasses.replace(sim, seed=5))
        assert 22 == len(legacy)
        assert ("ideal_disk", 3, 5, "lines", "lines") == (
            legacy["probe_source"], legacy["max_position_jitter"], legacy["npseed"],
            legacy["data_source"], legacy["object_class"],
        )  # fmt: skip

    def test_update_skips_none(self) -> None:
        cfg: dict[str, Any] = {}
        update_legacy_dict(cfg, SimulationConfig())
        assert "probe_npz" not in cfg
        assert 1e9 == cfg["nphotons"]


class TestDatagen:
    def test_defaults_round_trip(self) -> None:
        config = DatagenConfig()
        assert config == datagen_config_from_simulation(simulation_from_datagen_config(config))

    def test_to_simulation(self) -> None:
        base = SimulationConfig(probe=ProbeSimulationConfig(source="ideal"), seed=3)
        datagen = DatagenConfig(probe_paths=["p.npz"], image_size=(64, 64))
        sim = datagen.to_simulation_config(base=base)
        assert ("custom", Path("p.npz"), (64, 64), 3) == (
            sim.probe.source, sim.probe.source_path, sim.object.image_size, sim.seed
        )  # fmt: skip

    @pytest.mark.parametrize(
        ("datagen", "error", "message"),
        [(DatagenConfig(object_class=["a"]), ValueError, "requires a single object_class"),
         (DatagenConfig(probe_paths=["a", "b"]), ValueError, "exactly one probe path"),
         (DatagenConfig(beamstop_diameter=0), ValueError, "finite and positive")],
    )  # fmt: skip
    def test_to_simulation_errors(self, datagen: Any, error: type, message: str) -> None:
        with pytest.raises(error, match=message):
            simulation_from_datagen_config(datagen)

    def test_checks(self) -> None:
        with pytest.raises(TypeError, match="datagen_config must be a DatagenConfig"):
            simulation_from_datagen_config(object())
        with pytest.raises(TypeError, match="base must be a SimulationConfig"):
            DatagenConfig().to_simulation_config(base=object())
        with pytest.raises(TypeError, match="simulation must be a SimulationConfig"):
            DatagenConfig.from_simulation_config(object())
        ideal = SimulationConfig(probe=ProbeSimulationConfig(source="ideal"))
        with pytest.raises(ValueError, match="cannot represent an ideal probe"):
            DatagenConfig.from_simulation_config(ideal)

    def test_sections_are_frozen(self) -> None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            ScanSimulationConfig().offset = 1  # type: ignore[misc]
        assert SyntheticObjectConfig().kind == "lines"
