"""The markers pytest-aistack registers, their signatures, and their typed options.

The ``requires_*`` markers come from the table of kinds
(:data:`pytest_aistack.requires.kinds.KINDS`); the others are listed here. A marker's
arguments become a keyword-only, frozen options object
(:func:`pytest_aistack.requires.options.options_from_marker`); anything else is a
``TypeError`` that names the marker, the offending argument and the accepted ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_aistack.requires.kinds import KINDS
from pytest_aistack.requires.options import NoOptions, options_from_marker

if TYPE_CHECKING:
    import pytest


@dataclass(frozen=True)
class MarkerSpec:
    name: str
    signature: str
    help: str
    options: type[Any]


MARKERS: tuple[MarkerSpec, ...] = (
    MarkerSpec(
        "resilience",
        "resilience",
        "a resilience scenario: faults are injected into the stack (select: -m resilience)",
        NoOptions,
    ),
    MarkerSpec(
        "conformance",
        "conformance",
        "a serving-stack conformance check: a promise of the servers in the profile's "
        "conformance: section (select: -m conformance; docs/conformance.md)",
        NoOptions,
    ),
    MarkerSpec(
        "load",
        "load",
        "a load test: drives traffic through the stack (select: -m load)",
        NoOptions,
    ),
    *(MarkerSpec(kind.marker, kind.signature, kind.help, kind.options) for kind in KINDS),
)

MARKERS_BY_NAME = {spec.name: spec for spec in MARKERS}


def register_markers(config: pytest.Config) -> None:
    for spec in MARKERS:
        config.addinivalue_line("markers", f"{spec.signature}: {spec.help}")


def marker_options(mark: pytest.Mark) -> Any:
    """The options object for one applied pytest-aistack marker (``TypeError`` on misuse)."""
    return options_from_marker(mark, MARKERS_BY_NAME[mark.name].options)
