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
from typing import Any

import jsonschema
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ptycho_config import PtychoConfigError, resolve_inference, resolve_training
from ptycho_config._schemas.json_schema import config_file_schema
from ptycho_config.testing import config_documents

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
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        resolve = resolve_training if kind == "training" else resolve_inference
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                resolve(config_file=path, environ={})
        except PtychoConfigError as error:
            across = all(" & " in problem.key for problem in error.problems)
            return None if across else False
    return True


def broken(document: dict[str, Any], data: Any) -> dict[str, Any]:
    """The document with one value replaced by junk."""
    copy = json.loads(json.dumps(document))
    holder = copy
    while True:
        assume(holder)
        name = data.draw(st.sampled_from(sorted(holder)))
        if not isinstance(holder[name], dict):
            holder[name] = data.draw(JUNK)
            return copy
        holder = holder[name]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=st.sampled_from(["training", "inference"]), data=st.data(), breaking=st.booleans())
def test_schema_and_library_agree(kind: str, data: Any, breaking: bool) -> None:
    """jsonschema accepts a drawn document exactly when the library does."""
    document = data.draw(config_documents(kind))  # type: ignore[arg-type]
    if breaking:
        document = broken(document, data)
    verdict = library_verdict(document, kind)
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
