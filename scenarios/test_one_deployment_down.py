"""Scenario 1: one deployment of the primary group is down; the breaker takes it out."""

from __future__ import annotations

import time

import pytest

from pytest_aistack.chaos.faults import Chaos
from pytest_aistack.resilience.breakers import BreakerWindow
from pytest_aistack.resilience.records import ScenarioRecord
from pytest_aistack.stack.handle import AIStack

pytestmark = pytest.mark.resilience

# Time the gateway needs to act on a failure (the cooldown is recorded asynchronously,
# after the failing request returns) and to notice a cooldown has ended.
MARGIN_S = 0.6


def test_one_deployment_down(
    stack: AIStack, chaos: Chaos, scenario: ScenarioRecord, breakers: BreakerWindow
) -> None:
    policy = stack.policy
    group = stack.profile.primary_group
    down, *healthy = (b.name for b in stack.profile.backends_of(group))
    if not healthy:
        pytest.skip(f"model group {group!r} has one deployment; nothing can take over")
    stack.require_ground_truth([down])  # before any fault: a skip says what is missing
    allowed_user_failures = 0 if policy.num_retries > 0 else policy.allowed_fails
    scenario.dependency = down
    scenario.promise = "policy.allowed_fails, policy.cooldown_s, policy.num_retries"
    scenario.fault = f"proxy of {down} disabled (connection refused)"
    scenario.expected = (
        f"<= {allowed_user_failures} failed requests; {down} gets no traffic for "
        f"cooldown {policy.cooldown_s:g}s after it trips, traffic again after it"
    )

    # Phase 1: the deployment is down. Enough requests to trip the breaker.
    with chaos.down(stack.proxy_of(down)):
        trip_started = time.monotonic()
        tripping = [stack.chat() for _ in range(2 * (policy.allowed_fails + 1) + 2)]
    failures = [r.describe() for r in tripping if r.status != 200]
    scenario.observe(
        f"{len(tripping) - len(failures)}/{len(tripping)} ok while {down} was down "
        f"(served by {sorted({r.served_by or '?' for r in tripping})})"
    )
    assert len(failures) <= allowed_user_failures, failures

    # Phase 2: the deployment is healthy again but must stay in cooldown: ground truth
    # (its request log, or its proxy's ledger) shows no request during the window.
    truth = stack.admin(down)
    window_end = trip_started + policy.cooldown_s - MARGIN_S
    window_started_at = time.time()
    during = []
    while time.monotonic() < window_end:
        during.append(stack.chat())
    assert during, "the tripping phase took longer than the cooldown; raise cooldown_s"
    reached = truth.requests_between(window_started_at, time.time())
    leaked = sorted(str(record.get("request_id") or "(no request id)") for record in reached)
    scenario.observe(f"{len(during)} requests during cooldown, {len(leaked)} reached {down}")
    assert all(r.status == 200 for r in during), [r.describe() for r in during]
    assert not leaked, f"{down} received requests during its cooldown: {leaked}"

    # Phase 3: after the cooldown, the deployment gets traffic again.
    back_deadline = trip_started + policy.cooldown_s + policy.cooldown_s + 2 * MARGIN_S
    served_again_at = None
    while time.monotonic() < back_deadline:
        sent_at = time.time()
        result = stack.chat()
        assert result.status == 200, result.describe()
        if truth.saw(result.request_id, between=(sent_at, time.time())):
            served_again_at = time.monotonic() - trip_started
            break
    assert served_again_at is not None, (
        f"{down} got no traffic within {back_deadline - trip_started:.1f}s of tripping"
    )
    scenario.observe(f"{down} served again {served_again_at:.1f}s after it tripped")
    scenario.ground_truth = stack.ground_truth([down])
    scenario.observe(scenario.ground_truth)
    breakers.settled()  # the only tripped deployment is serving again
