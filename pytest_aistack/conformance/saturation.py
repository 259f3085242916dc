"""Saturation: bounded concurrency, the queue timeout (429) and load shedding (503).

The observation fills the server's ``max_concurrency`` slots with long requests
(``long_request``), then ``queue_depth`` more that must wait in its queue, then one
over the depth. The promises:

- the queued requests are answered 429 after ``queue_timeout_s`` (not before it, and
  within a margin after it): the queue wait is bounded;
- the one over the depth is answered 503 within ``shed_within_s``: shed at once;
- both rejections carry ``Retry-After``, an integer in ``[1, retry_after_max_s]``
  (RFC 9110 10.2.3: delay-seconds; a value the client can act on).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pytest_aistack.conformance.http import Answer, BackgroundStream, call
from pytest_aistack.conformance.profile import SaturationPromise
from pytest_aistack.conformance.servers import ServerUnderCheck

# How much later than the promised queue timeout a 429 may come (a busy machine).
QUEUE_MARGIN_S = 1.0
# How much earlier: timers round, and the client's clock starts before the server's.
QUEUE_EARLY_S = 0.1
ADMIT_WAIT_S = 10.0


@dataclass
class Saturation:
    server: str
    promise: SaturationPromise
    holders: list[BackgroundStream] = field(default_factory=list)
    queued: list[BackgroundStream] = field(default_factory=list)
    over_depth: Answer | None = None
    setup_problem: str | None = None


def observe_saturation(server: ServerUnderCheck, promise: SaturationPromise) -> Saturation:
    observed = Saturation(server.name, promise)
    long_body = server.profile.body(server.profile.long_request)
    # A request is in a slot once its answer has started (status line), not while queued.
    wait_s = promise.queue_timeout_s + QUEUE_MARGIN_S + 30.0
    try:
        for i in range(promise.max_concurrency):
            holder = BackgroundStream(server.endpoint_url, long_body, deadline_s=wait_s)
            observed.holders.append(holder)
            if not holder.wait_answered(ADMIT_WAIT_S) or holder.status != 200:
                observed.setup_problem = (
                    f"slot {i + 1} of {promise.max_concurrency} (saturation.max_concurrency) "
                    f"was not admitted: the long request got {holder.describe()}"
                )
                return observed
        bound = promise.queue_timeout_s + QUEUE_MARGIN_S
        for _ in range(promise.queue_depth):
            observed.queued.append(
                BackgroundStream(server.endpoint_url, server.profile.body(), deadline_s=bound)
            )
        # The queued requests must be waiting before the next one can be over the depth.
        _settle(observed.queued)
        observed.over_depth = call(
            "POST",
            server.endpoint_url,
            json=server.profile.body(),
            timeout=promise.queue_timeout_s + QUEUE_MARGIN_S,
        )
        for queued in observed.queued:
            queued.join(bound + 1.0)
    finally:
        for stream in [*observed.holders, *observed.queued]:
            stream.release()
        for stream in [*observed.holders, *observed.queued]:
            stream.join(5.0)
    return observed


def _settle(queued: list[BackgroundStream]) -> None:
    """Give the queued requests a moment to reach the server's queue."""
    for stream in queued:
        stream.wait_answered(0.15)


def _broken(observed: Saturation, promise: str, what: str) -> str:
    return f"{observed.server}: promise {promise} broken: {what}"


def queue_timeout_problems(observed: Saturation) -> list[str]:
    p = observed.promise
    if observed.setup_problem:
        return [_broken(observed, "saturation.max_concurrency", observed.setup_problem)]
    if not observed.queued:
        return []
    promise = (
        f"saturation.queue_timeout_s (a queued request gets 429 after {p.queue_timeout_s:g} s)"
    )
    low, high = p.queue_timeout_s - QUEUE_EARLY_S, p.queue_timeout_s + QUEUE_MARGIN_S
    problems = []
    for i, queued in enumerate(observed.queued, 1):
        at = queued.answered_at
        if queued.status != 429 or at is None:
            problems.append(
                _broken(observed, promise, f"queued request {i} got {queued.describe()}")
            )
        elif not low <= at <= high:
            problems.append(
                _broken(
                    observed,
                    promise,
                    f"queued request {i} got 429 after {at:.2f} s, outside [{low:g}, {high:g}] s",
                )
            )
    return problems


def shedding_problems(observed: Saturation) -> list[str]:
    p = observed.promise
    if observed.setup_problem:
        return [_broken(observed, "saturation.max_concurrency", observed.setup_problem)]
    answer = observed.over_depth
    assert answer is not None
    promise = (
        f"load shedding (a request over saturation.queue_depth={p.queue_depth} gets 503 "
        f"within {p.shed_within_s:g} s)"
    )
    if answer.status != 503 or answer.elapsed > p.shed_within_s:
        return [_broken(observed, promise, f"it got {answer.describe()}")]
    return []


def retry_after_problems(observed: Saturation) -> list[str]:
    p = observed.promise
    if observed.setup_problem:
        return [_broken(observed, "saturation.max_concurrency", observed.setup_problem)]
    promise = f"Retry-After on 429/503 (an integer in [1, {p.retry_after_max_s:g}] s)"
    rejections: list[tuple[str, int | None, dict[str, str]]] = [
        (f"queued request {i}", q.status, q.headers) for i, q in enumerate(observed.queued, 1)
    ]
    if observed.over_depth is not None:
        answer = observed.over_depth
        rejections.append(("the request over the queue depth", answer.status, dict(answer.headers)))
    problems = []
    for label, status, headers in rejections:
        if status not in (429, 503):
            continue  # the status is the other checks' business
        value = headers.get("retry-after")
        if value is None:
            problems.append(_broken(observed, promise, f"{label}: {status} without Retry-After"))
        elif not value.isdigit() or not 1 <= int(value) <= p.retry_after_max_s:
            problems.append(
                _broken(observed, promise, f"{label}: {status} with Retry-After {value!r}")
            )
    return problems
