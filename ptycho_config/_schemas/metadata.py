"""The ``metadata`` a checkpoint snapshot or a report records beside its sections."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

METADATA_KEY = "metadata"


class Metadata(BaseModel, extra="forbid", strict=True, frozen=True):
    """What a checkpoint snapshot or a `--format json/yaml` report records beside its sections:
    no configuration, so rerunning from such a file takes its sections only."""

    schema_version: int
    kind: Literal["training", "inference"]
    fingerprint: str
    provenance: dict[str, dict[str, str]]  # qualified key → its source's kind and detail
    overrides_applied: dict[str, Any]
