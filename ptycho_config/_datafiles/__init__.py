"""Data files: bounded reads of NPZ headers and the pickled metadata form."""
