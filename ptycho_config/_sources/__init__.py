"""Configuration sources. Each turns one kind of input into a ``Layer`` (``layer.py``):
qualified key → value. Precedence is only the order of ``SOURCE_KINDS`` (``kinds.py``).
"""
