"""10,000 unrelated environment variables: what they add to resolution, against pydantic-settings.

Budget: at most 50% of what they add to a plain `BaseSettings` with the same fields. Each
timing is the fastest of its batches: the four are taken at different moments.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from _timing import best_seconds, report
from pydantic import create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from ptycho_config import resolve_training
from ptycho_config._schemas.registry import keys_of

UNRELATED = 10_000


def settings_class() -> type[BaseSettings]:
    fields: dict[str, Any] = {}
    for key in keys_of("training").values():
        fields.setdefault(key.name, (key.info.annotation, key.default))
    return create_model(  # type: ignore[call-overload, no-any-return]
        "SameFields",
        __base__=BaseSettings,
        __config__=None,
        **fields,
    )


def measure() -> tuple[float, float]:
    settings = settings_class()
    settings.model_config = SettingsConfigDict(env_prefix="PTYCHO_", extra="ignore")

    def ours() -> object:
        return resolve_training()

    def theirs() -> object:
        return settings()

    base_ours = best_seconds(ours, repeat=21, number=20)
    base_theirs = best_seconds(theirs, repeat=21, number=20)
    os.environ.update({f"UNRELATED_VARIABLE_{i}": str(i) for i in range(UNRELATED)})
    try:
        loaded_ours = best_seconds(ours, repeat=21, number=20)
        loaded_theirs = best_seconds(theirs, repeat=21, number=20)
    finally:
        for i in range(UNRELATED):
            del os.environ[f"UNRELATED_VARIABLE_{i}"]
    print(
        f"     resolve_training: {base_ours * 1e6:.0f} -> {loaded_ours * 1e6:.0f} us; "
        f"BaseSettings ({len(settings.model_fields)} fields): "
        f"{base_theirs * 1e6:.0f} -> {loaded_theirs * 1e6:.0f} us"
    )
    return loaded_ours - base_ours, loaded_theirs - base_theirs


def main() -> bool:
    added_ours, added_theirs = measure()
    ratio = added_ours / added_theirs
    detail = f"(+{added_ours * 1e6:.0f} us vs +{added_theirs * 1e6:.0f} us)"
    return report("10k unrelated env vars, added cost ratio", ratio, 0.5, "x", detail)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
