"""Graceful drain on SIGTERM, on a fresh instance the harness started (and so may end).

The observation starts an instance, waits until it serves, opens a short stream
(``short_request``, which ends well within the drain timeout) and a long one
(``long_request``, which outlasts it), sends SIGTERM, then at once tries a new request
and ``/readyz``, and waits for the process to exit. The promises:

- the short in-flight stream finishes (complete, ``[DONE]``), SIGTERM does not cut it;
- new work is refused after SIGTERM: 503 or a refused connection; ``/readyz`` not 200;
- the process exits within ``drain.timeout_s`` (plus a margin), even with the long
  stream still running: the drain has a deadline.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from pytest_aistack.conformance.http import Answer, BackgroundStream, call
from pytest_aistack.conformance.profile import DrainPromise, StartupPromise
from pytest_aistack.conformance.servers import ServerUnderCheck
from pytest_aistack.runtime.process import ProcessError
from pytest_aistack.runtime.waiting import WaitTimeout, wait_until

EXIT_MARGIN_S = 1.5
STREAM_START_S = 10.0


@dataclass
class Drain:
    server: str
    promise: DrainPromise
    short: BackgroundStream | None = None
    new_request: Answer | None = None
    readyz: Answer | None = None
    exited_after: float | None = None  # seconds from SIGTERM to exit; None: still running
    exit_code: int | None = None
    setup_problem: str | None = None
    readiness_path: str = "/readyz"


def observe_drain(
    server: ServerUnderCheck, promise: DrainPromise, startup: StartupPromise | None
) -> Drain:
    observed = Drain(server.name, promise, readiness_path=server.profile.readiness_path)
    ready_within = startup.ready_within_s if startup is not None else 30.0
    profile = server.profile
    with server.fresh_instance(ready_within) as instance:
        url = instance.url + profile.endpoint
        try:
            wait_until(
                lambda: call("POST", url, json=profile.body(), timeout=2.0).status == 200,
                timeout=ready_within,
                what=f"a fresh {server.name} instance to serve a request",
                interval=0.05,
            )
        except WaitTimeout as exc:
            observed.setup_problem = str(exc)
            return observed
        long = BackgroundStream(url, profile.body(profile.long_request), deadline_s=60.0)
        short = BackgroundStream(url, profile.body(profile.short_request), deadline_s=60.0)
        observed.short = short
        try:
            for stream, which in ((short, "short_request"), (long, "long_request")):
                if not stream.wait_answered(STREAM_START_S) or stream.status != 200:
                    observed.setup_problem = f"the {which} did not start: {stream.describe()}"
                    return observed
            os.kill(instance.pid, signal.SIGTERM)
            signalled = time.monotonic()
            observed.new_request = call("POST", url, json=profile.body(), timeout=2.0)
            observed.readyz = call("GET", instance.url + profile.readiness_path, timeout=1.0)
            try:
                observed.exit_code = instance.process.wait_exit(promise.timeout_s + EXIT_MARGIN_S)
                observed.exited_after = time.monotonic() - signalled
            except ProcessError:  # still running; fresh_instance stops it on leaving
                observed.exited_after = None
            short.join(5.0)
        finally:
            long.release()
            short.release()
            long.join(5.0)
    return observed


def _broken(observed: Drain, promise: str, what: str) -> str:
    return f"{observed.server}: promise {promise} broken: {what}"


def inflight_problems(observed: Drain) -> list[str]:
    if observed.setup_problem:
        return [_broken(observed, "drain", observed.setup_problem)]
    short = observed.short
    assert short is not None
    if not short.complete:
        return [
            _broken(
                observed,
                "graceful drain (in-flight streams finish after SIGTERM)",
                f"the in-flight short_request stream ended {short.describe()}",
            )
        ]
    return []


def refusal_problems(observed: Drain) -> list[str]:
    if observed.setup_problem:
        return [_broken(observed, "drain", observed.setup_problem)]
    problems = []
    promise = "drain refuses new work (503 or connection refused after SIGTERM)"
    new = observed.new_request
    assert new is not None
    if not (new.status == 503 or new.refused):
        problems.append(_broken(observed, promise, f"a new request got {new.describe()}"))
    readyz = observed.readyz
    if readyz is not None and readyz.status == 200:
        path = observed.readiness_path
        problems.append(_broken(observed, promise, f"{path} still answered 200 after SIGTERM"))
    return problems


def exit_problems(observed: Drain) -> list[str]:
    if observed.setup_problem:
        return [_broken(observed, "drain", observed.setup_problem)]
    bound = observed.promise.timeout_s + EXIT_MARGIN_S
    promise = f"drain.timeout_s (exit within {observed.promise.timeout_s:g} s of SIGTERM)"
    if observed.exited_after is None:
        return [
            _broken(
                observed,
                promise,
                f"still running {bound:g} s after SIGTERM with the long_request in flight "
                "(stopped with SIGKILL)",
            )
        ]
    return []
