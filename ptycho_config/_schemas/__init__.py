"""Schemas and keys: field types, the frozen section models, the key registry."""
