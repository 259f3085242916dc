"""Scenario 3: a deployment slower than the per-attempt timeout; nobody waits unbounded."""

from __future__ import annotations

import pytest

from pytest_aistack.chaos.faults import Chaos
from pytest_aistack.resilience.records import ScenarioRecord
from pytest_aistack.stack.handle import AIStack

pytestmark = pytest.mark.resilience

REQUESTS = 4
MARGIN_S = 2.0


def test_slow_backend_timeout(stack: AIStack, chaos: Chaos, scenario: ScenarioRecord) -> None:
    policy = stack.policy
    group = stack.profile.primary_group
    slow = stack.profile.backends_of(group)[0].name
    # Slower than the timeout by a clear distance, so a success from it is impossible.
    latency_ms = int((policy.timeout_s + 2.0) * 1000)
    bound = (policy.num_retries + 1) * policy.timeout_s + MARGIN_S
    scenario.dependency = slow
    scenario.promise = "policy.timeout_s, policy.num_retries"
    scenario.fault = f"latency {latency_ms} ms on {slow}'s proxy (timeout {policy.timeout_s:g}s)"
    scenario.expected = (
        f"every request answered 200 by another deployment or a fallback within "
        f"(retries+1) x timeout + {MARGIN_S:g}s = {bound:.1f}s"
    )
    chaos.latency(stack.proxy_of(slow), ms=latency_ms).apply()

    # A deadline well past the bound: if the gateway waited unbounded we still return.
    results = [stack.chat(deadline=bound + 10) for _ in range(REQUESTS)]
    for r in results:
        assert r.status == 200, r.describe()
        assert r.elapsed <= bound, f"{r.describe()} exceeds {bound:.1f}s"
        assert r.served_by != slow, f"{r.describe()}: the slow deployment cannot have answered"
    scenario.observe(
        f"{REQUESTS}/{REQUESTS} ok, slowest {max(r.elapsed for r in results):.2f}s, served by "
        f"{sorted({r.served_by or '?' for r in results})}"
    )
