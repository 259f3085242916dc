"""One ``requires_*`` requirement made concrete for a run's settings and a marker's options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_aistack.requires.probes import Probe


@dataclass(frozen=True)
class Target:
    name: str  # what a skip reason says is missing: "no vLLM at ...", "no anthropic API at ..."
    probe: Probe | None  # the request that finds out; None: nothing to ask over the network
    hint: str  # how to point the requirement elsewhere
    # A reason known before any request is made (an API key that is not set).
    unmet: str | None = None
