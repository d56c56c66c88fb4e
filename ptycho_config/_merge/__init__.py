"""The merge: layers in precedence order into one configuration with provenance."""
