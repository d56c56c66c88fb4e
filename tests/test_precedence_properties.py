"""Properties of resolution for all inputs: highest source wins, order-free, env round trip."""

from __future__ import annotations

import tempfile
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ptycho_config import ExecutionConfig, PtychoConfigError, resolve_inference, resolve_training
from ptycho_config._schemas.registry import KEYS, PAYLOAD_SECTIONS, SHARED_FIELDS, keys_of
from ptycho_config._sources.environment import env_text, environment_of
from ptycho_config.testing import (
    SourceAssignment,
    execution_configs,
    source_assignments,
    training_configs,
)
from ptycho_config.testing._configs import partners
from tests.conftest import PRECEDENCE

TRAINING_KEYS = sorted(k for k in KEYS if KEYS[k].section in PAYLOAD_SECTIONS["training"])
# keys a rule wants given together: setting one alone is an error
PAIRED_KEYS = frozenset({"torch.scale_contract_version", "torch.measurement_domain"})


def reversed_sources(assignment: SourceAssignment) -> SourceAssignment:
    """The same assignment with every source's keys in reverse order."""
    flipped = {kind: dict(reversed(list(v.items()))) for kind, v in assignment.sources.items()}
    return SourceAssignment(assignment.payload, flipped)


def winners(assignment: SourceAssignment) -> dict[str, tuple[str, Any]]:
    """Key → (kind, value) of the first kind in PRECEDENCE setting it (or its twin field)."""
    found: dict[str, tuple[str, Any]] = {}
    for key in keys_of(assignment.payload):
        for kind in PRECEDENCE:
            given = assignment.sources.get(kind, {})  # type: ignore[call-overload]
            names = [name for name in partners(key, assignment.payload) if name in given]
            if names:
                found[key] = (kind, given[names[0]])
                break
    return found


class TestHighestSourceWins:
    """For every assignment, each key resolves to the value of the highest source setting it."""

    @given(source_assignments("training") | source_assignments("inference"))
    def test_value_and_provenance(self, assignment: SourceAssignment) -> None:
        """The resolved value is the highest source's, and provenance names that source."""
        resolved = assignment.resolve()
        expected = winners(assignment)
        assert {k: value for k, (_, value) in expected.items()} == {
            k: resolved.value(k) for k in expected
        }
        kinds = {key: source.kind for key, source in resolved.provenance.items()}
        assert {k: expected.get(k, ("default",))[0] for k in kinds} == kinds

    @given(source_assignments())
    def test_order_of_keys_does_not_matter(self, assignment: SourceAssignment) -> None:
        """Reversing every mapping gives the same values and provenance."""
        with tempfile.TemporaryDirectory() as folder:
            forward = assignment.resolve(folder)
            backward = reversed_sources(assignment).resolve(folder)
        assert forward.values() == backward.values()
        assert dict(forward.provenance) == dict(backward.provenance)

    @given(st.dictionaries(st.sampled_from(TRAINING_KEYS), st.just("not a value"), max_size=4))
    def test_errors_are_deterministic(self, bad: dict[str, str]) -> None:
        """The same bad input gives the same error text whatever the order of its keys."""
        messages = []
        for mapping in (bad, dict(reversed(list(bad.items())))):
            try:
                resolve_training(mapping, environ={})
                messages.append("")
            except PtychoConfigError as error:
                messages.append(str(error))
        assert messages[0] == messages[1]


class TestEnvironmentRoundTrip:
    """An environment produced from a resolved config resolves back to the same config."""

    @given(training_configs(), execution_configs())
    def test_training(self, training: Any, execution: ExecutionConfig) -> None:
        """Every training and execution value survives the trip through PTYCHO_* text."""
        values = {f"model.{k}": v for k, v in training.model.model_dump().items()}
        values |= {
            f"training.{k}": v for k, v in training.model_dump().items()
            if k not in ("model", "torch", "n_images")
        }  # fmt: skip
        torch_set = training.torch.model_dump(exclude_unset=True)
        values |= {f"torch.{k}": v for k, v in torch_set.items()}
        execution = execution.model_copy(update={k: getattr(training, k) for k in SHARED_FIELDS})
        values |= {f"execution.{k}": v for k, v in execution.model_dump().items()}
        resolved = resolve_training(environ=environment_of(values))
        assert resolved.training_config == training
        assert resolved.execution_config == execution

    @given(st.sampled_from(sorted(KEYS)))
    def test_every_key_has_a_working_variable(self, key: str) -> None:
        """Each key's qualified variable name sets that key in its payload."""
        required = {"inference.model_path": "/m", "inference.test_data_file": "/t"}
        text = required.get(key) or env_text(KEYS[key].default)
        environ = {KEYS[key].env: text}
        for other in PAIRED_KEYS - {key} if key in PAIRED_KEYS else ():  # given together
            environ[KEYS[other].env] = env_text(KEYS[other].default)
        if key.startswith("inference."):
            given = {k.split(".")[1]: v for k, v in required.items() if k != key}
            resolved = resolve_inference(given, environ=environ)
        else:
            resolved = resolve_training(environ=environ)
        assert resolved.provenance[key].kind == "env"
