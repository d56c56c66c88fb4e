"""The `ptycho-config` command line: resolve, explain and export configurations.

Exit codes: 0 success, 2 usage error, 3 invalid configuration, 4 missing file.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ptycho_config._errors import ConflictError, ModelArchiveNotFoundError, PtychoConfigError
from ptycho_config._extension import load_extensions

EXIT_OK, EXIT_USAGE, EXIT_INVALID, EXIT_MISSING = 0, 2, 3, 4
FORMATS = ("table", "json", "yaml", "env", "legacy")


def _assignment(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="YAML, TOML or JSON config file")
    parser.add_argument(
        "--set", dest="assignments", metavar="KEY=VALUE", action="append", default=[],
        type=_assignment, help="override one key (repeatable); 'none' sets None",
    )  # fmt: skip
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
    parser.add_argument("--example", action="store_true", help="use the bundled example")
    parser.add_argument(
        "--no-strict-env", dest="strict_env", action="store_false",
        help="warn about unknown PTYCHO_* variables instead of failing",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="ptycho-config",
        description="Resolve PtychoPINN configurations from overrides, the environment, "
        "config files, checkpoints and data, and show where every value came from.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser("train", help="resolve a training configuration")
    train.add_argument("--train-data", metavar="F", help="training NPZ file")
    train.add_argument("--output-dir", metavar="D", help="training output directory")
    _common(train)
    infer = commands.add_parser("infer", help="resolve an inference configuration")
    infer.add_argument("--model-path", metavar="D", help="trained model directory")
    infer.add_argument("--test-data", metavar="F", help="NPZ file to reconstruct")
    infer.add_argument("--output-dir", metavar="D", help="inference output directory")
    _common(infer)
    commands.add_parser("schema", help="print the JSON Schema of every section")
    commands.add_parser("env", help="list every environment variable")
    check = commands.add_parser("check", help="validate the environment and a config file")
    check.add_argument("--config", metavar="FILE", help="config file to validate")
    example = commands.add_parser("example", help="write the bundled example into DIR")
    example.add_argument("directory", metavar="DIR")
    return parser


def _overrides(assignments: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """--set values are text, parsed by the schemas as environment values are."""
    texts: dict[str, str] = {}
    for key, value in assignments:
        if texts.setdefault(key, value) != value:
            raise ConflictError(
                f"--set {key} is given twice with different values: {texts[key]!r} and "
                f"{value!r}; give it once"
            )
    return texts


def _payload(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Any:
    from ptycho_config import _example
    from ptycho_config._factories import create_inference_payload, create_training_payload

    example = _example.EXAMPLE_DIR
    config = args.config or (str(example / _example.CONFIG) if args.example else None)
    common = {"config_file": config, "strict_env": args.strict_env}
    overrides = _overrides(args.assignments)
    if args.command == "train":
        data = args.train_data or (str(example / _example.TRAIN_DATA) if args.example else None)
        out = args.output_dir or ("example_outputs/training" if args.example else None)
        if data is None or out is None:
            parser.error("train needs --train-data and --output-dir (or --example)")
        return create_training_payload(data, out, overrides, **common)
    model = args.model_path or (str(example / _example.MODEL) if args.example else None)
    test = args.test_data or (str(example / _example.TEST_DATA) if args.example else None)
    out = args.output_dir or ("example_outputs/inference" if args.example else None)
    if model is None or test is None or out is None:
        parser.error("infer needs --model-path, --test-data and --output-dir (or --example)")
    return create_inference_payload(model, test, out, overrides, **common)


def _document(payload: Any) -> dict[str, Any]:
    from ptycho_config._provenance import redact_tree
    from ptycho_config._snapshot import fingerprint

    config = getattr(payload, "training_config", None) or payload.inference_config
    document: dict[str, Any] = {
        "kind": config.section,
        "fingerprint": fingerprint(payload),
        f"{config.section}_config": config.model_dump(mode="json"),
        "execution_config": payload.execution_config.model_dump(mode="json"),
        "provenance": {
            key: {"source": src.kind, "detail": src.detail}
            for key, src in payload.provenance.items()
        },
        "overrides_applied": {
            key: value if isinstance(value, int | float | bool | None) else str(value)
            for key, value in payload.overrides_applied.items()
        },
    }
    redacted: dict[str, Any] = redact_tree(document)
    return redacted


def _render(payload: Any, form: str) -> str:
    from ptycho_config._snapshot import fingerprint
    from ptycho_config._sources.environment import environment_of

    if form == "table":
        return f"{payload.explain()}\n\nfingerprint {fingerprint(payload)}"
    if form == "json":
        return json.dumps(_document(payload), indent=2)
    if form == "yaml":
        import yaml

        return str(yaml.safe_dump(_document(payload), sort_keys=False)).rstrip()
    if form == "env":
        exported = environment_of(payload.values)
        return "\n".join(f"{name}={shlex.quote(text)}" for name, text in exported.items())
    return json.dumps(dict(payload.legacy_params), indent=2, sort_keys=True)


def _schema() -> str:
    from ptycho_config._schemas import SECTIONS

    schemas = {name: schema.model_json_schema() for name, schema in SECTIONS.items()}
    return json.dumps(schemas, indent=2)


def _env_listing() -> str:
    from ptycho_config._reference import env_rows

    return "\n".join(
        f"{name}  (default {default}; {kind})\n    {description}"
        for name, kind, default, description in env_rows()
    )


def _check(args: argparse.Namespace) -> str:
    from ptycho_config._resolve import resolve_inference, resolve_training

    resolve_training(config_file=args.config)
    placeholder = {"model_path": ".", "test_data_file": "."}
    resolve_inference(placeholder, config_file=args.config)
    return "configuration ok: environment" + (f" and {args.config}" if args.config else "")


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    commands: dict[str, Callable[[], str]] = {
        "schema": _schema,
        "env": _env_listing,
        "check": lambda: _check(args),
        "example": lambda: _write_example(args.directory),
    }
    if args.command in commands:
        return commands[args.command]()
    return _render(_payload(args, parser), args.format)


def _write_example(directory: str) -> str:
    from ptycho_config._example import copy_example

    target = copy_example(directory)
    return f"example written to {target}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        load_extensions()  # installed packages that add fields
        output = _run(args, parser)
    except (FileNotFoundError, ModelArchiveNotFoundError) as error:
        print(f"ptycho-config: missing file: {error}", file=sys.stderr)
        return EXIT_MISSING
    except (PtychoConfigError, FileExistsError) as error:
        print(f"ptycho-config: {error}", file=sys.stderr)
        return EXIT_INVALID
    print(output)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
