"""One mock instance: its settings, counters, faults, slots, dependency and lifecycle.

What every endpoint reads: the generation path (``engine.py``) and the other endpoints
(``info.py``) alike. The lifecycle is ``loading`` (for ``warmup_s``, and until the
dependency answered once) -> ``ready`` -> ``draining`` (after SIGTERM).
"""

from __future__ import annotations

import time
from typing import Any

from .admission import Slots
from .config import MockConfig
from .dependency import Dependency
from .faults import FaultRegistry
from .plan import Plan
from .planning import JSON, error_body, json_bytes
from .stats import LatenessHistogram, Stats


class MockInstance:
    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.stats = Stats(config.name, config.max_recorded_requests)
        self.faults = FaultRegistry()
        self.lateness = LatenessHistogram()
        self.admin_token = config.admin_token
        self.slots = Slots(config)
        self.draining = False
        self._started = time.monotonic()
        self._ready_at = self._started + config.warmup_s
        self.base_headers = [("x-mock-backend", config.name)]
        self.off = config.disabled  # behaviours switched off (behaviours.py)
        self.dependency = (
            Dependency(
                config.dependency_name or config.dependency_url.partition(":")[0],
                config.dependency_url,
                config.dependency_timeout_s,
                config.breaker_failures,
                config.breaker_open_s,
            )
            if config.dependency_url
            else None
        )

    # lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """(Re)start the warm-up clock: the instance is 'loading' for ``warmup_s``."""
        self._started = time.monotonic()
        self._ready_at = self._started + self.config.warmup_s
        if self.dependency is not None:
            self.dependency.start()

    @property
    def state(self) -> str:
        if self.draining:
            return "draining"
        if time.monotonic() < self._ready_at or self.waiting_for_dependency:
            return "loading"
        return "ready"

    @property
    def waiting_for_dependency(self) -> bool:
        """Not ready before the dependency answered once (health-ordered start)."""
        dep = self.dependency
        return dep is not None and not dep.reached and "dependency_readiness" not in self.off

    @property
    def in_flight(self) -> int:
        return self.slots.in_flight

    @property
    def queued(self) -> int:
        return self.slots.queued

    def begin_drain(self) -> None:
        """SIGTERM: refuse new generation, reject the queue, let in-flight requests run."""
        self.draining = True
        self.slots.reject_waiting()

    async def wait_idle(self, within_s: float | None) -> bool:
        return await self.slots.wait_idle(within_s)

    # simple answers ------------------------------------------------------------

    def json_plan(
        self, status: int, value: Any, extra: list[tuple[str, str]] | None = None
    ) -> Plan:
        headers = [("content-type", JSON), *self.base_headers, *(extra or [])]
        return Plan(status, headers, body=json_bytes(value))

    def error_plan(
        self,
        status: int,
        message: str,
        param: str | None = None,
        code: Any = None,
        *,
        ollama: bool = False,
        extra: list[tuple[str, str]] | None = None,
    ) -> Plan:
        headers = [("content-type", JSON), *self.base_headers, *(extra or [])]
        return Plan(status, headers, body=error_body(status, message, param, code, ollama))
