"""Configuration sources. Each turns one kind of input into a :class:`Layer`: qualified key → value.

Precedence is only the order of ``SOURCE_KINDS``; the merger sorts layers by it.
"""

from ptycho_config._sources.layer import (
    EXPLICIT_KINDS,
    SOURCE_KINDS,
    ConfigSource,
    Entry,
    Layer,
    SourceKind,
    precedence,
)

__all__ = [
    "EXPLICIT_KINDS",
    "SOURCE_KINDS",
    "ConfigSource",
    "Entry",
    "Layer",
    "SourceKind",
    "precedence",
]
