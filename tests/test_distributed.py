"""Distributed runs: the fingerprint, torchrun's process layout, and ranks that must agree."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import ptycho.params
from ptycho_config import (
    ConfigMismatchError,
    ConflictError,
    ExecutionConfig,
    InferenceConfig,
    InvalidValueError,
    PtychoConfigError,
    TrainingConfig,
    build_torch_runtime,
    create_inference_payload,
    create_training_payload,
    fingerprint,
)
from ptycho_config._factories.snapshot import NOT_RUN_DEFINING, run_values
from ptycho_config._schemas.registry import KEYS
from ptycho_config.distributed import (
    _mismatch_error,
    is_primary,
    save_snapshot_once,
    verify_consistent,
)
from ptycho_config.testing import execution_configs, training_configs, values
from tests._processes import ROOT, base_environment, free_port, run_all
from tests.conftest import make_model_dir, write_npz

WORKER = str(ROOT / "tests" / "_distributed_worker.py")
TORCHRUN = {"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
CPU = {"PTYCHO_ACCELERATOR": "cpu", "PTYCHO_N_GROUPS": "8"}


class Pair:
    """A training and an execution config, fingerprinted together as a payload is."""

    def __init__(self, training: TrainingConfig, execution: ExecutionConfig) -> None:
        self.training_config = training
        self.execution_config = execution


def reordered(document: Any) -> Any:
    """The same JSON document with every mapping's keys in reverse order."""
    if isinstance(document, dict):
        return {key: reordered(document[key]) for key in reversed(list(document))}
    return document


def changed(training: TrainingConfig, execution: ExecutionConfig, key: str, value: Any) -> Any:
    """The pair with one qualified key set to ``value``, or None when a rule rejects it."""
    section, name = key.split(".")
    t, e = training.model_dump(), execution.model_dump()
    target = {"model": t["model"], "training": t, "execution": e}[section]
    target[name] = value
    try:
        return Pair(TrainingConfig.model_validate(t), ExecutionConfig.model_validate(e))
    except PtychoConfigError:
        return None


def value_of(pair: Pair, key: str) -> Any:
    """The validated value of one qualified key of a pair."""
    section, name = key.split(".")
    training = pair.training_config
    holder = {"model": training.model, "training": training}.get(section, pair.execution_config)
    return getattr(holder, name)


TRAINING_KEYS = sorted(
    key
    for key in KEYS
    if key.split(".")[0] in ("model", "training", "execution") and not key.endswith(".n_images")
)


class TestFingerprint:
    """The fingerprint names what is trained: run-defining values, nothing else."""

    @given(training_configs(), execution_configs())
    def test_invariant_under_key_order(
        self, training: TrainingConfig, execution: ExecutionConfig
    ) -> None:
        """Configs validated from documents with their keys in another order hash the same."""
        again = Pair(
            TrainingConfig.model_validate(reordered(training.model_dump(mode="json"))),
            ExecutionConfig.model_validate(reordered(execution.model_dump(mode="json"))),
        )
        assert fingerprint(Pair(training, execution)) == fingerprint(again)

    @given(training_configs(), execution_configs())
    def test_equal_for_equal_configs(
        self, training: TrainingConfig, execution: ExecutionConfig
    ) -> None:
        """Two equal configs, built separately, have the same fingerprint."""
        copy = Pair(
            TrainingConfig.model_validate(training.model_dump(mode="json")),
            ExecutionConfig.model_validate(execution.model_dump(mode="json")),
        )
        assert training == copy.training_config
        assert fingerprint(Pair(training, execution)) == fingerprint(copy)

    @given(training_configs(), execution_configs(), st.sampled_from(TRAINING_KEYS), st.data())
    def test_changes_with_every_run_defining_value(
        self,
        training: TrainingConfig,
        execution: ExecutionConfig,
        key: str,
        data: st.DataObject,
    ) -> None:
        """Changing any value changes the fingerprint, unless the key is not run-defining."""
        other = changed(training, execution, key, data.draw(values(key)))
        assume(other is not None)
        before, after = run_values(Pair(training, execution)), run_values(other)
        assume(value_of(Pair(training, execution), key) != value_of(other, key))
        run_defining = key not in NOT_RUN_DEFINING
        assert run_defining == (before != after)
        assert run_defining == (fingerprint(Pair(training, execution)) != fingerprint(other))

    def test_not_run_defining(self) -> None:
        """Output folders and the accelerator found for 'auto' leave the fingerprint alone."""
        assert {
            "training.output_dir",
            "inference.output_dir",
            "execution.accelerator",
        } == NOT_RUN_DEFINING
        base = Pair(TrainingConfig(), ExecutionConfig())
        elsewhere = Pair(
            TrainingConfig(output_dir=Path("/scratch/run")), ExecutionConfig(accelerator="cuda")
        )
        assert fingerprint(base) == fingerprint(elsewhere)
        inference = {"model_path": Path("m"), "test_data_file": Path("t.npz")}
        assert fingerprint(InferenceConfig(**inference, output_dir=Path("a"))) == fingerprint(
            InferenceConfig(**inference, output_dir=Path("b"))
        )
        assert fingerprint(InferenceConfig(**inference)) != fingerprint(
            InferenceConfig(**inference, n_groups=3)
        )

    def test_same_on_any_host_and_launch(self, tmp_path: Path) -> None:
        """The payload of a torchrun rank has the fingerprint of a plain run of the same config."""
        data = write_npz(tmp_path / "d.npz")
        plain = create_training_payload(data, tmp_path / "a", environ=CPU)
        launched = create_training_payload(data, tmp_path / "b", environ={**CPU, **TORCHRUN})
        assert launched.launch is not None
        assert fingerprint(plain) == fingerprint(launched)


class TestTorchrun:
    """Under torchrun, Lightning's devices and num_nodes come from its variables."""

    def payload(self, tmp_path: Path, **environ: str) -> Any:
        data = write_npz(tmp_path / "d.npz")
        return create_training_payload(data, tmp_path / "out", environ={**CPU, **environ})

    @pytest.mark.parametrize("devices", [None, "auto"])
    def test_devices_and_nodes_from_torchrun(self, tmp_path: Path, devices: str | None) -> None:
        """devices 'auto' or left at its default: LOCAL_WORLD_SIZE per node, WORLD_SIZE/it nodes."""
        given = {"PTYCHO_DEVICES": devices} if devices else {}
        payload = self.payload(tmp_path, **TORCHRUN, **given)
        runtime = build_torch_runtime(payload)
        assert (2, 2) == (runtime.trainer_kwargs["devices"], runtime.trainer_kwargs["num_nodes"])
        assert (4, 3, 1, 2) == (
            payload.launch.world_size,
            payload.launch.rank,
            payload.launch.local_rank,
            payload.launch.local_world_size,
        )
        devices_source = payload.launch.provenance["devices"]
        assert ("env", "LOCAL_WORLD_SIZE=2 (torchrun)") == (
            devices_source.kind,
            devices_source.detail,
        )
        assert "WORLD_SIZE=4 / LOCAL_WORLD_SIZE=2" in payload.launch.provenance["num_nodes"].detail

    def test_inference_payload(self, tmp_path: Path) -> None:
        """An inference payload records the launch as a training payload does."""
        model = tmp_path / "model"
        make_model_dir(model)
        test = write_npz(tmp_path / "t.npz")
        run = create_inference_payload(
            model, test, tmp_path / "i", {"n_groups": 1}, environ={**CPU, **TORCHRUN}
        )
        assert {"devices": 2, "num_nodes": 2} == run.launch.trainer_kwargs()
        assert 2 == build_torch_runtime(run).trainer_kwargs["num_nodes"]

    def test_explicit_devices_that_agree(self, tmp_path: Path) -> None:
        """An explicit devices equal to LOCAL_WORLD_SIZE is kept, and provenance says both."""
        payload = self.payload(tmp_path, **TORCHRUN, PTYCHO_DEVICES="2")
        assert 2 == build_torch_runtime(payload).trainer_kwargs["devices"]
        assert "agrees with env (PTYCHO_DEVICES)" in payload.launch.provenance["devices"].detail

    def test_explicit_devices_that_contradict(self, tmp_path: Path) -> None:
        """An explicit devices other than LOCAL_WORLD_SIZE is an error naming both, nothing set."""
        before = dict(ptycho.params.cfg)
        with pytest.raises(ConflictError) as caught:
            self.payload(tmp_path, **TORCHRUN, PTYCHO_DEVICES="3")
        message = str(caught.value)
        for part in ("execution.devices = 3", "env PTYCHO_DEVICES", "LOCAL_WORLD_SIZE=2"):
            assert part in message
        assert ["execution.devices"] == [p.key for p in caught.value.problems]
        assert before == dict(ptycho.params.cfg)
        assert not (tmp_path / "out").exists()

    def test_explain_shows_the_launch(self, tmp_path: Path) -> None:
        """explain() ends with what torchrun sets for the Trainer, and where it came from."""
        rows = self.payload(tmp_path, **TORCHRUN).explain().splitlines()
        assert ["launch.devices", "2", "env", "LOCAL_WORLD_SIZE=2", "(torchrun)"] == rows[
            -2
        ].split()
        assert rows[-1].split()[:4] == ["launch.num_nodes", "2", "env", "WORLD_SIZE=4"]
        alone = self.payload(tmp_path).explain().splitlines()
        assert not any(row.startswith("launch.") for row in alone)

    def test_without_torchrun_nothing_changes(self, tmp_path: Path) -> None:
        """No torchrun variables, or only some of them: no launch, devices as configured."""
        for environ in ({}, {"WORLD_SIZE": "2", "RANK": "1"}):
            payload = self.payload(tmp_path, PTYCHO_DEVICES="auto", **environ)
            assert payload.launch is None
            kwargs = build_torch_runtime(payload).trainer_kwargs
            assert "auto" == kwargs["devices"]
            assert "num_nodes" not in kwargs

    @pytest.mark.parametrize(
        ("name", "value", "problem"),
        [
            ("WORLD_SIZE", "two", "WORLD_SIZE = 'two' (from env WORLD_SIZE): must be an integer"),
            (
                "LOCAL_WORLD_SIZE",
                "3",
                "WORLD_SIZE = '4' (from env WORLD_SIZE): "
                "must be a multiple of LOCAL_WORLD_SIZE (3)",
            ),
            ("RANK", "4", "RANK = '4' (from env RANK): must be in [0, WORLD_SIZE) = [0, 4)"),
            (
                "LOCAL_RANK",
                "-1",
                "LOCAL_RANK = '-1' (from env LOCAL_RANK): "
                "must be in [0, LOCAL_WORLD_SIZE) = [0, 2)",
            ),
        ],
    )
    def test_bad_variables(self, tmp_path: Path, name: str, value: str, problem: str) -> None:
        """A torchrun variable that cannot be right is an error naming it and the values."""
        with pytest.raises(InvalidValueError) as caught:
            self.payload(tmp_path, **{**TORCHRUN, name: value})
        hint = "; torchrun sets it: unset it, or launch with torchrun"
        assert [problem + hint] == [str(p) for p in caught.value.problems]


class TestMismatchMessage:
    """The error every rank raises when the ranks disagree."""

    def documents(self) -> list[dict[str, Any]]:
        same = {"model.N": 64, "training.neighbor_count": 4}
        odd = {"model.N": 64, "training.neighbor_count": 8}
        sources = {"model.N": "inferred probeGuess in d.npz", "training.neighbor_count": "default"}
        odd_sources = {**sources, "training.neighbor_count": "env PTYCHO_NEIGHBOR_COUNT"}
        return [
            {"fingerprint": "sha256:a", "values": same, "sources": sources},
            {"fingerprint": "sha256:b", "values": odd, "sources": odd_sources},
            {"fingerprint": "sha256:a", "values": same, "sources": sources},
            {"fingerprint": "sha256:a", "values": same, "sources": sources},
        ]

    def test_names_ranks_keys_values_sources(self) -> None:
        """Only the differing key is listed, with every rank's value and source, ranks grouped."""
        error = _mismatch_error(self.documents())
        assert ["training.neighbor_count"] == [p.key for p in error.problems]
        assert isinstance(error, ConfigMismatchError)
        assert isinstance(error, PtychoConfigError)
        expected = (
            "training.neighbor_count: differs between ranks: ranks 0, 2-3 have 4 (from default); "
            "rank 1 has 8 (from env PTYCHO_NEIGHBOR_COUNT)"
        )
        assert expected == str(error.problems[0])
        assert "ranks 0, 2-3: sha256:a; rank 1: sha256:b" in str(error)

    def test_key_missing_on_one_rank(self) -> None:
        """A key one rank does not have (another library version) is shown as absent."""
        documents = self.documents()
        del documents[1]["values"]["model.N"]
        error = _mismatch_error(documents)
        assert "rank 1 has <absent>" in str(error)

    def test_same_on_every_rank(self) -> None:
        """Built from the same documents, the error is the same: every rank raises it alike."""
        assert str(_mismatch_error(self.documents())) == str(_mismatch_error(self.documents()))


class TestSingleProcess:
    """Without a process group, the functions act as in a one-process run."""

    def test_verify_returns_the_fingerprint(self, tmp_path: Path) -> None:
        """No process group: the payload's own fingerprint."""
        payload = create_training_payload(write_npz(tmp_path / "d.npz"), tmp_path, environ=CPU)
        assert fingerprint(payload) == verify_consistent(payload)

    def test_snapshot_written(self, tmp_path: Path) -> None:
        """No process group: this process writes the snapshot."""
        payload = create_training_payload(write_npz(tmp_path / "d.npz"), tmp_path, environ=CPU)
        folder = tmp_path / "model"
        folder.mkdir()
        assert folder / "ptycho_config.json" == save_snapshot_once(payload, folder)
        assert ["ptycho_config.json"] == [p.name for p in folder.iterdir()]

    def test_without_torch(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without torch there is no process group: the fingerprint, and this process writes."""
        payload = create_training_payload(write_npz(tmp_path / "d.npz"), tmp_path, environ=CPU)
        monkeypatch.setitem(sys.modules, "torch", None)
        monkeypatch.setitem(sys.modules, "torch.distributed", None)
        monkeypatch.delenv("RANK", raising=False)
        assert fingerprint(payload) == verify_consistent(payload)
        assert is_primary()
        assert tmp_path / "ptycho_config.json" == save_snapshot_once(payload, tmp_path)

    @pytest.mark.parametrize(("rank", "primary"), [(None, True), ("0", True), ("1", False)])
    def test_is_primary_by_rank(
        self, monkeypatch: pytest.MonkeyPatch, rank: str | None, primary: bool
    ) -> None:
        """Before a process group exists, RANK decides; no RANK is a one-process run."""
        monkeypatch.delenv("RANK", raising=False)
        if rank is not None:
            monkeypatch.setenv("RANK", rank)
        assert primary == is_primary()

    def test_is_primary_bad_rank(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A RANK that is no integer is an error naming it."""
        monkeypatch.setenv("RANK", "first")
        with pytest.raises(InvalidValueError, match="RANK = 'first'"):
            is_primary()


# The runs of TestTwoProcesses, made by one pair of ranks in order: the variables each rank
# adds for the run, and whether its snapshot folder exists.
SCENARIOS = {
    "same": ([{}, {}], True),
    "stale": ([{}, {"PTYCHO_NEIGHBOR_COUNT": "8"}], True),
    "unwritable": ([{}, {}], False),
}


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[Any]]]:
    """Two real processes joined by gloo on the loopback, making every run of SCENARIOS;
    the folder they wrote in, and what each rank reported for each run."""
    tmp_path = tmp_path_factory.mktemp("ranks")
    data = write_npz(tmp_path / "d.npz")
    scenarios = []
    for name, (per_rank, folder_exists) in SCENARIOS.items():
        snapshots = tmp_path / name
        if folder_exists:
            snapshots.mkdir()
        scenarios.append({"snapshots": str(snapshots), "environ": per_rank})
    plan = tmp_path / "scenarios.json"
    plan.write_text(json.dumps(scenarios), encoding="utf-8")
    port = str(free_port())
    commands, environments, results = [], [], []
    for rank in range(2):
        result = tmp_path / f"rank{rank}.json"
        results.append(result)
        commands.append([WORKER, str(data), str(tmp_path / "out"), str(plan), str(result)])
        layout = {"WORLD_SIZE": "2", "RANK": str(rank), "LOCAL_RANK": str(rank)}
        environments.append(
            base_environment(MASTER_PORT=port, LOCAL_WORLD_SIZE="2", **layout, **CPU)
        )
    for finished in run_all(commands, environments, timeout=90):
        assert 0 == finished.returncode, finished.stderr
        assert [] == finished.leftover
    by_rank = [json.loads(path.read_text(encoding="utf-8")) for path in results]
    return tmp_path, {name: [r[i] for r in by_rank] for i, name in enumerate(SCENARIOS)}


class TestTwoProcesses:
    """Two ranks over torch.distributed (gloo on the loopback), each with its own environment."""

    def test_same_environment_same_fingerprint(self, ranks: tuple[Path, Any]) -> None:
        """Both ranks return the same fingerprint, and exactly one snapshot is written."""
        folder, reports = ranks[0] / "same", ranks[1]["same"]
        assert [0, 1] == [r["rank"] for r in reports]
        assert [True, False] == [r["primary"] for r in reports]
        assert reports[0]["fingerprint"] == reports[1]["fingerprint"]
        assert reports[0]["fingerprint"].startswith("sha256:")
        assert [{"devices": 2, "num_nodes": 1}] * 2 == [r["devices"] for r in reports]
        snapshot = str(folder / "ptycho_config.json")
        assert [snapshot, snapshot] == [r["snapshot"] for r in reports]
        assert ["ptycho_config.json"] == [p.name for p in folder.iterdir()]

    def test_one_stale_variable(self, ranks: tuple[Path, Any]) -> None:
        """Rank 1 with another PTYCHO_NEIGHBOR_COUNT: both ranks raise the same named error."""
        folder, reports = ranks[0] / "stale", ranks[1]["stale"]
        assert reports[0]["error"] == reports[1]["error"]
        assert [["training.neighbor_count"]] * 2 == [r["keys"] for r in reports]
        message = reports[0]["error"]
        for part in (
            "rank 0 has 4 (from default)",
            "rank 1 has 8 (from env PTYCHO_NEIGHBOR_COUNT)",
        ):
            assert part in message
        assert [] == list(folder.iterdir())

    def test_snapshot_failure_reaches_every_rank(self, ranks: tuple[Path, Any]) -> None:
        """Rank 0 cannot write: it raises its error, rank 1 a RuntimeError, and nobody hangs."""
        folder, reports = ranks[0] / "unwritable", ranks[1]["unwritable"]
        assert (
            "ConfigFileNotFoundError: Snapshot directory not found: " + str(folder)
            == (reports[0]["snapshot_error"])
        )
        assert (
            f"RuntimeError: rank 0 failed to write the snapshot {folder / 'ptycho_config.json'}; "
            "see rank 0's error"
        ) == reports[1]["snapshot_error"]
        assert not folder.exists()
