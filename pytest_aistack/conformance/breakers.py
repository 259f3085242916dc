"""Circuit breakers, watched in ``/health`` JSON and Prometheus ``/metrics`` while the
dependency behind them is cut through Toxiproxy and after it returns.

States are ``closed`` / ``open`` / ``half_open`` in ``/health`` (also accepted:
``half-open``, any case, or the numbers) and 0 / 1 / 2 in ``*_circuit_breaker_state
{service="NAME"}``. The observation:

1. before: closed in both;
2. the dependency's proxy disabled (connections refused), requests sent one by one:
   after ``failures`` of them the breaker is open in both, and the failures counter
   (``*_circuit_breaker_failures_total``) rose by at least ``failures``;
3. the proxy enabled again, no traffic: half-open in both within ``open_s`` (+ margin);
4. one request (the trial call): closed in both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_aistack.conformance.http import call
from pytest_aistack.conformance.profile import BreakerPromise
from pytest_aistack.conformance.prometheus import find_value, parse_samples
from pytest_aistack.conformance.servers import ServerUnderCheck

STATES = {"closed": 0, "open": 1, "half_open": 2}
MARGIN_S = 1.5
POLL_S = 0.05


def health_state(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value in STATES.values():
        return value
    if isinstance(value, str):
        return STATES.get(value.strip().lower().replace("-", "_"))
    return None


@dataclass
class Reading:
    health: int | None  # None: missing / unreadable
    metric: int | None
    failures: float | None
    raw_health: Any = None

    def both(self, state: int) -> bool:
        return self.health == state and self.metric == state

    def describe(self) -> str:
        names = {v: k for k, v in STATES.items()}

        def name(v: int | None) -> str:
            return names.get(v, "missing") if v is not None else "missing"

        return f"/health {self.raw_health!r} ({name(self.health)}), /metrics {name(self.metric)}"


@dataclass
class BreakerRun:
    server: str
    promise: BreakerPromise
    before: Reading | None = None
    while_down: Reading | None = None
    requests_sent: int = 0
    half_open: Reading | None = None  # the first reading with half-open in both
    last_after_restore: Reading | None = None
    after_trial: Reading | None = None
    trial_status: str = ""
    readings: list[tuple[float, Reading]] = field(default_factory=list)


def read_breaker(server: ServerUnderCheck, promise: BreakerPromise) -> Reading:
    health = call("GET", server.url + promise.health_path, timeout=2.0).json()
    raw: Any = health
    for key in promise.health_keys():
        raw = raw.get(key) if isinstance(raw, dict) else None
    metrics = call("GET", server.url + promise.metrics_path, timeout=2.0)
    samples = parse_samples(metrics.text if metrics.status == 200 else "")
    labels = {"service": promise.name}
    state = find_value(samples, promise.state_metric, labels)
    return Reading(
        health=health_state(raw),
        metric=int(state) if state is not None and state in (0, 1, 2) else None,
        failures=find_value(samples, promise.failures_metric, labels),
        raw_health=raw,
    )


def observe_breaker(
    server: ServerUnderCheck,
    promise: BreakerPromise,
    cut: Callable[[], None],
    restore: Callable[[], None],
) -> BreakerRun:
    run = BreakerRun(server.name, promise)
    run.before = read_breaker(server, promise)
    body = server.profile.body()
    cut()
    try:
        for _ in range(promise.failures + 3):
            call("POST", server.endpoint_url, json=body, timeout=10.0)
            run.requests_sent += 1
            run.while_down = read_breaker(server, promise)
            if run.requests_sent >= promise.failures and run.while_down.both(STATES["open"]):
                break
    finally:
        restore()
    restored = time.monotonic()
    while time.monotonic() < restored + promise.open_s + MARGIN_S:
        reading = read_breaker(server, promise)
        run.readings.append((time.monotonic() - restored, reading))
        run.last_after_restore = reading
        if reading.both(STATES["half_open"]):
            run.half_open = reading
            break
        time.sleep(POLL_S)  # ok: the sampling interval, no traffic on purpose
    trial = call("POST", server.endpoint_url, json=body, timeout=10.0)
    run.trial_status = trial.describe()
    until = time.monotonic() + MARGIN_S
    while True:
        run.after_trial = read_breaker(server, promise)
        if run.after_trial.both(STATES["closed"]) or time.monotonic() > until:
            break
        time.sleep(POLL_S)  # ok: as above
    return run


def _head(run: BreakerRun, promise: str) -> str:
    return f"{run.server}: promise {promise} broken"


def opening_problems(run: BreakerRun) -> list[str]:
    p = run.promise
    promise = (
        f"breaker {p.name} opens after {p.failures} failures (proxy {p.proxy} down), "
        "seen in /health and /metrics"
    )
    problems = []
    before = run.before
    assert before is not None
    if not before.both(STATES["closed"]):
        problems.append(f"{_head(run, promise)}: before the fault it read {before.describe()}")
    down = run.while_down
    if down is None or not down.both(STATES["open"]):
        seen = down.describe() if down is not None else "nothing"
        problems.append(
            f"{_head(run, promise)}: after {run.requests_sent} requests with the dependency "
            f"down it read {seen}"
        )
    elif before.failures is None or down.failures is None:
        problems.append(f'{_head(run, promise)}: no *_{p.failures_metric}{{service="{p.name}"}}')
    elif down.failures - before.failures < p.failures:
        problems.append(
            f"{_head(run, promise)}: the failures counter rose by "
            f"{down.failures - before.failures:g}, expected at least {p.failures}"
        )
    return problems


def recovery_problems(run: BreakerRun) -> list[str]:
    p = run.promise
    promise = (
        f"breaker {p.name} goes half-open within {p.open_s:g} s of the dependency's return, "
        "then closed after a successful call"
    )
    if run.half_open is None:
        last = run.last_after_restore.describe() if run.last_after_restore else "nothing"
        return [
            f"{_head(run, promise)}: no half-open in both within {p.open_s + MARGIN_S:g} s "
            f"of restoring proxy {p.proxy}; last read {last}"
        ]
    after = run.after_trial
    if after is None or not after.both(STATES["closed"]):
        seen = after.describe() if after is not None else "nothing"
        return [
            f"{_head(run, promise)}: after the trial request ({run.trial_status}) it read {seen}"
        ]
    return []
