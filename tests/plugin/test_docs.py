"""The configuration reference documents every setting and every marker."""

from __future__ import annotations

from pathlib import Path

from pytest_aistack.plugin.markers import MARKERS
from pytest_aistack.settings import SETTING_SPECS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_setting_has_a_row() -> None:
    text = DOCS.read_text()
    missing = [spec.name for spec in SETTING_SPECS if f"| `{spec.name}` |" not in text]
    assert not missing, f"add these settings to {DOCS}: {missing}"


def test_every_requires_marker_is_documented() -> None:
    text = DOCS.read_text()
    missing = [
        spec.signature
        for spec in MARKERS
        if spec.name.startswith("requires_") and f"`{spec.signature}`" not in text
    ]
    assert not missing, f"document these markers in {DOCS}: {missing}"
