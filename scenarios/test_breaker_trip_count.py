"""Scenario 7: the breaker trips after exactly ``allowed_fails + 1`` failed requests."""

from __future__ import annotations

import time

import pytest

from pytest_aistack.chaos.faults import Chaos
from pytest_aistack.resilience.breakers import COOLDOWN_MARGIN_S
from pytest_aistack.resilience.records import ScenarioRecord
from pytest_aistack.stack.gateway_call import ChatResult
from pytest_aistack.stack.ground_truth import attempts
from pytest_aistack.stack.handle import AIStack

pytestmark = pytest.mark.resilience

# One attempt per request, no fallback (LiteLLM's per-request switches): every request the
# router sends to the broken deployment is one failure there, in its ground truth. (With
# retries on, LiteLLM counts only a request's first failure: docs/scenarios.md.)
ONE_ATTEMPT = {"num_retries": 0, "disable_fallbacks": True}


def test_breaker_trip_count(stack: AIStack, chaos: Chaos, scenario: ScenarioRecord) -> None:
    policy = stack.policy
    group = stack.profile.primary_group
    broken, *others = (b.name for b in stack.profile.backends_of(group))
    if not others:
        pytest.skip(f"model group {group!r} has one deployment; nothing can take over")
    # A reset answer surfaces as LiteLLM's InternalServerError ("Connection error.").
    allowed_fails = policy.allowed_fails_policy.get(
        "InternalServerErrorAllowedFails", policy.allowed_fails
    )
    trip_at = allowed_fails + 1
    # Enough requests for the router to reach the broken deployment trip_at times, then
    # as many again: a breaker that trips late shows as failures after the trip point.
    reach_limit = 4 * trip_at + 4
    quiet_requests = 2 * trip_at + 2
    scenario.dependency = broken
    scenario.promise = "policy.allowed_fails, policy.allowed_fails_policy"
    scenario.fault = f"reset_peer on {broken}'s proxy: every answer reset (the request reaches it)"
    scenario.expected = (
        f"{broken} gets exactly allowed_fails+1 = {trip_at} failing requests, then none "
        f"in the next {quiet_requests} (within its cooldown); the other deployments serve the rest"
    )
    cooldown = stack.profile.cooldown_of(broken)
    stack.require_ground_truth([broken])  # before any fault: a skip says what is missing
    truth = stack.admin(broken)
    chaos.reset_peer(stack.proxy_of(broken)).apply()

    sent: list[ChatResult] = []
    failing: list[str] = []  # ids of the requests that reached the broken deployment
    tries = 0  # attempts those requests made there

    failed_at: list[float] = []  # monotonic time each of them returned

    def send() -> None:
        nonlocal tries
        sent_at = time.time()
        result = stack.chat(extra=ONE_ATTEMPT)
        sent.append(result)
        made = attempts(truth, result.request_id, (sent_at, time.time()))
        if made:
            failing.append(result.request_id)
            failed_at.append(time.monotonic())
            tries += made

    while len(failing) < trip_at and len(sent) < reach_limit:
        send()
    reached_by = len(sent)
    if len(failing) == trip_at:
        # LiteLLM keeps the fail count for cooldown_time: failures further apart than
        # that need not trip the breaker at all.
        if failed_at[-1] - failed_at[0] >= cooldown:
            pytest.skip(
                f"the {trip_at} failures took {failed_at[-1] - failed_at[0]:.1f}s, longer "
                f"than the fail count lives (cooldown {cooldown:g}s): too slow to tell"
            )
        # Within the cooldown only: after it the deployment may rightly get traffic again.
        quiet_until = failed_at[-1] + cooldown - COOLDOWN_MARGIN_S
        for _ in range(quiet_requests):
            if time.monotonic() >= quiet_until:
                break
            send()
    scenario.observe(
        f"{broken} got {len(failing)} of {len(sent)} requests ({trip_at} of the first "
        f"{reached_by}); users saw {sum(r.status != 200 for r in sent)} errors"
    )
    scenario.ground_truth = stack.ground_truth([broken])
    scenario.observe(scenario.ground_truth)
    assert len(failing) >= trip_at, (
        f"policy.allowed_fails={allowed_fails} promised a trip after {trip_at} failing "
        f"requests: {broken} got only {len(failing)} of {len(sent)} requests (tripped early, "
        "or the router sent it too little traffic to tell)"
    )
    assert len(failing) == trip_at, (
        f"policy.allowed_fails={allowed_fails} promised: {broken} got {len(failing)} "
        f"failing requests before cooldown, not {trip_at} (the breaker trips late)"
    )
    assert tries == len(failing), (
        f"the gateway retried although the requests asked for no retries ({tries} attempts "
        f"at {broken} for {len(failing)} requests): the trip count cannot be read exactly"
    )
    bad = [r.describe() for r in sent if r.request_id not in failing and r.status != 200]
    assert not bad, f"requests the healthy deployments {others} should have served failed: {bad}"
