"""The ``metadata`` a checkpoint snapshot or a report records beside its sections."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

METADATA_KEY = "metadata"
# The layout this library writes; version 1 snapshots kept the sections under training_config
# and execution_config, the rest at the top level.
SCHEMA_VERSION = 2


def _readable(version: int) -> int:
    if not 1 <= version <= SCHEMA_VERSION:
        fix = "upgrade ptycho-config" if version > SCHEMA_VERSION else "schema versions start at 1"
        raise ValueError(f"this ptycho-config reads versions 1 to {SCHEMA_VERSION} ({fix})")
    return version


class Metadata(BaseModel, extra="forbid", strict=True, frozen=True):
    """What a checkpoint snapshot or a `--format json/yaml` report records beside its sections:
    no configuration, so rerunning from such a file takes its sections only."""

    schema_version: Annotated[
        int,
        AfterValidator(_readable),
        Field(json_schema_extra={"minimum": 1, "maximum": SCHEMA_VERSION}),
    ]
    kind: Literal["training", "inference"]
    fingerprint: str
    provenance: dict[str, dict[str, str]]  # qualified key → its source's kind and detail
    overrides_applied: dict[str, Any]
