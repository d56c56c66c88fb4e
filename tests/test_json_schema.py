"""The JSON Schema says what the library says: the same documents pass, the same fail.

Documents are drawn by the testing kit (valid ones), then one field is broken with a value of
another kind. A rule across fields is outside JSON Schema (the schema lists them in its
description), so a document the library refuses only for such a rule is not compared.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import create_model

from ptycho_config import PtychoConfigError, resolve_inference, resolve_training
from ptycho_config._errors import ConflictError
from ptycho_config._schemas.json_schema import config_file_schema
from ptycho_config._schemas.types import AliasChoices
from ptycho_config.testing import config_documents

OTHER = {"training": "inference", "inference": "training"}
VALIDATOR = jsonschema.Draft202012Validator(config_file_schema())
JUNK = st.one_of(
    st.integers(-3, 70),
    st.floats(-2, 2, allow_nan=False),
    st.booleans(),
    st.none(),
    st.sampled_from(["", "abc", "PINN", " Yes ", "auto", "Cpu", "silu", "Unsupervised"]),
)


def library_verdict(document: dict[str, Any], kind: str) -> bool | None:
    """True when the library reads the file, False when it refuses it, None when it refuses it
    only for a rule across fields (which JSON Schema cannot say)."""
    if kind == "inference":  # its required paths, which a training document lacks
        section = document.get("inference", {})
        required = {"model_path": "model", "test_data_file": "data.npz"}
        missing = {k: v for k, v in required.items() if k not in document and k not in section}
        document = {**document, "inference": {**section, **missing}}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        resolve = resolve_training if kind == "training" else resolve_inference
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                resolve(config_file=path, environ={})
        except PtychoConfigError as error:
            # a rule across fields, or one value given two ways (gradient_clip_val in the
            # training and execution sections), is outside what JSON Schema can say
            across = all(
                " & " in problem.key or problem.error is ConflictError for problem in error.problems
            )
            return None if across else False
    return True


def broken(document: dict[str, Any], data: Any) -> tuple[dict[str, Any], bool]:
    """The document with one value replaced by junk, and whether that value is a bare key's."""
    copy = json.loads(json.dumps(document))
    holder = copy
    while True:
        assume(holder)
        name = data.draw(st.sampled_from(sorted(holder)))
        if not isinstance(holder[name], dict):
            holder[name] = data.draw(JUNK)
            return copy, holder is copy
        holder = holder[name]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=st.sampled_from(["training", "inference"]), data=st.data(), breaking=st.booleans())
def test_schema_and_library_agree(kind: str, data: Any, breaking: bool) -> None:
    """jsonschema accepts a drawn document exactly when the library does."""
    document = data.draw(config_documents(kind))  # type: ignore[arg-type]
    bare = False
    if breaking:
        document, bare = broken(document, data)
    verdict = library_verdict(document, kind)
    if bare:
        # one schema serves both payloads, so a bare key has one rule: where the payloads
        # judge it differently (inference's n_groups may be None, training skips model_path),
        # it cannot agree with both, and the document is not compared
        assume(verdict == library_verdict(document, OTHER[kind]))
    assume(verdict is not None)
    errors = [error.message for error in VALIDATOR.iter_errors(document)]
    assert verdict == (not errors), errors


def test_messages_name_the_rule() -> None:
    """n_groups: 0 is reported by its own rule, not 'not valid under any of the schemas'."""
    for document in ({"n_groups": 0}, {"inference": {"n_groups": 0}}):
        assert ["0 is less than the minimum of 1"] == [
            error.message for error in VALIDATOR.iter_errors(document)
        ]


def test_spellings_the_library_accepts() -> None:
    """Choices in any case and through aliases, boolean words; not 12 as a batch size."""
    for document in (
        {"model_type": "PINN"}, {"accelerator": "CPU"}, {"amp_activation": " SiLU "},
        {"positions_provided": "Yes"}, {"training": {"model": {"N": 64}}},
    ):  # fmt: skip
        assert VALIDATOR.is_valid(document), document
    assert not VALIDATOR.is_valid({"batch_size": 12})


@pytest.mark.parametrize("choices", [("only",), ("one", "two")])
def test_alias_spellings_are_listed_beside_the_choices(choices: tuple[str, ...]) -> None:
    """A choice field's aliases are in its JSON Schema, for a one-choice Literal (which pydantic
    writes as const) as for several choices; the model reads the alias as its choice."""
    field = Annotated[Literal[choices], AliasChoices({"alias": choices[0]})]  # type: ignore[valid-type]
    model = create_model("Choice", value=(field, choices[0]))
    assert [*choices, "alias"] == model.model_json_schema()["properties"]["value"]["enum"]
    assert choices[0] == model(value="alias").value  # type: ignore[attr-defined]


def test_paths_follow_the_path_rule() -> None:
    """A path may not be blank or hold a NUL byte, in the schema as in the library."""
    for path in ("", "   ", "out\x00put"):
        document = {"inference": {"model_path": path}}
        assert library_verdict(document, "inference") is False, path
        assert not VALIDATOR.is_valid(document), path
    assert VALIDATOR.is_valid({"inference": {"model_path": "models/run 1"}})
    assert VALIDATOR.is_valid({"training": {"output_dir": "out"}})


def test_a_list_of_words_may_be_text() -> None:
    """training_directories: 'a,b' is read as a list by both; blank text by neither."""
    assert VALIDATOR.is_valid({"torch": {"training_directories": "runs/a, runs/b"}})
    assert library_verdict({"torch": {"training_directories": "runs/a, runs/b"}}, "training")
    assert not VALIDATOR.is_valid({"torch": {"training_directories": "  "}})
    assert library_verdict({"torch": {"training_directories": "  "}}, "training") is False
    for entry in ("", "  ", "runs/a\x00b"):  # each entry is a path, in both
        document = {"torch": {"training_directories": ["runs/a", entry]}}
        assert not VALIDATOR.is_valid(document), entry
        assert library_verdict(document, "training") is False, entry


def test_the_metadata_key_is_recorded_data_checked_in_shape() -> None:
    """'metadata' (what a snapshot or a report records) is read by neither as configuration;
    a metadata that is no mapping, lacks a key, holds another or a value of the wrong type is
    refused by both, and any other unknown top-level key stays an error."""
    recorded = {
        "schema_version": 2, "kind": "training", "fingerprint": "sha256:0",
        "provenance": {"model.N": {"kind": "file", "detail": "c.yaml"}},
        "overrides_applied": {"n_groups": 4},
    }  # fmt: skip
    cases = [
        ({"n_groups": 4, "metadata": recorded}, True),
        ({"n_groups": 4, "metadata": {}}, False),
        ({"n_groups": 4, "metadata": {**recorded, "kind": "train"}}, False),
        ({"n_groups": 4, "metadata": [1]}, False),
        ({"n_groups": 4, "metadata": {**recorded, "batch_size": 8}}, False),
        ({"n_groups": 4, "metadata": {**recorded, "provenance": "file"}}, False),
        ({"n_groups": 4, "metadata": {**recorded, "schema_version": "2"}}, False),
        ({"n_groups": 4, "metadatas": {}}, False),
    ]
    for document, valid in cases:
        assert valid is library_verdict(document, "training"), document
        assert valid is VALIDATOR.is_valid(document), document
    # what the metadata says is no value of the run
    resolved = resolve_training({}, environ={})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.json"
        path.write_text(json.dumps({"metadata": recorded}), encoding="utf-8")
        assert resolved.values() == resolve_training(config_file=path, environ={}).values()


def test_a_metadata_word_is_read_exactly_and_its_message_says_so(tmp_path: Path) -> None:
    """The record is read as the library wrote it: 'Training' is refused, and the message
    does not claim that letter case does not matter (it does, here)."""
    recorded = {
        "schema_version": 2, "kind": "Training", "fingerprint": "sha256:0",
        "provenance": {}, "overrides_applied": {},
    }  # fmt: skip
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"n_groups": 4, "metadata": recorded}), encoding="utf-8")
    with pytest.raises(PtychoConfigError) as caught:
        resolve_training(config_file=path, environ={})
    (problem,) = caught.value.problems
    assert ("metadata.kind", "Training") == (problem.key, problem.value)
    assert "must be one of 'training', 'inference'" == problem.message
