"""The reference pages are generated from the schemas and must match them."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from ptycho_config._schemas.registry import KEYS
from tools.reference_pages import PAGES

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference"


class TestReferencePages:
    """docs/reference cannot drift from the code."""

    @pytest.mark.parametrize("name", sorted(PAGES))
    def test_page_is_current(self, name: str) -> None:
        """The committed page equals what the generator writes now."""
        committed = (REFERENCE / name).read_text(encoding="utf-8")
        assert committed == PAGES[name](), (
            f"docs/reference/{name} is stale: run python tools/reference_pages.py docs/reference"
        )

    def test_every_key_is_documented(self) -> None:
        """Each key and its environment variable appear in the pages."""
        fields = PAGES["fields.md"]()
        environment = PAGES["environment.md"]()
        for key in KEYS.values():
            assert f"`{key.qualified}`" in fields
            assert f"`{key.env}`" in environment


DOCTESTED = [
    "README.md",
    "docs/precedence.md",
    "docs/environment.md",
    "docs/errors.md",
    "docs/data-files.md",
]


class TestExamples:
    """The examples in the README and the docs run and print what they show."""

    @pytest.mark.parametrize("name", DOCTESTED)
    def test_examples_run(self, name: str) -> None:
        """Every >>> example in the page gives the output written under it."""
        path = REFERENCE.parents[1] / name
        result = doctest.testfile(
            str(path), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE
        )
        assert result.attempted > 0
        assert result.failed == 0
