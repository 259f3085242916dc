"""An upstream dependency of the mock, called through a circuit breaker.

With ``--dependency-url redis://HOST:PORT`` (a Redis PING) or ``http://HOST:PORT/PATH``
(a GET that must answer 2xx) every generation request first calls the dependency, as a
service that looks something up in a cache or another service would. The calls go
through a breaker with the usual three states (the pattern as in Nygard's *Release
It!* and libraries such as pybreaker):

- ``closed``: calls go through; ``--breaker-failures`` consecutive failures open it;
- ``open``: requests fail fast (503) without calling the dependency, for ``--breaker-open-s``;
- ``half_open``: after that time the next request is a trial call; success closes the
  breaker, failure opens it again. With no request, it stays half-open.

State and failures are exposed in ``GET /health`` (``circuit_breakers``) and
``GET /metrics`` (``mock_llm_circuit_breaker_state{service=...}`` 0/1/2 and
``mock_llm_circuit_breaker_failures_total``). Until the dependency has answered once
the instance reports not ready (health-ordered start; ``--disable dependency_readiness``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from urllib.parse import urlsplit

STATE_VALUES = {"closed": 0, "open": 1, "half_open": 2}
START_PROBE_INTERVAL_S = 0.1


class CircuitBreaker:
    def __init__(
        self, failure_threshold: int, open_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failure_threshold = failure_threshold  # 0: never opens
        self.open_s = open_s
        self.failures_total = 0
        self._clock = clock
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.open_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a call go to the dependency now? Half-open lets one trial call through."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def success(self) -> None:
        self._consecutive = 0
        self._opened_at = None
        self._trial_running = False

    def failure(self) -> None:
        self.failures_total += 1
        self._consecutive += 1
        if self._trial_running or (
            self.failure_threshold and self._consecutive >= self.failure_threshold
        ):
            self._opened_at = self._clock()  # a failed trial opens it again
        self._trial_running = False


async def probe(url: str, timeout_s: float) -> str | None:
    """Call the dependency once; None if it answered, else what went wrong."""
    try:
        return await asyncio.wait_for(_probe(url), timeout_s)
    except TimeoutError:
        return f"no answer within {timeout_s:g} s"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"


async def _probe(url: str) -> str | None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    reader, writer = await asyncio.open_connection(host, port or 80)
    try:
        if parts.scheme == "redis":
            writer.write(b"PING\r\n")
            line = await reader.readline()
            return None if line.startswith(b"+PONG") else f"PING answered {line[:80]!r}"
        path = parts.path or "/"
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        status_line = await reader.readline()
        fields = status_line.split()
        if len(fields) >= 2 and fields[1].startswith(b"2"):
            return None
        return f"GET {path} answered {status_line.strip()[:80]!r}"
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class Dependency:
    """The dependency, its breaker and whether it has been reached since start."""

    def __init__(
        self, name: str, url: str, timeout_s: float, failure_threshold: int, open_s: float
    ) -> None:
        self.name = name
        self.url = url
        self.timeout_s = timeout_s
        self.breaker = CircuitBreaker(failure_threshold, open_s)
        self.reached = False
        self._start_probe: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Probe until the dependency answers once (the instance is not ready before)."""
        self.reached = False
        if self._start_probe is not None:
            self._start_probe.cancel()
        self._start_probe = asyncio.get_running_loop().create_task(self._probe_until_reached())

    async def _probe_until_reached(self) -> None:
        while not self.reached:
            if await probe(self.url, self.timeout_s) is None:
                self.reached = True
                return
            await asyncio.sleep(START_PROBE_INTERVAL_S)  # ok: the retry pause of a probe loop

    def stop(self) -> None:
        if self._start_probe is not None:
            self._start_probe.cancel()

    async def call(self) -> str | None:
        """One call through the breaker: None, or the reason to refuse the request."""
        if not self.breaker.allow():
            return f"dependency {self.name} is unavailable (circuit breaker open); retry later"
        problem = await probe(self.url, self.timeout_s)
        if problem is None:
            self.breaker.success()
            self.reached = True
            return None
        self.breaker.failure()
        return f"dependency {self.name} failed: {problem}; retry later"

    def health_json(self) -> dict[str, dict[str, object]]:
        return {self.name: {"state": self.breaker.state, "failures": self.breaker.failures_total}}

    def prometheus(self) -> str:
        label = f'{{service="{self.name}"}}'
        return (
            "\n".join(
                [
                    "# HELP mock_llm_circuit_breaker_state Breaker state: 0 closed, 1 open, "
                    "2 half-open.",
                    "# TYPE mock_llm_circuit_breaker_state gauge",
                    f"mock_llm_circuit_breaker_state{label} {STATE_VALUES[self.breaker.state]}",
                    "# HELP mock_llm_circuit_breaker_failures_total Failed dependency calls.",
                    "# TYPE mock_llm_circuit_breaker_failures_total counter",
                    f"mock_llm_circuit_breaker_failures_total{label} {self.breaker.failures_total}",
                ]
            )
            + "\n"
        )
