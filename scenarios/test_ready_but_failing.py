"""Readiness honesty: "ready" must mean serving, and a ready backend that fails is taken out.

A health endpoint says a process is up, not that it can answer: a wrong model loaded, a
broken GPU or a full disk leave ``/health`` at 200 while every completion fails. So
(1) every deployment the stack reports ready must serve a real completion, and (2) when
one that still reports ready starts failing, the gateway's breaker — not its health —
must take it out of rotation before users notice.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from pytest_aistack.resilience.records import ScenarioRecord
from pytest_aistack.stack.ground_truth import MockAdmin
from pytest_aistack.stack.handle import AIStack

pytestmark = pytest.mark.resilience

# Failures a deployment may get before it trips, plus this many: the cooldown is recorded
# asynchronously after the failing request returns (docs/scenarios.md, breaker trigger).
ASYNC_SLACK = 1
MARGIN_S = 0.6
PROBE_TIMEOUT_S = 5.0
PROBE_MARGIN_S = 3.0


def test_ready_but_failing(stack: AIStack, scenario: ScenarioRecord) -> None:
    policy = stack.policy
    group = stack.profile.primary_group
    liar, *others = (b.name for b in stack.profile.backends_of(group))
    scenario.dependency = liar
    scenario.promise = "policy.allowed_fails, policy.num_retries"
    allowed_user_failures = 0 if policy.num_retries > 0 else policy.allowed_fails
    most = policy.allowed_fails + 1 + ASYNC_SLACK
    scenario.fault = f"{liar} answers every completion 500 while its /health stays 200"
    scenario.expected = (
        f"every deployment reported ready serves; then <= {allowed_user_failures} failed "
        f"requests and {liar} gets <= {most} requests (allowed_fails + 1 + {ASYNC_SLACK}) "
        f"within the cooldown {policy.cooldown_s:g}s"
    )

    # (1) The stack came up, so every service passed its readiness check: each deployment
    # must now answer a real completion. LiteLLM routes a request for a deployment's
    # model_info.id (the profile's backend name) to that deployment alone. The rate-limited
    # group is left out: a probe would spend its limit.
    probed = [
        name
        for name, backend in stack.profile.backends.items()
        if backend.model_group != policy.rate_limited_group
    ]
    broken = {}
    for name in probed:
        # The gateway forwards x-request-id per model group only, not for a deployment id:
        # the backend's own count of completions is the ground truth here.
        before = _completions(stack, name)
        r = stack.chat(model=name, deadline=policy.worst_case_s() + PROBE_MARGIN_S)
        reached = None if before is None else (_completions(stack, name) or 0) - before
        if r.status != 200 or reached == 0:
            answer = f"{r.status} {r.outcome.value} in {r.elapsed:.2f}s {_error_text(r.body)}"
            broken[name] = f"{answer.rstrip()} (completions reaching {name}: {reached})"
    assert not broken, (
        f"readiness honesty broken: reported ready (the stack's readiness checks passed) "
        f"but cannot serve a completion: {broken}"
    )
    scenario.observe(f"{', '.join(probed)}: each served a completion addressed to it")
    stack.reset_backends()

    # (2) One deployment fails every completion and still says it is healthy.
    if not others:
        pytest.skip(f"model group {group!r} has one deployment; nothing can take over")
    if not stack.has_admin(liar):
        pytest.skip(
            f"backend {liar!r} has no mock admin API to make it fail while it reports ready "
            f"(backends.{liar}.admin_url in {stack.profile.path})"
        )
    admin = stack.admin(liar)
    assert isinstance(admin, MockAdmin)  # has_admin above
    admin.add_fault("status,code=500,message=ready but failing")
    try:
        health = httpx.get(f"{admin.url}/health", timeout=PROBE_TIMEOUT_S)
        assert health.status_code == 200, f"premise: {liar}'s /health says {health.status_code}"
        started = time.monotonic()
        results = []
        while time.monotonic() < started + policy.cooldown_s - MARGIN_S:
            results.append(stack.chat())
        # attempts: requests with one id that reached the backend (a gateway's retries).
        received = sum(int(rec.get("attempts", 1)) for rec in admin.requests().values())
    finally:
        admin.reset()
    failures = [f"{r.status} {r.outcome.value}" for r in results if r.status != 200]
    scenario.observe(
        f"{len(results) - len(failures)}/{len(results)} ok in {policy.cooldown_s - MARGIN_S:.1f}s "
        f"while {liar} failed with /health 200; {liar} received {received}"
    )
    assert len(failures) <= allowed_user_failures, (
        f"a ready-but-failing {liar} failed {len(failures)} user requests (the policy allows "
        f"{allowed_user_failures}): {failures}"
    )
    assert received <= most, (
        f"a ready-but-failing {liar} stayed in rotation: it received {received} requests in "
        f"{policy.cooldown_s - MARGIN_S:.1f}s; the breaker (allowed_fails "
        f"{policy.allowed_fails}) should take it out after {policy.allowed_fails + 1}"
    )


def _completions(stack: AIStack, backend: str) -> int | None:
    """Completions ``backend`` has recorded (None: it has no admin API to ask)."""
    if not stack.has_admin(backend):
        return None
    return len(stack.admin(backend).requests())


def _error_text(body: dict[str, Any] | None) -> str:
    error = (body or {}).get("error")
    message = error.get("message", "") if isinstance(error, dict) else ""
    return str(message).splitlines()[0][:160] if message else ""
