"""Configuration sources. Each turns one kind of input into a :class:`Layer`: qualified key → value.

Precedence is only the order in which the merger walks the layers (see ``SOURCE_KINDS``).
"""

from ptycho_config._sources.layer import SOURCE_KINDS, Entry, Layer, SourceKind

__all__ = ["SOURCE_KINDS", "Entry", "Layer", "SourceKind"]
