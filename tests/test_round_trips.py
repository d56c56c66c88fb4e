"""Configs that round-trip: what the library writes, it reads back to the same run.

`--format config`, `json` and `yaml` output (with `--changed` too), a checkpoint snapshot and
a config's own `model_dump` are config files; `--format env` output is a `.env` file. Read
back as the only source, each gives the same values and the same fingerprint.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptycho_config import (
    InferenceConfig,
    PtychoConfigError,
    SnapshotError,
    TrainingConfig,
    create_inference_payload,
    create_training_payload,
    fingerprint,
    load_snapshot,
    resolve_inference,
    resolve_training,
    save_snapshot,
)
from ptycho_config.__main__ import EXIT_OK, main
from ptycho_config._factories.snapshot import config_document, report_document
from ptycho_config._schemas.registry import Match, lookup_env
from ptycho_config._sources.config_file import dump_yaml
from ptycho_config.testing import (
    config_documents,
    environments,
    inference_configs,
    training_configs,
)
from tests.conftest import make_model_dir, write_npz

QUICK = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
# each example of a command-line round trip runs the command three times
RUNS = settings(QUICK, max_examples=8)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """A folder shared by every Hypothesis example, with a data file and a model."""
    path = Path(tempfile.mkdtemp())
    write_npz(path / "train.npz")
    write_npz(path / "infer.npz")
    make_model_dir(path / "model")
    try:
        yield path
    finally:
        shutil.rmtree(path)


def cli(*argv: str, environ: dict[str, str] | None = None) -> str:
    """The command's output; it must succeed. Only ``environ`` is in the environment."""
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, environ or {}, clear=True),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        code = main(list(argv))
    assert code == EXIT_OK, err.getvalue()
    return out.getvalue()


def run_document(*argv: str, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The configs and fingerprint of a run, from `--format json`."""
    document = json.loads(cli(*argv, "--format", "json", environ=environ))
    return {**document, "metadata": document["metadata"]["fingerprint"]}


def without_paths(environ: dict[str, str], kind: Any) -> dict[str, str]:
    """A drawn environment without the run's paths and with n_groups (the test gives those)."""
    names = ("train_data_file", "test_data_file", "model_path", "output_dir", "n_groups")
    kept = {}
    for name, text in environ.items():
        found = lookup_env(name, kind)
        if not (isinstance(found, Match) and found.key.name in names):
            kept[name] = text
    return kept | {"PTYCHO_N_GROUPS": "8"}


SUFFIXES = {"config": "yaml", "yaml": "yaml", "json": "json"}


@RUNS
@given(
    kind=st.sampled_from(["train", "infer"]),
    form=st.sampled_from(sorted(SUFFIXES)),
    changed=st.booleans(),
    data=st.data(),
)
def test_format_reads_back(folder: Path, kind: str, form: str, changed: bool, data: Any) -> None:
    """`--format config`, `yaml` or `json` output (`--changed`: only the values not from the
    defaults), read back by --config alone, is the same run (values, fingerprint)."""
    payload: Any = "training" if kind == "train" else "inference"
    environ = without_paths(data.draw(environments(payload)), payload)
    data_flag = "--train-data" if kind == "train" else "--test-data"
    paths = [data_flag, str(folder / f"{kind}.npz"), "--output-dir", "out"]
    paths += [] if kind == "train" else ["--model-path", str(folder / "model")]
    try:
        original = run_document(kind, *paths, environ=environ)
    except AssertionError:  # a drawn value the data or model contradicts: no run to repeat
        return
    text = cli(kind, *paths, "--format", form, *["--changed"] * changed, environ=environ)
    assert "n_images" not in text
    config = folder / f"rerun-{kind}.{SUFFIXES[form]}"
    config.write_text(text, encoding="utf-8")
    assert original == run_document(kind, environ={"PTYCHO_CONFIG_FILE": str(config)})


def test_changed_config_is_minimal(folder: Path) -> None:
    """`--format config --changed` holds the values given, not the defaults."""
    argv = ["train", "--train-data", str(folder / "train.npz"), "--output-dir", "out"]
    document = yaml.safe_load(cli(*argv, "--set", "n_groups=8", "--format", "config", "--changed"))
    training = document["training"]
    assert {"n_groups": 8, "output_dir": "out"}.items() <= training.items()
    assert "batch_size" not in training
    assert set(training["model"]) == {"N"}  # read from the data; nothing else is set
    assert "torch" not in training
    assert {} == document["execution"]


@QUICK
@given(config=training_configs())
def test_training_dump_is_a_config_file(folder: Path, config: TrainingConfig) -> None:
    """{'training': model_dump(mode='json')}, model and torch nested, loads back unchanged."""
    document = {"training": config.model_dump(mode="json")}
    assert "n_images" not in document["training"]
    path = folder / "dump.yaml"
    path.write_text(dump_yaml(document), encoding="utf-8")
    resolved = resolve_training(config_file=path, environ={})
    assert resolved.training_config == config
    assert fingerprint(resolved.training_config) == fingerprint(config)


@QUICK
@given(config=inference_configs())
def test_inference_dump_is_a_config_file(folder: Path, config: InferenceConfig) -> None:
    """The same for an inference config, as JSON."""
    path = folder / "dump.json"
    path.write_text(json.dumps({"inference": config.model_dump(mode="json")}), encoding="utf-8")
    assert resolve_inference(config_file=path, environ={}).inference_config == config


@QUICK
@given(training=training_configs(), inference=inference_configs())
def test_one_file_of_both_dumps_serves_both_runs(
    folder: Path, training: TrainingConfig, inference: InferenceConfig
) -> None:
    """Each run reads its own section, its nested model and torch included, not the other's."""
    document = {
        "training": training.model_dump(mode="json"),
        "inference": inference.model_dump(mode="json"),
    }
    path = folder / "both.yaml"
    path.write_text(dump_yaml(document), encoding="utf-8")
    assert resolve_training(config_file=path, environ={}).training_config == training
    assert resolve_inference(config_file=path, environ={}).inference_config == inference


# text a shell and a .env parser both take apart: quotes, comments, '=', newlines, spaces
HOSTILE_TEXT = st.text(alphabet="ab\"#= \n'", min_size=1, max_size=12).filter(
    lambda text: text.strip() and text.strip() != "none"
)


@RUNS
@given(output_dir=HOSTILE_TEXT, data=st.data())
def test_format_env_reads_back(folder: Path, output_dir: str, data: Any) -> None:
    """`--format env` read back through --env-file, alone, is the same run."""
    environ = without_paths(data.draw(environments("training")), "training")
    paths = ["--train-data", str(folder / "train.npz"), "--output-dir", output_dir]
    try:
        original = run_document("train", *paths, environ=environ)
    except AssertionError:
        return
    env_file = folder / "run.env"
    env_file.write_text(cli("train", *paths, "--format", "env", environ=environ), "utf-8")
    again = run_document("train", "--env-file", str(env_file))
    assert original == again
    assert again["training"]["output_dir"] == output_dir


def test_snapshot_holds_the_config_layout(tmp_path: Path) -> None:
    """The snapshot is the config document `--format config` prints, plus its metadata."""
    payload = create_training_payload(
        write_npz(tmp_path / "t.npz"), "out", {"n_groups": 8}, environ={}
    )
    target = save_snapshot(payload, tmp_path)
    stored = json.loads(target.read_text(encoding="utf-8"))
    printed = yaml.safe_load(
        cli("train", "--train-data", str(tmp_path / "t.npz"), "--output-dir", "out",
            "--set", "n_groups=8", "--format", "config")
    )  # fmt: skip
    assert {"training", "execution", "metadata"} == set(stored)
    assert printed == {"training": stored["training"], "execution": stored["execution"]}
    metadata = stored["metadata"]
    assert (2, "training") == (metadata["schema_version"], metadata["kind"])
    assert fingerprint(payload) == metadata["fingerprint"]
    assert {"kind": "override", "detail": "n_groups"} == metadata["provenance"]["training.n_groups"]


@QUICK
@given(data=st.data())
def test_snapshot_reruns(folder: Path, data: Any) -> None:
    """For any environment drawn by the kit, the saved snapshot as the only config source
    (config_file=) is the same run: the same training values and fingerprint."""
    environ = without_paths(data.draw(environments("training")), "training")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            payload = create_training_payload(folder / "train.npz", "out", environ=environ)
    except PtychoConfigError:  # a drawn value the data contradicts: no run to repeat
        return
    model = folder / "snapshot"
    model.mkdir(exist_ok=True)
    snapshot = save_snapshot(payload, model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = create_training_payload(config_file=snapshot, environ={})
    assert payload.training_config == again.training_config
    assert fingerprint(payload) == fingerprint(again)


def test_snapshot_reruns_from_the_command_line(tmp_path: Path) -> None:
    """`train --config <model>/ptycho_config.json`, or PTYCHO_CONFIG_FILE, repeats the run."""
    payload = create_training_payload(
        write_npz(tmp_path / "t.npz"), tmp_path / "out", {"n_groups": 8, "nepochs": 3},
        environ={},
    )  # fmt: skip
    snapshot = str(save_snapshot(payload, tmp_path))
    expected = f"fingerprint {fingerprint(payload)}"
    assert expected in cli("train", "--config", snapshot)
    assert expected in cli("train", environ={"PTYCHO_CONFIG_FILE": snapshot})


@pytest.mark.parametrize("fixture", ["snapshot_v1_example", "snapshot_before_object_policy"])
def test_version_1_snapshots_load(fixture: str) -> None:
    """Snapshots written in the first layout (sections under training_config and
    execution_config, metadata at the top level) still load, their fingerprint verified."""
    snapshot = load_snapshot(Path(__file__).parent / "data" / fixture)
    assert snapshot is not None
    assert (1, "cpu") == (snapshot.schema_version, snapshot.execution_config.accelerator)
    assert "file" == snapshot.provenance["training.n_groups"].kind


@pytest.mark.parametrize("changed", [False, True])
@pytest.mark.parametrize("form", ["config", "json", "yaml"])
def test_host_resolved_accelerator_is_written_as_auto(
    folder: Path, form: str, changed: bool
) -> None:
    """An accelerator 'auto' that this host resolved is written as 'auto', as `--format env`
    writes it: read on another host, the file resolves there as the original run would have."""
    argv = ["train", "--train-data", str(folder / "train.npz"), "--output-dir", "out"]
    argv += ["--set", "n_groups=8", "--set", "accelerator=auto", "--format", form]
    text = cli(*argv, *["--changed"] * changed)
    document = json.loads(text) if form == "json" else yaml.safe_load(text)
    assert "auto" == document["execution"]["accelerator"]


def test_snapshot_of_a_host_resolved_accelerator(tmp_path: Path) -> None:
    """The snapshot keeps 'auto' in its sections and the host's choice in its provenance."""
    payload = create_training_payload(
        write_npz(tmp_path / "t.npz"), "out", {"n_groups": 8}, environ={}
    )
    assert "cpu" == payload.execution_config.accelerator
    snapshot = load_snapshot(save_snapshot(payload, tmp_path).parent)
    assert snapshot is not None
    assert "auto" == snapshot.execution_config.accelerator
    assert "'auto' resolved to 'cpu'" in snapshot.provenance["execution.accelerator"].detail


def _edited(document: dict[str, Any], where: str, value: Any) -> None:
    """``document`` with the entry at the dotted ``where`` set to ``value`` (None: removed)."""
    *parents, name = where.split(".")
    for part in parents:
        document = document[part]
    if value is None:
        del document[name]
    else:
        document[name] = value


@pytest.mark.parametrize(
    ("where", "value", "named"),
    [
        ("execution", None, "has no 'execution' section"),
        ("metadata", None, "has no 'metadata' section"),
        ("metadata.provenance", [], "metadata.provenance = [] (from checkpoint snapshot"),
        ("metadata.provenance.training.n_groups", "file", "metadata.provenance.training.n_groups"),
        ("metadata.extra", 1, "metadata.extra = 1 (from checkpoint snapshot"),
        ("metadata.overrides_applied", None, "metadata.overrides_applied (from checkpoint"),
    ],
)
def test_a_malformed_snapshot_names_what_is_wrong(
    tmp_path: Path, where: str, value: Any, named: str
) -> None:
    """A snapshot edited out of shape is a SnapshotError naming the entry; its metadata is
    checked as a config file's is, so load_snapshot and --config agree on what is malformed."""
    payload = create_training_payload(
        write_npz(tmp_path / "t.npz"), "out", {"n_groups": 8}, environ={}
    )
    target = save_snapshot(payload, tmp_path)
    document = json.loads(target.read_text(encoding="utf-8"))
    provenance = document["metadata"]["provenance"]
    # dotted keys inside the provenance: edit the entry, not a path through it
    if where.startswith("metadata.provenance."):
        provenance[where.removeprefix("metadata.provenance.")] = value
    else:
        _edited(document, where, value)
    target.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(tmp_path)
    assert named in str(caught.value)
    assert "ptycho_config.json" in str(caught.value)
    if where.startswith("metadata."):  # a config file needs no metadata at all
        with pytest.raises(PtychoConfigError):
            resolve_training(config_file=target, environ={})


def test_a_snapshot_with_an_unknown_source_kind_is_malformed(tmp_path: Path) -> None:
    """A provenance kind that no source has is a SnapshotError listing the kinds there are."""
    payload = create_training_payload(
        write_npz(tmp_path / "t.npz"), "out", {"n_groups": 8}, environ={}
    )
    target = save_snapshot(payload, tmp_path)
    document = json.loads(target.read_text(encoding="utf-8"))
    document["metadata"]["provenance"]["training.n_groups"]["kind"] = "guess"
    target.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(SnapshotError, match=r"malformed: kind must be one of .*'file'.*'guess'"):
        load_snapshot(tmp_path)


RUN_PATH_NAMES = ("train_data_file", "test_data_file", "model_path", "output_dir", "n_groups")


@QUICK
@given(
    kind=st.sampled_from(["training", "inference"]),
    profile=st.sampled_from([None, "ci"]),
    changed=st.booleans(),
    report=st.booleans(),
    data=st.data(),
)
def test_every_source_reads_back(
    folder: Path, kind: Any, profile: str | None, changed: bool, report: bool, data: Any
) -> None:
    """For a config file and an environment drawn by the kit, with or without a profile, the
    config document (or report) of the run, `changed_only` or whole, read back through
    PTYCHO_CONFIG_FILE as the only source, is the same run: a profile's values, pinned or
    not, are written, so the file reproduces the run without the profile."""
    drawn = data.draw(config_documents(kind))
    document = {
        name: {k: v for k, v in value.items() if k not in RUN_PATH_NAMES}
        if isinstance(value, dict)
        else value
        for name, value in drawn.items()
        if name not in RUN_PATH_NAMES
    }
    given = folder / "given.yaml"
    given.write_text(dump_yaml(document), encoding="utf-8")
    environ = without_paths(data.draw(environments(kind)), kind)
    paths: dict[str, Any] = {"output_dir": "out", "overrides": {"n_groups": 8}}
    if kind == "training":
        paths["train_data_file"] = folder / "train.npz"
    else:
        paths |= {"model_path": folder / "model", "test_data_file": folder / "infer.npz"}
    factory: Any = create_training_payload if kind == "training" else create_inference_payload
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            payload = factory(**paths, environ=environ, config_file=given, profile=profile)
        except PtychoConfigError:  # drawn values the profile, data or model contradicts
            return
        written = (report_document if report else config_document)(payload, changed_only=changed)
        rerun = folder / "rerun.json"
        rerun.write_text(json.dumps(written), encoding="utf-8")
        again = factory(environ={"PTYCHO_CONFIG_FILE": str(rerun)})
    assert payload.config == again.config
    assert fingerprint(payload) == fingerprint(again)


def test_a_version_1_snapshot_as_a_config_file_says_so(capsys: Any) -> None:
    """A config file has today's layout: a version-1 snapshot given to --config is one error
    that says what it is and how to rewrite it, not one unknown key per recorded entry."""
    snapshot = Path(__file__).parent / "data" / "snapshot_v1_example" / "ptycho_config.json"
    assert 3 == main(["train", "--config", str(snapshot)])
    error = capsys.readouterr().err
    assert "version-1 checkpoint snapshot" in error
    assert "rename training_config to training" in error
    assert "did you mean" not in error


def _report(folder: Path, kind: str) -> dict[str, Any]:
    """The `--format json` report of a run (a snapshot has the same layout)."""
    if kind == "training":
        payload: Any = create_training_payload(
            folder / "train.npz", "out", {"n_groups": 4}, environ={}
        )
    else:
        payload = create_inference_payload(
            folder / "model", folder / "infer.npz", "out", {"n_groups": 4}, environ={}
        )
    return report_document(payload)


@pytest.mark.parametrize("version", [-5, 0, 3, 99])
def test_a_report_of_a_version_this_library_does_not_read_is_refused(
    folder: Path, tmp_path: Path, version: int
) -> None:
    """A report or snapshot given as a config file whose metadata.schema_version this
    library does not read is refused as load_snapshot refuses it: a newer one says to
    upgrade, one below 1 that versions start at 1."""
    document = _report(folder, "training")
    document["metadata"]["schema_version"] = version
    path = tmp_path / "report.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(PtychoConfigError) as caught:
        resolve_training(config_file=path, environ={})
    (problem,) = caught.value.problems
    assert ("metadata.schema_version", version) == (problem.key, problem.value)
    fix = "upgrade ptycho-config" if version > 2 else "schema versions start at 1"
    assert f"this ptycho-config reads versions 1 to 2 ({fix})" == problem.message


@pytest.mark.parametrize(("written", "read"), [("training", "infer"), ("inference", "train")])
def test_a_report_of_the_other_run_is_one_error(
    folder: Path, tmp_path: Path, written: str, read: str, capsys: Any
) -> None:
    """A training report given to an inference run (or the reverse) is one error that says
    what the file is: its sections are not the run's (an inference run read nothing of a
    training report and asked for n_groups; a training run took its execution section and
    ignored the rest)."""
    path = tmp_path / "report.json"
    path.write_text(json.dumps(_report(folder, written)), encoding="utf-8")
    paths = {
        "train": ["--train-data", str(folder / "train.npz")],
        "infer": ["--model-path", str(folder / "model"), "--test-data", str(folder / "infer.npz")],
    }
    argv = [read, "--config", str(path), *paths[read], "--output-dir", "o", "--set", "n_groups=4"]
    assert 3 == main(argv)
    error = capsys.readouterr().err
    assert f"is a report or snapshot of {written} (metadata.kind is '{written}')" in error
    assert 1 == error.count("ptycho-config:")
    assert "n_groups" not in error
    # a file holding both runs' sections serves both, whatever its metadata says
    document = {**_report(folder, written), "training": {}, "inference": {}}
    path.write_text(json.dumps(document), encoding="utf-8")
    assert EXIT_OK == main(argv)
