"""The kinds of source and their precedence, stated once: the merger sorts layers by it."""

from __future__ import annotations

from typing import Literal, get_args

# The precedence of the whole library, stated once: highest first.
SourceKind = Literal[
    "override",  # the caller's overrides, or --set on the command line
    "execution_config",  # fields explicitly set on an ExecutionConfig instance
    "env",  # PTYCHO_* environment variables
    "dotenv",  # a .env file
    "secret",  # a secrets directory (one file per variable)
    "settings",  # any other pydantic-settings source the caller passes
    "file",  # a YAML, TOML or JSON config file
    "profile",  # a named bundle of values, e.g. 'ci'
    "checkpoint",  # the snapshot stored with a trained model
    "inferred",  # values read from data files
    "default",  # the schema default
]
SOURCE_KINDS: tuple[SourceKind, ...] = get_args(SourceKind)
# The kinds through which a caller gives values explicitly: those above the profile; the rest are
# implied (a profile's defaults, a trained model's, the data's, the schema's). n_groups must come
# from one of these, and an N from one of these is checked against the data file.
EXPLICIT_KINDS: frozenset[SourceKind] = frozenset(SOURCE_KINDS[: SOURCE_KINDS.index("profile")])
