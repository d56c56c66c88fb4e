"""Apply one-line mutations of core behaviour, each to its own copy of the tree: a test must fail.

    .venv/bin/python tools/mutation_check.py            # every mutation, its listed tests
    .venv/bin/python tools/mutation_check.py 3 7        # only mutations 3 and 7
    .venv/bin/python tools/mutation_check.py --all      # the whole suite for each (slow)
    .venv/bin/python tools/mutation_check.py --markdown # rows for docs/development.md

Each mutation replaces one exact piece of text (it must occur once) in a copy of the tracked
and untracked files under /tmp, then runs pytest there with that copy first on the import
path, stopping at the first failure; the failing test is then run again without the mutation,
and counts only if it passes there. A mutation no test catches is a missing test; the script
exits 1 when one survives, and 2 when a mutation's text is no longer in the library (the code
moved: update the mutation). docs/development.md lists the mutations and what caught them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    """Replace ``old`` by ``new`` in ``path``; ``tests`` are the files expected to notice."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = [
    Mutation(
        "swap the precedence of `env` and `dotenv`",
        "ptycho_config/_sources/kinds.py",
        '    "env",  # PTYCHO_* environment variables\n    "dotenv",  # a .env file\n',
        '    "dotenv",  # a .env file\n    "env",  # PTYCHO_* environment variables\n',
        ("tests/test_resolve.py", "tests/test_precedence_properties.py"),
    ),
    Mutation(
        "swap the precedence of `file` and `profile`",
        "ptycho_config/_sources/kinds.py",
        '    "file",  # a YAML, TOML or JSON config file\n'
        "    \"profile\",  # a named bundle of values, e.g. 'ci'\n",
        "    \"profile\",  # a named bundle of values, e.g. 'ci'\n"
        '    "file",  # a YAML, TOML or JSON config file\n',
        ("tests/test_resolve.py", "tests/test_precedence_properties.py"),
    ),
    Mutation(
        "drop the cross-field rule that the scale contract and measurement domain come together",
        "ptycho_config/_schemas/sections.py",
        "            _pair_given_together,\n",
        "            lambda c: True,\n",
        ("tests/test_profiles.py", "tests/test_schemas.py"),
    ),
    Mutation(
        "make duplicate-key detection in YAML a no-op",
        "ptycho_config/_sources/config_file.py",
        "                    duplicate = key in seen\n",
        "                    duplicate = False\n",
        ("tests/test_input_paths.py",),
    ),
    Mutation(
        "skip the check against the checkpoint",
        "ptycho_config/_factories/factories.py",
        '    checkpoint = next(layer for layer in layers if layer.kind == "checkpoint")\n',
        "    return\n",
        ("tests/test_factories.py",),
    ),
    Mutation(
        "change a default (`batch_size` 16 → 32)",
        "ptycho_config/_schemas/sections.py",
        "    batch_size: PowerOfTwo = Field(16,",
        "    batch_size: PowerOfTwo = Field(32,",
        ("tests/test_schemas.py", "tests/test_reference_surface.py"),
    ),
    Mutation(
        "accept an unknown or ambiguous key silently",
        "ptycho_config/_sources/layer.py",
        "self._miss(found, shorten(spelling), raw, where, foreign_is_error)",
        "pass",
        ("tests/test_resolve.py",),
    ),
    Mutation(
        "drop the rule that `n_groups` must be given",
        "ptycho_config/_factories/factories.py",
        "if not any(layer.kind in EXPLICIT_KINDS and key in layer.entries for layer in layers)",
        "if False",
        ("tests/test_factories.py",),
    ),
    Mutation(
        "stop counting `n_groups` from a secrets directory as given",
        "ptycho_config/_sources/kinds.py",
        'frozenset(SOURCE_KINDS[: SOURCE_KINDS.index("profile")])',
        'frozenset(SOURCE_KINDS[: SOURCE_KINDS.index("profile")]) - {"secret"}',
        ("tests/test_factories.py",),
    ),
    Mutation(
        "break the did-you-mean suggestion",
        "ptycho_config/_errors.py",
        "cutoff=0.6)",
        "cutoff=1.0)",
        ("tests/test_resolve.py", "tests/test_factories.py"),
    ),
    Mutation(
        "record every value as coming from the default",
        "ptycho_config/_merge/resolve.py",
        "Source(layer.kind, entry.detail)",
        'Source("default", entry.detail)',
        ("tests/test_resolve.py",),
    ),
    Mutation(
        "break a legacy rename (`probe_mask` is `probe.mask` in `ptycho.params`)",
        "ptycho_config/_schemas/registry.py",
        '    "probe_mask": "probe.mask",\n',
        '    "probe_mask": "probe_mask",\n',
        ("tests/test_legacy.py", "tests/test_params.py"),
    ),
    Mutation(
        "show a secret's value in error messages",
        "ptycho_config/_merge/resolve.py",
        "masked(once_per_shared_field(problems), _secrets(layers))",
        "list(once_per_shared_field(problems))",
        ("tests/test_env_sources.py", "tests/test_hostile.py"),
    ),
    Mutation(
        "accept a typo-like `PTYCHO_*` variable with a warning instead of failing",
        "ptycho_config/_sources/environment.py",
        "    if strict or (strict is None and hint):\n",
        "    if strict:\n",
        ("tests/test_env_sources.py", "tests/test_resolve.py"),
    ),
    Mutation(
        "let the accelerator change the fingerprint",
        "ptycho_config/_factories/snapshot.py",
        '    {"training.output_dir", "inference.output_dir", "execution.accelerator"}\n',
        '    {"training.output_dir", "inference.output_dir"}\n',
        ("tests/test_distributed.py", "tests/test_factories.py"),
    ),
    Mutation(
        "drop the deprecated alias `n_images` of `n_groups`",
        "ptycho_config/_schemas/registry.py",
        '        Alias("n_images", "n_groups", deprecated=True),\n',
        "",
        ("tests/test_schemas.py", "tests/test_legacy.py", "tests/test_resolve.py"),
    ),
    Mutation(
        "let a higher source contradict what a profile pins",
        "ptycho_config/_merge/resolve.py",
        "    problems += pinned_conflicts(layers)\n",
        "",
        ("tests/test_profiles.py",),
    ),
    Mutation(
        "skip an override meant for the other payload instead of failing",
        "ptycho_config/_sources/layer.py",
        "            if foreign_is_error:\n",
        "            if False:\n",
        ("tests/test_resolve.py", "tests/test_factories.py"),
    ),
    Mutation(
        "let inference contradict the trained `gridsize`",
        "ptycho_config/_schemas/registry.py",
        '    "N", "gridsize", "model_type",',
        '    "N", "model_type",',
        ("tests/test_factories.py", "tests/test_robustness.py"),
    ),
    Mutation(
        "exit with the generic status (3) for an unreadable file (5)",
        "ptycho_config/_errors.py",
        "class FileReadError(PtychoConfigError, OSError, exit_code=5,",
        "class FileReadError(PtychoConfigError, OSError, exit_code=3,",
        ("tests/test_cli.py", "tests/test_input_paths.py"),
    ),
    Mutation(
        "read reserved switch names case-sensitively",
        "ptycho_config/_sources/environment.py",
        "            upper = name.upper()\n",
        "            upper = name\n",
        ("tests/test_resolve.py", "tests/test_env_sources.py"),
    ),
    Mutation(
        "let the last of two spellings of one key in one source win",
        "ptycho_config/_sources/layer.py",
        "if previous is not None and not same_value(previous.value, value):",
        "if False:",
        ("tests/test_resolve.py", "tests/test_env_sources.py"),
    ),
    Mutation(
        "treat the reserved switch `PTYCHO_DEBUG_PARITY` as an unknown variable",
        "ptycho_config/_schemas/registry.py",
        '        "PTYCHO_DEBUG_PARITY",\n',
        "",
        ("tests/test_resolve.py", "tests/test_env_sources.py", "tests/test_containers_cli.py"),
    ),
    Mutation(
        "read a secret file's content without stripping it",
        "ptycho_config/_sources/environment.py",
        'values[name] = data.decode("utf-8").strip()',
        'values[name] = data.decode("utf-8")',
        ("tests/test_env_sources.py",),
    ),
    Mutation(
        "list a value read from the data in the audit trail when another source beat it",
        "ptycho_config/_merge/resolve.py",
        'if self.provenance[key].kind == "inferred":  # it won',
        "if True:",
        ("tests/test_factories.py",),
    ),
    Mutation(
        "let the keys a YAML merge key (`<<`) copies beat the mapping's own",
        "ptycho_config/_sources/config_file.py",
        "node.value = [pair for pairs in reversed(merged) for pair in pairs] + own",
        "node.value = own + [pair for pairs in reversed(merged) for pair in pairs]",
        ("tests/test_hostile.py",),
    ),
    Mutation(
        "let a config file one byte over 1 MiB through",
        "ptycho_config/_files.py",
        "CONFIG_FILE_CAP = 1024 * 1024  #",
        "CONFIG_FILE_CAP = 1024 * 1024 + 1  #",
        ("tests/test_input_paths.py",),
    ),
    Mutation(
        "let `check --quiet` print",
        "ptycho_config/__main__.py",
        '        if getattr(args, "quiet", False):  #',
        "        if False:  #",
        ("tests/test_cli.py",),
    ),
    Mutation(
        "let ranks that resolved different configurations pass `verify_consistent`",
        "ptycho_config/distributed.py",
        "    if len(set(digests)) == 1:\n",
        "    if True:\n",
        ("tests/test_distributed.py",),
    ),
    Mutation(
        "let inference contradict the trained `fno_modes`",
        "ptycho_config/_schemas/registry.py",
        '    "fno_modes", "fno_width",',
        '    "fno_width",',
        ("tests/test_factories.py",),
    ),
    Mutation(
        "read a word of a fixed set (a choice) in its exact letter case only",
        "ptycho_config/_schemas/base.py",
        "    return words.get(text.casefold(), text)\n",
        "    return words.get(text, text)\n",
        ("tests/test_resolve.py",),
    ),
    Mutation(
        "suggest every spelling of a key close to a typo, not the closest once",
        "ptycho_config/_errors.py",
        "chosen.setdefault(same(spelling) if same else spelling, spelling)",
        "chosen.setdefault(spelling, spelling)",
        ("tests/test_resolve.py",),
    ),
    Mutation(
        "leave a PTYCHO_* variable a test changed unrestored (the pytest plugin)",
        "ptycho_config/testing_plugin.py",
        "    os.environ.update({name: before[name] for name in changed if name in before})\n",
        "",
        ("tests/test_testing_kit.py",),
    ),
    Mutation(
        "let `params.get` read `cfg` without putting deleted defaults back first",
        "ptycho/params.py",
        '    ensure_defaults()\n    if key == "bigN":\n',
        '    if key == "bigN":\n',
        ("tests/test_params.py",),
    ),
]


def _copy_tree(destination: Path) -> None:
    """The tracked and untracked (not ignored) files of the working tree, as they are now."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    )  # fmt: skip
    for name in listed.stdout.decode().split("\0"):
        source = ROOT / name
        if name and source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def run(number: int, mutation: Mutation, whole_suite: bool) -> str:
    """'caught by <test>', 'SURVIVED', 'NOT CAUGHT (...)' or 'NOT APPLIED (...)'."""
    with tempfile.TemporaryDirectory(prefix=f"mut-{number}-") as folder:
        copy = Path(folder)
        _copy_tree(copy)
        target = copy / mutation.path
        text = target.read_text(encoding="utf-8")
        if text.count(mutation.old) != 1:
            return f"NOT APPLIED (the text occurs {text.count(mutation.old)} times)"
        target.write_text(text.replace(mutation.old, mutation.new), encoding="utf-8")
        result = _pytest(copy, [] if whole_suite else list(mutation.tests))
        if result.returncode == 0:
            return "SURVIVED"
        failed = re.search(r"^(?:FAILED|ERROR) (.+?)(?: - |$)", result.stdout, re.MULTILINE)
        if not failed:
            return f"caught (pytest exit {result.returncode})"
        # the catch counts only if that test passes without the mutation (a test that runs the
        # installed console script in a subprocess, say, never sees the copy)
        target.write_text(text, encoding="utf-8")
        if _pytest(copy, [failed.group(1)]).returncode == 1:  # it failed (not: id not found)
            return f"NOT CAUGHT ({failed.group(1)} fails without the mutation too)"
    return f"caught by {failed.group(1)}"


def _pytest(copy: Path, tests: list[str]) -> subprocess.CompletedProcess[str]:
    """pytest in the copy, stopping at the first failure, the copy first on the import path."""
    environment = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    return subprocess.run(
        command, cwd=copy, env=environment, capture_output=True, text=True, check=False
    )


def main(arguments: list[str]) -> int:
    whole_suite = "--all" in arguments
    chosen = [int(a) for a in arguments if a.isdigit()] or range(1, len(MUTATIONS) + 1)
    outcomes = []
    for number in chosen:
        mutation = MUTATIONS[number - 1]
        outcome = run(number, mutation, whole_suite)
        outcomes.append(outcome)
        if "--markdown" in arguments:  # a row of the table in docs/development.md
            where = mutation.path.removeprefix("ptycho_config/")
            caught = outcome.removeprefix("caught by tests/")
            print(f"| {number} | {mutation.name} | `{where}` | `{caught}` |", flush=True)
        else:
            print(f"{number:2}. {mutation.name} ({mutation.path}): {outcome}", flush=True)
    if any(o.startswith("NOT APPLIED") for o in outcomes):
        return 2
    return 0 if all(o.startswith("caught") for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
