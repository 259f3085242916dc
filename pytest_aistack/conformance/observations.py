"""Observations made once per (kind, server) and read by several checks.

One start timeline serves the liveness, readiness and refusal checks; one saturation
run the 429, 503 and Retry-After checks; one drain the three drain checks. Each check
is its own test, so a report names exactly the promise that is broken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Observations:
    """Observations made once per (kind, server) and read by several checks."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, str], Any] = {}

    def get(self, kind: str, server: str, make: Callable[[], T]) -> T:
        key = (kind, server)
        if key not in self._made:
            self._made[key] = make()
        value: T = self._made[key]
        return value
