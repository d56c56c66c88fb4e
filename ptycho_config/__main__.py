"""The `ptycho-config` command line (also `python -m ptycho_config`): its commands, formats and
exit codes (each error class carries its own) are in docs/cli.md. No traceback is printed."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

from ptycho_config._errors import (
    ConfigFileNotFoundError,
    ConflictError,
    FileReadError,
    OutputError,
    PtychoConfigError,
)
from ptycho_config._factories import example as _example
from ptycho_config._factories.export import env_quoted, to_env
from ptycho_config._factories.factories import (
    PATH_FLAGS,
    RUN_PATHS,
    payload_of,
    run,
    run_sources,
)
from ptycho_config._factories.snapshot import config_document, fingerprint, report_document
from ptycho_config._merge.resolve import SourceOptions
from ptycho_config._schemas.json_schema import config_file_schema
from ptycho_config._schemas.registry import (
    KEYS,
    RESERVED_ENV,
    SWITCHES,
    PayloadKind,
    env_variables,
    load_extensions,
)
from ptycho_config._sources.config_file import ConfigFile, dump_yaml
from ptycho_config._sources.environment import Environment, MountedVariables
from ptycho_config._sources.mapping import ProfileSource

EXIT_OK, EXIT_BUG = 0, 1  # the rest: each error class carries its own (2: argparse's usage)
FORMATS = ("table", "json", "yaml", "env", "legacy", "config")
TRIMMED_BY_CHANGED = "table, config, json or yaml"
RUNS: dict[str, PayloadKind] = {"train": "training", "infer": "inference"}


def _assignment(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def _run_options(parser: argparse.ArgumentParser, kind: PayloadKind) -> None:
    """The options of `train`, `infer` and `check` of either: the run's paths, then the rest."""
    for name in RUN_PATHS[kind]:
        flag = PATH_FLAGS[name]
        what = KEYS[f"{kind}.{name}"].description.rstrip(".")
        help_text = f"{what} (default: from the environment, .env, secrets, config file)"
        parser.add_argument(flag, dest=name, metavar=flag[2].upper(), help=help_text)
    parser.add_argument("--example", action="store_true", help="use the bundled example")
    _shared_options(parser)


def _shared_options(parser: argparse.ArgumentParser, sets: str = "assignments") -> None:
    """Overrides, and the sources of PTYCHO_* values besides the environment."""
    parser.add_argument(
        "--set", dest=sets, metavar="KEY=VALUE", action="append", type=_assignment,
        help="override one key (repeatable); 'none' sets None",
    )  # fmt: skip
    for flag, metavar, what, variable in (
        ("--config", "FILE", "YAML, TOML or JSON config file", "PTYCHO_CONFIG_FILE"),
        ("--env-file", "FILE", ".env file", "PTYCHO_ENV_FILE"),
        ("--secrets-dir", "DIR", "secrets directory", "PTYCHO_SECRETS_DIR"),
        ("--profile", "NAME", "a profile, e.g. ci", "PTYCHO_PROFILE"),
    ):
        parser.add_argument(flag, metavar=metavar, help=f"{what} (default {variable})")
    parser.add_argument(
        "--strict-env", action=argparse.BooleanOptionalAction,
        help="fail on every unknown PTYCHO_* variable (--no-strict-env: on none; "
        "default: on typo-like names only)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="ptycho-config",
        description="Resolve PtychoPINN configurations from overrides, the environment, "
        "config files, checkpoints and data, and show where every value came from.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command, kind in RUNS.items():
        one = commands.add_parser(command, help=f"resolve a {kind} configuration")
        _run_options(one, kind)
        one.add_argument("--format", choices=FORMATS, default="table", help="output format")
        one.add_argument(
            "--changed", action="store_true",
            help=f"only the values not from the defaults (--format {TRIMMED_BY_CHANGED})",
        )  # fmt: skip
    commands.add_parser("schema", help="print the JSON Schema of a config file")
    commands.add_parser("env", help="list every environment variable and its spellings")
    check = commands.add_parser(
        "check", help="apply every rule of train and infer to the environment, .env file, "
        "secrets and config file, and to the files they name"
    )  # fmt: skip
    _shared_options(check, sets="check_assignments")  # bare: both runs; no paths, theirs differ
    runs = check.add_subparsers(dest="run", metavar="RUN", help="check one run (default: both)")
    for command, kind in RUNS.items():
        # an option left out after the run's name keeps what was given before it
        one = runs.add_parser(
            command, help=f"check {command} with its own arguments",
            argument_default=argparse.SUPPRESS,
        )  # fmt: skip
        _run_options(one, kind)
    for quiet in (check, *runs.choices.values()):
        quiet.add_argument("--quiet", action="store_true", help="print nothing: the exit code says")
    example = commands.add_parser("example", help="write the bundled example into DIR")
    example.add_argument("directory", metavar="DIR")
    return parser


def _request(
    args: argparse.Namespace, kind: PayloadKind
) -> tuple[dict[str, Any], dict[str, Any], SourceOptions]:
    """A run's paths, overrides and sources, as its arguments give them."""
    # --set values are text, parsed by the schemas as environment values are
    overrides: dict[str, Any] = {}
    for dest in ("check_assignments", "assignments"):  # check's own (before a run's name) first
        for key, value in getattr(args, dest, None) or []:
            if overrides.setdefault(key, value) != value:
                message = (
                    f"--set {key} is given twice with different values: {overrides[key]!r} and "
                    f"{value!r}; give it once"
                )
                problem = ConflictError.problem(key, message, value, "override")
                raise ConflictError(message, [problem])
    paths = {name: getattr(args, name, None) for name in RUN_PATHS[kind]}
    config = None
    if getattr(args, "example", False):  # the bundled files, unless a flag or --set names others
        example = _example.EXAMPLE_DIR
        config = example / _example.CONFIG
        files = {
            "train_data_file": example / _example.TRAIN_DATA,
            "model_path": example / _example.MODEL,
            "test_data_file": example / _example.TEST_DATA,
            "output_dir": f"example_outputs/{kind}",
        }
        for name, path in paths.items():
            if path is None and not {name, f"{kind}.{name}"} & set(overrides):
                paths[name] = str(files[name])
    options = SourceOptions(
        config_file=config if args.config is None else args.config, strict_env=args.strict_env,
        env_file=args.env_file, secrets_dir=args.secrets_dir, profile=args.profile,
    )  # fmt: skip
    return paths, overrides, options


def _render(payload: Any, form: str, *, changed: bool = False) -> str:
    if form == "table":
        return f"{payload.explain(changed_only=changed)}\n\nfingerprint {fingerprint(payload)}"
    if form == "env":  # NAME=value lines, quoted where needed
        lines = [f"{name}={env_quoted(text)}" for name, text in to_env(payload).items()]
        _require_utf8(lines, form)
        return "\n".join(lines)
    if form == "legacy":
        return json.dumps(dict(payload.legacy_params), indent=2, sort_keys=True)
    if form == "config":  # a config file that reruns this run: --config reads it back
        document = config_document(payload, changed_only=changed)
        _require_utf8(document, form)
        return f"# ptycho-config {fingerprint(payload)}\n{dump_yaml(document)}".rstrip()
    document = report_document(payload, changed_only=changed)  # a config file too
    if form == "json":  # JSON escapes what is no UTF-8, and its readers give it back
        return json.dumps(document, indent=2)
    _require_utf8(document, form)
    return dump_yaml(document).rstrip()


def _require_utf8(written: object, form: str) -> None:
    """Text that is no UTF-8 (a file name the system gave as such bytes: a lone surrogate in
    Python) has no env or YAML form that reads back: refused, not written as other text."""
    text = json.dumps(written, ensure_ascii=False, indent=0)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        start = text.rfind("\n", 0, error.start) + 1
        end = text.find("\n", error.start)
        line = text[start : end if end >= 0 else len(text)].rstrip(",")
        message = (
            f"--format {form} cannot write {line}: it holds text that is not UTF-8 (a file "
            f"name, say), which {form} text cannot give back; use --format json, which keeps it"
        )
        raise OutputError(message) from error


def _env_listing() -> str:
    lines = []
    for key in KEYS.values():
        lines.append(f"{key.env}  (default {key.default_text}; {key.type_text})")
        others = env_variables(key)[1:]  # the first is key.env
        if others:
            lines.append(f"    also {', '.join(others)}")
        lines.append(f"    {key.description}")
    lines.append("Reserved runtime switches (never configuration keys):")
    lines += [f"  {name}" for name in sorted(RESERVED_ENV)]
    return "\n".join(lines)


def _check(args: argparse.Namespace) -> str:
    """Every rule of the runs (both, or the one named), without writing anything."""
    names = [args.run] if args.run else list(RUNS)
    with warnings.catch_warnings():
        warnings.simplefilter("once")  # both runs read the same sources: say each warning once
        for name in names:
            paths, overrides, options = _request(args, RUNS[name])
            sources = run_sources(paths, overrides, None, options)  # as the run's own
            run(RUNS[name], sources, complete=args.run is not None)  # bare: the paths given only
    checked = " and ".join(RUNS[name] for name in names)
    read = "\n".join(f"  {line}" for line in _files_read(sources))
    return f"configuration ok ({checked}); read:\n{read}"


def _files_read(sources: Sequence[Any]) -> list[str]:
    lines: list[str] = []
    for source in sources:
        if isinstance(source, Environment):
            # a switch (PTYCHO_CONFIG_FILE) says where to read, a runtime variable is the
            # reference's own: neither is a configuration value
            reserved = sorted(name for name in source.variables if name.upper() in RESERVED_ENV)
            switches = [name for name in reserved if name.upper() in SWITCHES]
            runtime = [name for name in reserved if name not in switches]
            count = len(source.variables) - len(reserved)
            line = f"environment: {count} PTYCHO_* variable{'' if count == 1 else 's'}"
            line += f"; switches: {', '.join(switches)}" if switches else ""
            line += f"; runtime variables: {', '.join(runtime)}" if runtime else ""
            lines.append(line)
        elif isinstance(source, MountedVariables) and source.kind == "dotenv":
            lines.append(f"env file: {source.path}")
        elif isinstance(source, MountedVariables):
            files = source.loaded[1]
            lines += [f"secret: {path}" for path in files.values()]
            lines += [] if files else [f"secrets directory: {source.path} (no PTYCHO_* files)"]
        elif isinstance(source, ConfigFile):
            lines.append(f"config file: {source.path}")
        elif isinstance(source, ProfileSource):
            lines.append(f"profile: {source.name}")
    return lines


def _run(args: argparse.Namespace) -> str:
    commands: dict[str, Callable[[], str]] = {
        "schema": lambda: json.dumps(config_file_schema(), indent=2),
        "env": _env_listing,
        "check": lambda: _check(args),
        "example": lambda: f"example written to {_example.copy_example(args.directory)}",
    }
    if args.command in commands:
        return commands[args.command]()
    kind = RUNS[args.command]
    paths, overrides, options = _request(args, kind)
    payload = payload_of(kind, paths, overrides, None, options, strict=False)
    return _render(payload, args.format, changed=args.changed)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code. Every failure is one paragraph on stderr;
    Ctrl-C (SIGINT) is one line and exit code 130."""
    try:
        for stream in (sys.stdout, sys.stderr):  # a character the encoding lacks is escaped
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(errors="backslashreplace")
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
            if getattr(args, "changed", False) and args.format in ("env", "legacy"):
                parser.error(
                    f"--changed does not apply to --format {args.format}; it works with "
                    f"--format {TRIMMED_BY_CHANGED}"
                )
        except SystemExit as done:  # --help, or a usage error: argparse has printed already
            code = _emit("", newline=False)
            raise SystemExit(code or done.code) from None
        if getattr(args, "quiet", False):  # a start-up check: the exit code alone answers
            with open(os.devnull, "w") as sink, redirect_stdout(sink), redirect_stderr(sink):
                return _outcome(args)
        return _outcome(args)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)  # 128 + SIGINT, as shells and other programs report it


def _outcome(args: argparse.Namespace) -> int:
    """Run the parsed command, print its output or error; returns the exit code."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            load_extensions()  # installed packages that add fields
            output = _run(args)
    except PtychoConfigError as error:
        prefix = "missing file: " if error.exit_code == ConfigFileNotFoundError.exit_code else ""
        return _fail(f"{prefix}{error}", error.exit_code)
    except FileNotFoundError as error:
        return _fail(f"missing file: {error}", ConfigFileNotFoundError.exit_code)
    except OSError as error:
        reason = f"cannot read {error.filename or 'a file'}: {error.strerror}"
        return _fail(reason, FileReadError.exit_code)
    except Exception as error:  # the promise is no traceback, even for a bug
        detail = f"{type(error).__name__}: {error}"
        return _fail(f"unexpected error ({detail}); please report this as a bug", EXIT_BUG)
    return _emit(output)


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
    """A warning is one line on stderr, like an error, without Python's source excerpt."""
    _fail(f"warning: {message}", EXIT_OK)


def _fail(message: str, code: int) -> int:
    with contextlib.suppress(OSError):  # stderr itself is gone: the exit code still tells
        print(f"ptycho-config: {message}", file=sys.stderr)
    return code


def _emit(output: str, *, newline: bool = True) -> int:
    """Print the output; a full disk or a closed pipe is an error message, not a traceback."""
    try:
        if sys.stdout is None:  # started with stdout closed (>&-)
            raise OSError("standard output is closed")
        sys.stdout.write(output + ("\n" if newline else ""))
        sys.stdout.flush()
    except OSError as error:
        # stdout to /dev/null, so the interpreter's final flush does not fail again; no real
        # descriptor (ValueError, AttributeError, e.g. under a test runner): nothing to do
        with contextlib.suppress(OSError, ValueError, AttributeError):
            target = os.open(os.devnull, os.O_WRONLY)
            os.dup2(target, sys.stdout.fileno())
            os.close(target)
        return _fail(f"cannot write the output: {error.strerror or error}", OutputError.exit_code)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
