"""A named profile (e.g. 'ci'): its values below the file, its contract keys pinned."""

from __future__ import annotations

from dataclasses import dataclass

from ptycho_config._schemas.profiles import get_profile
from ptycho_config._schemas.registry import PAYLOAD_SECTIONS, PayloadKind, lookup
from ptycho_config._sources.kinds import SourceKind
from ptycho_config._sources.layer import Layer


@dataclass(frozen=True)
class ProfileSource:
    """The values of one profile; keys of sections the payload lacks are left out."""

    name: str
    kind: SourceKind = "profile"

    def read(self, payload: PayloadKind) -> Layer:
        profile = get_profile(self.name)
        sections = PAYLOAD_SECTIONS[payload]
        layer = Layer(self.kind, payload)
        for key, value in profile.values.items():
            if key.split(".", 1)[0] in sections:
                layer.add(lookup(key, payload), key, value, profile.name)
        layer.pinned = frozenset(k for k in profile.pinned if k in layer.entries)
        return layer
