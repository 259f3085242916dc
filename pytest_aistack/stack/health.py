"""Wait until services answer their health check — polling with a deadline, never sleeping blind.

Backend-neutral: a :class:`HealthTarget` is a host/port and a
:class:`~pytest_aistack.stack.spec.HealthCheck`; how the service was started does not
matter. Each probe has its own short timeout, bounded by what is left of the deadline.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from pytest_aistack.errors import StackError
from pytest_aistack.runtime.waiting import WaitTimeout, wait_until
from pytest_aistack.stack.spec import HealthCheck

# Polling starts fast (most of our services are up in tens of ms) and backs off so a
# slow starter (LiteLLM, ~5 s) is not hammered.
_FIRST_INTERVAL = 0.02
_MAX_INTERVAL = 0.25
_PROBE_TIMEOUT = 1.0


class HealthTimeout(StackError, TimeoutError):
    """Some services were not healthy by the deadline (or exited); the message lists each."""

    def __init__(self, failures: Mapping[str, str], timeout: float) -> None:
        self.failures = dict(failures)
        lines = "\n".join(f"- {name}: {why}" for name, why in sorted(self.failures.items()))
        super().__init__(f"not healthy within {timeout:.1f} s:\n{lines}")


@dataclass(frozen=True)
class HealthTarget:
    host: str
    port: int
    check: HealthCheck


def probe(target: HealthTarget, timeout: float = _PROBE_TIMEOUT) -> str | None:
    """Run one health probe; ``None`` if healthy, else why not."""
    kind = target.check.kind
    try:
        if kind == "http":
            url = f"http://{target.host}:{target.port}{target.check.path}"
            response = httpx.get(url, timeout=timeout)
            if 200 <= response.status_code < 300:
                return None
            return f"GET {url} answered {response.status_code}"
        with socket.create_connection((target.host, target.port), timeout=timeout) as sock:
            if kind == "tcp":
                return None
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
            if reply.startswith(b"+PONG"):
                return None
            return f"redis PING answered {reply!r}"
    except (OSError, httpx.HTTPError) as exc:
        return f"{type(exc).__name__}: {exc}"


def wait_until_healthy(
    targets: Mapping[str, HealthTarget],
    timeout: float,
    *,
    exited: Callable[[str], str | None] = lambda name: None,
) -> dict[str, float]:
    """Poll every target until healthy; return seconds each took.

    ``exited(name)`` lets the caller report a service whose process (or container)
    has died — then waiting further is pointless and we fail at once with that reason.
    """
    start = time.monotonic()
    deadline = start + timeout
    pending = dict(targets)
    last_error: dict[str, str] = dict.fromkeys(targets, "not probed yet")
    took: dict[str, float] = {}

    def all_healthy() -> bool:
        """Probe each pending target once; true when none is left."""
        for name, target in list(pending.items()):
            dead = exited(name)
            if dead is not None:
                raise HealthTimeout({name: dead}, time.monotonic() - start)
            remaining = deadline - time.monotonic()
            error = probe(target, timeout=max(0.05, min(_PROBE_TIMEOUT, remaining)))
            if error is None:
                took[name] = time.monotonic() - start
                del pending[name]
            else:
                last_error[name] = error
        return not pending

    try:
        wait_until(
            all_healthy,
            timeout=timeout,
            what="services to be healthy",
            interval=_FIRST_INTERVAL,
            max_interval=_MAX_INTERVAL,
        )
    except WaitTimeout:
        raise HealthTimeout({n: last_error[n] for n in pending}, timeout) from None
    return took
