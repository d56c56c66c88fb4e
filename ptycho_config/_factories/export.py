"""The portable export: what explicit sources set, as PTYCHO_* variables to ship to a container.
Nothing inferred from data, read from a checkpoint or resolved for this host ('auto' stays
'auto'): sourced on another host, the export resolves there as the original call would have."""

from __future__ import annotations

import shlex
from typing import Any

from ptycho_config._errors import ArgumentTypeError
from ptycho_config._sources.environment import environment_of
from ptycho_config._sources.kinds import EXPLICIT_KINDS

EXPORTED_KINDS = EXPLICIT_KINDS | {"profile"}


def to_env(subject: Any) -> dict[str, str]:
    """PTYCHO_<SECTION>__<FIELD> → text for every value an explicit source set, of a payload or
    a resolution (``resolve_*``'s ``Resolved``)."""
    if not hasattr(subject, "provenance"):
        raise ArgumentTypeError(
            f"to_env needs a payload or resolution, got {type(subject).__name__}"
        )
    values = subject.values() if callable(subject.values) else subject.values
    exported = {
        key: "auto" if source.host_resolved else values[key]
        for key, source in subject.provenance.items()  # schema order, as the reference pages
        if source.kind in EXPORTED_KINDS
    }
    return environment_of(exported)


def env_quoted(text: str) -> str:
    """``text`` as a value that a .env file (``--env-file``) reads back unchanged, and a POSIX
    shell too unless it holds both a quote ``'`` or backslash and a ``$`` or backquote: bare
    when nothing needs quoting, in single quotes when it holds no ``'`` or backslash (both
    read those literally), else in double quotes with backslash and ``"`` escaped."""
    if shlex.quote(text) == text:
        return text
    if "'" not in text and "\\" not in text:
        return f"'{text}'"
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
