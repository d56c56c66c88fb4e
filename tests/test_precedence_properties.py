"""Properties of resolution for all inputs: highest source wins, order-free, env round trip."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ptycho_config import ExecutionConfig, PtychoConfigError, resolve_inference, resolve_training
from ptycho_config._registry import KEYS, PAYLOAD_SECTIONS, TWINS
from ptycho_config._sources.environment import env_text, environment_of
from tests.strategies import PAIRED_KEYS, execution_configs, training_configs, valid_values

TRAINING_KEYS = sorted(
    k for k in KEYS if KEYS[k].section in PAYLOAD_SECTIONS["training"] and k not in PAIRED_KEYS
)
EXECUTION_KEYS = [k for k in TRAINING_KEYS if k.startswith("execution.")]
SOURCES = ("override", "execution_config", "env", "file", "inferred")


@st.composite
def assignments(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    """Random valid values for random keys in each source (execution_config: execution keys)."""
    chosen: dict[str, dict[str, Any]] = {}
    for source in SOURCES:
        pool = EXECUTION_KEYS if source == "execution_config" else TRAINING_KEYS
        keys = draw(st.lists(st.sampled_from(pool), unique=True, max_size=6))
        chosen[source] = {key: draw(valid_values[key]) for key in keys}
        for name in TWINS:  # one source giving a shared field two values is a conflict
            if f"training.{name}" in chosen[source] and f"execution.{name}" in chosen[source]:
                chosen[source][f"execution.{name}"] = chosen[source][f"training.{name}"]
    return chosen


def group(key: str) -> tuple[str, ...]:
    """The keys that hold one value: a shared field's two keys, or the key alone."""
    name = key.split(".", 1)[1]
    return (f"training.{name}", f"execution.{name}") if name in TWINS else (key,)


def resolve_from(chosen: dict[str, dict[str, Any]], folder: Path, order: int = 1) -> Any:
    """Resolve the assignment, writing the file source as JSON; `order` reverses mappings."""

    def ordered(mapping: dict[str, Any]) -> dict[str, Any]:
        return dict(list(mapping.items())[::order])

    config_file = None
    if chosen["file"]:
        config_file = folder / "config.json"
        document = {k: (str(v) if isinstance(v, Path) else v) for k, v in chosen["file"].items()}
        config_file.write_text(json.dumps(ordered(document)), encoding="utf-8")
    execution = ExecutionConfig(
        **{k.split(".")[1]: v for k, v in chosen["execution_config"].items()}
    )
    environ = {KEYS[k].env: env_text(v) for k, v in chosen["env"].items()}
    return resolve_training(
        ordered(chosen["override"]),
        execution if chosen["execution_config"] else None,
        environ=ordered(environ),
        config_file=config_file,
        inferred=ordered(chosen["inferred"]),
    )


def canonical(key: str, value: Any) -> Any:
    """The value a key holds once validated on its own."""
    return resolve_training({key: value}, environ={}).value(key)


class TestHighestSourceWins:
    """For every assignment, each key resolves to the value of the highest source setting it."""

    @given(assignments())
    def test_value_and_provenance(self, chosen: dict[str, dict[str, Any]]) -> None:
        """The resolved value is the highest source's, and provenance names that source."""
        with tempfile.TemporaryDirectory() as folder:
            resolved = resolve_from(chosen, Path(folder))
        for key in TRAINING_KEYS:
            keys = group(key)
            winner = next((s for s in SOURCES if any(k in chosen[s] for k in keys)), "default")
            assert resolved.provenance[key].kind == winner
            if winner != "default":
                given = next(chosen[winner][k] for k in keys if k in chosen[winner])
                assert resolved.value(key) == canonical(key, given)

    @given(assignments())
    def test_order_of_keys_does_not_matter(self, chosen: dict[str, dict[str, Any]]) -> None:
        """Reversing every mapping gives the same values and provenance."""
        with tempfile.TemporaryDirectory() as folder:
            forward = resolve_from(chosen, Path(folder))
            backward = resolve_from(chosen, Path(folder), order=-1)
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
        execution = execution.model_copy(update={k: getattr(training, k) for k in TWINS})
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
