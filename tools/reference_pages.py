"""Write the reference pages of docs/reference from the registered schemas.

    .venv/bin/python tools/reference_pages.py docs/reference

`tests/test_docs.py` checks that the committed pages are what this writes now.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ptycho_config._schemas.registry import (
    ALIASES,
    KEYS,
    PAYLOAD_SECTIONS,
    RESERVED_ENV,
    Key,
    Match,
    env_name,
    env_spellings,
    lookup_env,
)
from ptycho_config._schemas.sections import SECTIONS

_GENERATED = "Generated from the schemas by `python tools/reference_pages.py docs/reference`."


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _bare_env(key: Key) -> str:
    """The bare variable of a key, and what it names where it names another key."""
    kinds = [kind for kind, sections in PAYLOAD_SECTIONS.items() if key.section in sections]
    bare = env_name(key.name)
    ours = [kind for kind in kinds if bare in env_spellings(key, kind)]
    notes = []
    for kind in kinds:
        if kind in ours:
            continue
        found = lookup_env(bare, kind)
        what = f"`{found.key.qualified}`" if isinstance(found, Match) else "ambiguous"
        notes.append(f"in {kind} `{bare}` is {what}")
    if not notes:
        return f"`{bare}`"
    head = f"`{bare}` ({', '.join(ours)}); " if ours else ""
    return f"{head}{'; '.join(notes)}"


def fields_page() -> str:
    """Every key with its type, default, legacy name and description."""
    lines = ["# Field reference", "", _GENERATED, ""]
    for section in SECTIONS:
        lines += [f"## `{section}`", "", "| key | type | default | legacy key | description |"]
        lines.append("|---|---|---|---|---|")
        for key in (k for k in KEYS.values() if k.section == section):
            legacy = f"`{key.legacy}`" if key.legacy else "never written"
            lines.append(
                f"| `{key.qualified}` | {_md(key.type_text)} | `{key.default_text}` | {legacy} "
                f"| {key.description} |"
            )
        lines.append("")
    lines += ["## Aliases", "", "| alias | key | note |", "|---|---|---|"]
    for alias in ALIASES.values():
        note = "deprecated" if alias.deprecated else ""
        note = "a square pair such as `[2, 2]`" if alias.convert else note
        lines.append(f"| `{alias.name}` | `{alias.target}` | {note} |")
    return "\n".join(lines) + "\n"


def environment_page() -> str:
    """Every environment variable: the qualified and the bare name of each key."""
    lines = [
        "# Environment variables",
        "",
        _GENERATED,
        "Names are case-insensitive. The bare name works where it is unambiguous.",
        "",
        "| variable | bare form | default | description |",
        "|---|---|---|---|",
    ]
    for key in KEYS.values():
        lines.append(
            f"| `{key.env}` | {_bare_env(key)} | `{key.default_text}` | {key.description} |"
        )
    lines += ["", "Reserved runtime switches (never configuration keys):", ""]
    lines += [f"- `{name}`" for name in sorted(RESERVED_ENV)]
    return "\n".join(lines) + "\n"


PAGES = {"fields.md": fields_page, "environment.md": environment_page}


def main(argv: list[str]) -> int:
    """Write the reference pages into the given folder."""
    folder = Path(argv[0] if argv else "docs/reference")
    folder.mkdir(parents=True, exist_ok=True)
    for name, render in PAGES.items():
        (folder / name).write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
