"""Start and readiness: what a fresh instance answers from its first second until ready.

The observation polls ``/healthz``, ``/readyz`` (the server's ``liveness_path`` and
``readiness_path``) and one real request in turn, from process start until ``/readyz``
says 200 and a request succeeds (or the promised time runs out). The checks then read
the samples:

- liveness: ``/healthz`` is 200 whenever the server answers at all (a liveness probe
  that fails during model load gets the pod killed before it is ever ready);
- readiness: ``/readyz`` is 503 while requests are refused and 200 within
  ``ready_within_s``; it never says 200 while a request is refused as loading;
- refusal: a request during loading is answered 503 within ``refusal_within_s``, not
  held until the model is loaded.

Health-ordered start (:func:`observe_dependency_order`): with the dependencies' proxies
down, a fresh instance must not report ready; once they are back, it must.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pytest_aistack.conformance.http import Answer, call
from pytest_aistack.conformance.profile import StartupPromise
from pytest_aistack.conformance.servers import Instance, ServerUnderCheck

SAMPLE_PAUSE_S = 0.05
PROBE_TIMEOUT_S = 1.0


@dataclass
class Sample:
    at: float  # seconds since the process was started
    healthz: Answer
    readyz: Answer
    request: Answer

    @property
    def answering(self) -> bool:
        return any(a.status is not None for a in (self.healthz, self.readyz, self.request))

    @property
    def loading(self) -> bool:
        """The request was refused (503) or held: the server is not serving yet."""
        return self.request.status == 503 or self.request.timed_out

    def line(self, live: str, ready: str) -> str:
        def short(a: Answer) -> str:
            return str(a.status) if a.status is not None else ("timeout" if a.timed_out else "-")

        return (
            f"{self.at:5.2f} s  {live} {short(self.healthz)}  {ready} {short(self.readyz)}  "
            f"request {short(self.request)} ({self.request.elapsed:.2f} s)"
        )


@dataclass
class Timeline:
    server: str
    promise: StartupPromise
    live: str  # the liveness path
    ready: str  # the readiness path
    samples: list[Sample] = field(default_factory=list)
    ready_at: float | None = None  # first sample with /readyz 200 and a request served

    def table(self, limit: int = 14) -> str:
        shown = self.samples if len(self.samples) <= limit else [
            *self.samples[: limit - 4], *self.samples[-4:]
        ]  # fmt: skip
        return "\n".join("    " + s.line(self.live, self.ready) for s in shown)


def observe_start(server: ServerUnderCheck, promise: StartupPromise) -> Timeline:
    profile = server.profile
    timeline = Timeline(server.name, promise, profile.liveness_path, profile.readiness_path)
    with server.fresh_instance(promise.ready_within_s) as instance:
        _sample_until(instance, server, timeline, promise.ready_within_s + 1.0)
    return timeline


def _sample_until(
    instance: Instance, server: ServerUnderCheck, timeline: Timeline, within_s: float
) -> None:
    body = server.profile.body()
    deadline = instance.started + within_s
    while time.monotonic() < deadline:
        healthz = call("GET", instance.url + timeline.live, timeout=PROBE_TIMEOUT_S)
        readyz = call("GET", instance.url + timeline.ready, timeout=PROBE_TIMEOUT_S)
        request = call(
            "POST",
            instance.url + server.profile.endpoint,
            json=body,
            timeout=timeline.promise.refusal_within_s,
        )
        sample = Sample(time.monotonic() - instance.started, healthz, readyz, request)
        timeline.samples.append(sample)
        if readyz.status == 200 and request.status is not None and request.status < 300:
            timeline.ready_at = sample.at
            return
        time.sleep(SAMPLE_PAUSE_S)  # ok: the sampling interval of the observation


def _broken(timeline: Timeline, promise: str, what: str) -> str:
    return (
        f"{timeline.server}: promise {promise} broken: {what}\n"
        f"  samples (time since start, status of each probe):\n{timeline.table()}"
    )


def liveness_problems(timeline: Timeline) -> list[str]:
    bad = [s for s in timeline.samples if s.answering and s.healthz.status != 200]
    if not bad:
        return []
    first = bad[0]
    return [
        _broken(
            timeline,
            f"liveness ({timeline.live} 200 while the model loads)",
            f"{timeline.live} answered {first.healthz.describe()} at {first.at:.2f} s while the "
            "server was up; liveness must not wait for readiness",
        )
    ]


def readiness_problems(timeline: Timeline) -> list[str]:
    problems = []
    lying = [s for s in timeline.samples if s.readyz.status == 200 and s.request.status == 503]
    if lying:
        s = lying[0]
        problems.append(
            _broken(
                timeline,
                f"readiness ({timeline.ready} 503 during model load)",
                f"{timeline.ready} said 200 at {s.at:.2f} s while a request was refused "
                f"({s.request.describe()})",
            )
        )
    if timeline.ready_at is None:
        problems.append(
            _broken(
                timeline,
                f"startup.ready_within_s ({timeline.promise.ready_within_s:g} s)",
                f"no {timeline.ready} 200 with a request served within it",
            )
        )
    return problems


def refusal_problems(timeline: Timeline) -> list[str]:
    bound = timeline.promise.refusal_within_s
    for s in timeline.samples:
        if s.request.timed_out or (s.request.status is not None and s.request.status >= 300
                                   and s.request.status != 503):  # fmt: skip
            return [
                _broken(
                    timeline,
                    f"startup.refusal_within_s (503 within {bound:g} s while loading)",
                    f"the request at {s.at:.2f} s got {s.request.describe()}",
                )
            ]
    return []


def loading_observed(timeline: Timeline) -> bool:
    return any(s.loading for s in timeline.samples if s.answering)


@dataclass
class DependencyOrder:
    server: str
    proxies: tuple[str, ...]
    held_s: float
    ready_while_down: Sample | None = None
    ready_after: float | None = None  # seconds from restoring the proxies to /readyz 200
    samples: list[Sample] = field(default_factory=list)


def observe_dependency_order(
    server: ServerUnderCheck,
    promise: StartupPromise,
    cut: Callable[[], None],
    restore: Callable[[], None],
) -> DependencyOrder:
    """Start with the dependencies cut for ``dependency_wait_s``, then restore them."""
    order = DependencyOrder(server.name, promise.dependency_proxies, promise.dependency_wait_s)
    cut()
    try:
        with server.fresh_instance(promise.ready_within_s) as instance:
            ready_url = instance.url + server.profile.readiness_path
            until = instance.started + promise.dependency_wait_s
            while time.monotonic() < until:
                readyz = call("GET", ready_url, timeout=PROBE_TIMEOUT_S)
                sample = Sample(time.monotonic() - instance.started, readyz, readyz, readyz)
                order.samples.append(sample)
                if readyz.status == 200:
                    order.ready_while_down = sample
                    break
                time.sleep(SAMPLE_PAUSE_S)  # ok: the sampling interval of the observation
            restore()
            restored = time.monotonic()
            while time.monotonic() < restored + promise.ready_within_s:
                if call("GET", ready_url, timeout=PROBE_TIMEOUT_S).status == 200:
                    order.ready_after = time.monotonic() - restored
                    break
                time.sleep(SAMPLE_PAUSE_S)  # ok: as above
    finally:
        restore()
    return order


def dependency_order_problems(order: DependencyOrder, ready_within_s: float) -> list[str]:
    proxies = ", ".join(order.proxies)
    promise = f"health-ordered start (not ready before its dependencies: {proxies})"
    if order.ready_while_down is not None:
        return [
            f"{order.server}: promise {promise} broken: readiness said 200 at "
            f"{order.ready_while_down.at:.2f} s after start while the proxies {proxies} "
            "were down"
        ]
    if order.ready_after is None:
        return [
            f"{order.server}: promise {promise} broken: not ready within {ready_within_s:g} s "
            f"(startup.ready_within_s) after its dependencies came back"
        ]
    return []
