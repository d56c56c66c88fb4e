"""Round trips of awkward values: what the library writes, it reads back to the same values.

The kit's strategies draw plain values (simple paths, texts without 'none', finite floats).
These properties put hostile-but-valid values beside them: paths and texts with spaces,
unicode, '#', ':', quotes, '=', '$', newlines, or that read like another type ('none',
'true', '1e3', '[1, 2]'); the smallest and largest floats and infinity where a field allows
it; choices in any letter case; Path objects; fields an extension registers. Each writer
(config document, env export, .env file, secrets, snapshot, the command line's formats, a
shell sourcing the env lines) reads back alone to the same values, fingerprint and
provenance. The oracle is each field's own validation of the value given (its canonical
form), never the library's export tables.
"""

from __future__ import annotations

import json
import math
import shlex
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, BeforeValidator, Field, ValidationError

from ptycho_config import (
    PtychoConfigError,
    create_training_payload,
    fingerprint,
    load_snapshot,
    resolve_inference,
    resolve_training,
    save_snapshot,
    to_env,
)
from ptycho_config._factories.export import env_quoted
from ptycho_config._factories.snapshot import config_document
from ptycho_config._schemas.base import adapter_of
from ptycho_config._schemas.registry import KEYS, keys_of, register_schema, reset_extensions
from ptycho_config._schemas.sections import SECTIONS
from ptycho_config._schemas.types import (
    NonNegativeFloat,
    OptionalPath,
    OrNone,
    PositiveFloat,
    list_text,
)
from ptycho_config._sources.config_file import dump_yaml
from ptycho_config._sources.environment import env_text
from ptycho_config.testing import values
from ptycho_config.testing._configs import partners, payload_schemas, repair, valid_flat
from tests.conftest import write_npz
from tests.test_round_trips import cli

QUICK = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))

# Text that quoting, comments, separators and type guessing take apart.
TRICKY_WORDS = [
    "none", "null", "None", " none ", "NULL", "true", "False", "yes", "off", "1e3", "0x10",
    "017", "1_000", ".inf", "[1, 2]", "(1, 2)", "a,b", "{a: 1}", "#x", "a #b", "a: b", "- a",
    "'q'", '"q"', "it's", "${HOME}", "$(id)", "`id`", "~", "~/x", "-x", "a=b", "\\", "a\\nb",
    "é ü", "日本語", "tab\there", "a\nb", "a\r\nb", " lead", "trail ", "*", "&a", "!tag", "%x",
    "@x", "?", "|", ">", "\u2028", "\ufeffbom", "a\u00a0b",
]  # fmt: skip
TEXTS = st.one_of(
    st.sampled_from(TRICKY_WORDS),
    st.text(st.characters(codec="utf-8", exclude_characters="\0"), min_size=1, max_size=8),
)
# what a reader could take for None
NONE_WORDS = st.sampled_from(TRICKY_WORDS[:5])
FLOATS = st.one_of(
    st.sampled_from([5e-324, 2.2250738585072014e-308, 1e-300, 1 / 3, 0.1, 1e16, 1e300]),
    st.sampled_from([1.7976931348623157e308, -0.0, 0.0, 1.0, 0.9999999999999999, math.inf]),
    st.floats(allow_nan=False),
)
INTEGERS = st.sampled_from([0, 1, -1, 2**31 - 1, -(2**63), 2**63, 2**64 - 1])


def _with_case(value: Any) -> st.SearchStrategy[Any]:
    """A choice (any text) in another letter case or with surrounding spaces."""
    if not isinstance(value, str):
        return st.just(value)
    return st.sampled_from([value, value.upper(), value.title(), f" {value} "])


def awkward(key: str) -> st.SearchStrategy[tuple[Any, Any]]:
    """(value as given, value the field stores) for hostile-but-valid values of ``key``."""
    found = KEYS[key]
    adapter = adapter_of(SECTIONS[found.section], found.name)
    annotation = str(found.info.annotation)
    given: list[st.SearchStrategy[Any]] = [values(key).flatmap(_with_case), NONE_WORDS]
    if "Path" in annotation:
        given += [TEXTS, TEXTS.map(Path), NONE_WORDS.map(Path)]
    elif "list" in annotation:
        given += [st.lists(TEXTS | NONE_WORDS, max_size=3), INTEGERS.map(lambda n: [n])]
    elif "float" in annotation:
        given += [FLOATS, FLOATS.map(repr)]
    elif "str" in annotation:
        given += [TEXTS]
    else:
        given += [INTEGERS, INTEGERS.map(str), TEXTS]

    def canonical(value: Any) -> tuple[Any, Any] | None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return value, adapter.validate_python(value)
        except (ValidationError, PtychoConfigError, ValueError, TypeError):
            return None

    drawn = st.one_of(given).map(canonical)
    return drawn.filter(lambda pair: pair is not None)  # type: ignore[return-value]


def _textual(annotation: Any) -> bool:
    """Whether a field holds text, a path, a list or a float: what writers must quote."""
    return any(word in str(annotation) for word in ("str", "Path", "list", "float"))


@st.composite
def awkward_flats(draw: st.DrawFn, kind: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(overrides as given, expected canonical values) for a valid payload of ``kind``: the
    kit's draw with a few keys given awkward values."""
    flat = dict(draw(valid_flat(kind)))
    given = dict(flat)
    keys = sorted(keys_of(kind))
    textual = [key for key in keys if _textual(KEYS[key].info.annotation)]
    paths = [key for key in textual if "Path" in str(KEYS[key].info.annotation)]
    drawn = st.sampled_from(paths) | st.sampled_from(textual) | st.sampled_from(keys)
    chosen = draw(st.lists(drawn, min_size=1, max_size=4, unique=True))
    for key in chosen:
        for partner in partners(key, kind)[1:]:  # one value: the chosen key gives it
            flat.pop(partner, None)
            given.pop(partner, None)
        given[key], flat[key] = draw(awkward(key))
    kept = repair(payload_schemas(kind), dict(flat), keep=chosen, kind=kind)
    assume(kept is not None and all(key in kept for key in chosen))
    assert kept is not None
    return {key: given[key] for key in kept if key in given}, kept


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp())
    try:
        yield path
    finally:
        shutil.rmtree(path)


RESOLVE: dict[str, Any] = {"training": resolve_training, "inference": resolve_inference}


def _same(expected: Any, got: Any) -> bool:
    """Equal and of one type (1 is no 1.0, and True no 1), or equal paths."""
    return bool(expected == got) and (type(expected) is type(got) or isinstance(got, PurePath))


def _differences(expected: dict[str, Any], resolved: Any) -> dict[str, tuple[Any, Any]]:
    """Each key whose value (of a resolution or payload) is not the one expected."""
    got = resolved.values() if callable(resolved.values) else resolved.values
    return {key: (value, got[key]) for key, value in expected.items() if not _same(value, got[key])}


def _reads_back(
    folder: Path, kind: Any, given: dict[str, Any], expected: dict[str, Any], changed: bool
) -> None:
    """Overrides ``given`` resolve to ``expected``; the config document (YAML and JSON; whole
    or ``changed`` only) and
    the env export (as variables, a .env file and, where no value has surrounding white
    space, which a secret file loses, a secrets directory) each read back alone to those
    values, the same fingerprint, and each value's provenance names the file or variable."""
    resolve = RESOLVE[kind]
    reads: dict[str, tuple[Any, Any]] = {}  # how → (resolution, the detail of each key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = resolve(given, environ={})
        assert {} == _differences(expected, original)
        document = config_document(original, changed_only=changed)
        written = [k for k, s in original.provenance.items() if not changed or s.kind != "default"]
        for suffix, text in (("yaml", dump_yaml(document)), ("json", json.dumps(document))):
            path = folder / f"config.{suffix}"
            path.write_text(text, encoding="utf-8")
            every = dict.fromkeys(written, str(path))
            reads[f"file {suffix}"] = resolve(config_file=path, environ={}), every
        exported = to_env(original)
        variables = {key: KEYS[key].env for key in original.provenance}
        named = {key: name for key, name in variables.items() if name in exported}
        reads["env"] = resolve(environ=exported), named
        env_file = folder / "run.env"
        lines = [f"{name}={env_quoted(text)}" for name, text in exported.items()]
        env_file.write_text("\n".join(lines), encoding="utf-8")
        reads["dotenv"] = (
            resolve(env_file=env_file, environ={}),
            dict.fromkeys(named, str(env_file)),
        )
        if all(text.strip() == text for text in exported.values()):
            secrets = folder / "secrets"
            shutil.rmtree(secrets, ignore_errors=True)
            secrets.mkdir()
            for name, text in exported.items():
                (secrets / name).write_text(text, encoding="utf-8")
            files = {key: str(secrets / name) for key, name in named.items()}
            reads["secret"] = resolve(secrets_dir=secrets, environ={}), files
    for how, (again, details) in reads.items():
        how_kind = how.split()[0]
        assert {} == _differences(expected, again), how
        assert fingerprint(original) == fingerprint(again), how
        for key, source in again.provenance.items():
            # a field training and execution share is one value, named by either's source
            named = {details[k] for k in partners(key, kind) if k in details}
            assert source.kind == (how_kind if named else "default"), (how, key)
            assert source.detail in (named or {"schema default"}), (how, key)


@QUICK
@given(kind=st.sampled_from(["training", "inference"]), changed=st.booleans(), data=st.data())
def test_awkward_values_read_back_from_every_writer(
    folder: Path, kind: Any, changed: bool, data: Any
) -> None:
    """For any valid payload with a few awkward values, every writer reads back."""
    _reads_back(folder, kind, *data.draw(awkward_flats(kind)), changed)


class Study(BaseModel, extra="forbid", frozen=True):
    """A structured extension field, given as a mapping."""

    label: str
    weights: list[float]


def _json_text(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@pytest.fixture
def extended() -> Iterator[None]:
    """Extension fields of every kind of type, in the training and the model sections."""

    class Extended(SECTIONS["training"]):  # type: ignore[misc,valid-type]
        dose_file: OptionalPath = Field(None, description="A path that may be None.")
        dose_label: str = Field("dose", description="Free text.")
        dose_weight: NonNegativeFloat = Field(0.5, description="A bounded float.")
        dose_tags: Annotated[list[str], BeforeValidator(list_text)] = Field(
            default_factory=list, description="A list of text; as text, a list (the docs')."
        )
        dose_mode: Literal["linear", "log"] = Field("linear", description="A choice.")
        dose_study: OrNone[Annotated[Study, BeforeValidator(_json_text)]] = Field(
            None, description="A pydantic model; as text, JSON (the docs' advice)."
        )

    class ExtendedModel(SECTIONS["model"]):  # type: ignore[misc,valid-type]
        dose_scale: OrNone[PositiveFloat] = Field(None, description="A float or None.")

    register_schema(Extended)
    register_schema(ExtendedModel)
    try:
        yield
    finally:
        reset_extensions()


@QUICK
@given(data=st.data())
def test_extension_fields_read_back(folder: Path, extended: None, data: Any) -> None:
    """The same for the fields an extension registers (the strategies follow the registry)."""
    given, expected = data.draw(awkward_flats("training"))
    study = data.draw(st.none() | st.builds(Study, label=TEXTS, weights=st.lists(FLOATS)))
    _reads_back(
        folder,
        "training",
        given | {"training.dose_study": study},
        expected | {"training.dose_study": study},
        changed=data.draw(st.booleans()),
    )


@pytest.mark.parametrize("name", ["none", "NULL", " None ", "sub/../none"])
def test_a_path_named_like_none_reads_back_as_that_path(folder: Path, name: str) -> None:
    """A data file named 'none' (or 'null', any case) is written so that no reader takes it
    for None: a config file, the env export and a .env file read it back as that path."""
    original = resolve_training({"n_groups": 8, "test_data_file": Path(name)}, environ={})
    assert Path(name) == original.value("training.test_data_file")
    document = config_document(original)
    path = folder / "named.yaml"
    path.write_text(dump_yaml(document), encoding="utf-8")
    exported = to_env(original)
    env_file = folder / "named.env"
    lines = [f"{variable}={env_quoted(text)}\n" for variable, text in exported.items()]
    env_file.write_text("".join(lines), encoding="utf-8")
    for again in (
        resolve_training(config_file=path, environ={}),
        resolve_training(environ=exported),
        resolve_training(env_file=env_file, environ={}),
    ):
        assert Path(name) == again.value("training.test_data_file")
        assert fingerprint(original) == fingerprint(again)


@pytest.mark.parametrize("blank", [" ", "\t", "\x85", "\u2028 "])
def test_a_blank_path_object_is_refused_as_its_text_is(blank: str) -> None:
    """A path of only white space is refused whether it is given as text or as a Path: one
    accepted as a Path would be written as text that no reader takes back."""
    for value in (blank, Path(blank)):
        with pytest.raises(PtychoConfigError, match="must be a path, not an empty string"):
            resolve_training({"n_groups": 8, "output_dir": value}, environ={})


def _awkward_run(run: Path, name: str, data: Any) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """A fresh folder holding a data file named ``name``, and drawn awkward values with the
    run's paths: as given, and as they must read back."""
    given, expected = data.draw(awkward_flats("training"))
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir()
    data_file = write_npz(run / "data.npz").rename(run / name)  # numpy adds .npz to a name
    paths = {"training.train_data_file": data_file, "training.n_groups": 8}
    given = {"training.output_dir": Path("out")} | given | paths
    expected = {"training.output_dir": Path("out")} | expected | paths
    return run, given, expected


FILE_NAMES = TEXTS.filter(lambda name: "/" not in name and name.strip() not in ("", ".", ".."))


@settings(QUICK, max_examples=10)
@given(data=st.data(), name=FILE_NAMES, form=st.sampled_from(["config", "json", "yaml", "env"]))
def test_command_line_output_reads_back(folder: Path, data: Any, name: str, form: str) -> None:
    """`train --set KEY=TEXT ...` with awkward values and a data file with an awkward name:
    its `--format config|json|yaml|env` output, read back alone (--config, --env-file), is the
    same run, and the values are the ones given."""
    run, given, expected = _awkward_run(folder / "cli", name, data)
    sets = [f"--set={key}={env_text(value)}" for key, value in given.items()]
    original = json.loads(cli("train", *sets, "--format", "json"))
    written = run / ("run.env" if form == "env" else f"run.{'json' if form == 'json' else 'yaml'}")
    written.write_text(cli("train", *sets, "--format", form), encoding="utf-8")
    source = "--env-file" if form == "env" else "--config"
    again = json.loads(cli("train", source, str(written), "--format", "json"))
    assert original["metadata"]["fingerprint"] == again["metadata"]["fingerprint"]
    assert {k: v for k, v in original.items() if k != "metadata"} == {
        k: v for k, v in again.items() if k != "metadata"
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read = resolve_training(
            **{"config_file" if form != "env" else "env_file": written}, environ={}
        )
    assert {} == _differences(expected, read)


@QUICK
@given(data=st.data(), name=FILE_NAMES)
def test_snapshot_of_awkward_values_reads_back(folder: Path, data: Any, name: str) -> None:
    """A payload with awkward values and an awkwardly named data file: its snapshot loads
    (load_snapshot) to the same configs and provenance, and as the only config file reruns
    the same run."""
    run, given, expected = _awkward_run(folder / "snapshot", name, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        payload = create_training_payload(overrides=given, environ={})
        if expected.get("execution.accelerator", "auto") == "auto":  # this host's choice
            expected.pop("execution.accelerator", None)
        assert {} == _differences(expected, payload)
        snapshot = load_snapshot(save_snapshot(payload, run).parent)
        assert snapshot is not None
        assert payload.training_config == snapshot.training_config
        assert dict(payload.provenance) == dict(snapshot.provenance)
        again = create_training_payload(config_file=run / "ptycho_config.json", environ={})
    assert payload.training_config == again.training_config
    assert fingerprint(payload) == fingerprint(again) == snapshot.fingerprint


def _shell_safe(text: str) -> bool:
    """What env_quoted promises a POSIX shell reads unchanged: not both a quote or backslash
    and a dollar or backquote."""
    return not (set(text) & set("'\\") and set(text) & set("$`"))


@settings(QUICK, max_examples=8)
@given(texts=st.lists(TEXTS.filter(_shell_safe), min_size=1, max_size=6))
def test_env_lines_read_back_through_a_shell(folder: Path, texts: list[str]) -> None:
    """`--format env` lines (env_quoted), sourced by sh, give back each value unchanged."""
    script = folder / "values.env"
    names = [f"PTYCHO_V{number}" for number in range(len(texts))]
    lines = [f"{name}={env_quoted(text)}\n" for name, text in zip(names, texts, strict=True)]
    script.write_text("".join(lines), encoding="utf-8")
    printed = " ".join(f'"${name}"' for name in names)
    shell = f". {shlex.quote(str(script))}; printf '%s\\0' {printed}"
    result = subprocess.run(["sh", "-c", shell], capture_output=True, check=True, env={})
    assert texts == result.stdout.decode("utf-8").split("\0")[:-1]
