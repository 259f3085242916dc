"""Scenario 6: every deployment is cooling down and fallbacks are off: a fast 429."""

from __future__ import annotations

import time

import pytest

from pytest_aistack.chaos.faults import Chaos
from pytest_aistack.resilience.records import ScenarioRecord
from pytest_aistack.stack.handle import AIStack

pytestmark = pytest.mark.resilience

# LiteLLM's per-request switch; a user's gateway without it runs its fallbacks and this
# scenario then fails, saying so.
NO_FALLBACKS = {"disable_fallbacks": True}
FAST_S = 1.0


def test_all_cooling_429(stack: AIStack, chaos: Chaos, scenario: ScenarioRecord) -> None:
    policy = stack.policy
    group = stack.profile.primary_group
    down = [b.name for b in stack.profile.backends_of(group)]
    scenario.dependency = ", ".join(down)
    scenario.promise = "policy.cooldown_s"
    scenario.fault = f"proxies of {', '.join(down)} disabled until all cool down; fallbacks off"
    scenario.expected = (
        f"429 with retry-after <= {policy.cooldown_s:g}s, answered in < {FAST_S:g}s, no backend hit"
    )
    outages = [chaos.down(stack.proxy_of(name)).apply() for name in down]
    # Trip every deployment: each needs allowed_fails + 1 failures.
    deadline = time.monotonic() + policy.cooldown_s
    tripped = None
    sent = 0
    while time.monotonic() < deadline and tripped is None:
        r = stack.chat(extra=NO_FALLBACKS)
        sent += 1
        if r.status == 429:
            tripped = r
    assert tripped is not None, f"no 429 after {sent} requests within {policy.cooldown_s:g}s"
    scenario.observe(f"all deployments cooling after {sent} requests")

    # Backends reachable again: a request that reached one would now show in its log.
    for outage in outages:
        outage.remove()
    r = stack.chat(extra=NO_FALLBACKS)
    assert r.status == 429, r.describe()
    retry_after = r.headers.get("retry-after")
    assert retry_after is not None, f"429 without retry-after; headers: {dict(r.headers)}"
    assert 0 < float(retry_after) <= policy.cooldown_s, retry_after
    assert r.elapsed < FAST_S, r.describe()
    assert not stack.served(r.request_id), "the 429 request reached a backend"
    scenario.observe(f"429 retry-after={retry_after} in {r.elapsed * 1000:.0f} ms, no backend hit")
