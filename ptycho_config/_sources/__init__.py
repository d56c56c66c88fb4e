"""Configuration sources, each turning one kind of input into a ``Layer`` (``layer.py``)."""
