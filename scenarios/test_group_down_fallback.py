"""Scenario 2: every deployment of the primary group is down; the fallback group serves."""

from __future__ import annotations

import time

import pytest

from pytest_aistack.chaos.faults import Chaos
from pytest_aistack.stack.handle import AIStack
from pytest_aistack.stack.records import ScenarioRecord

pytestmark = pytest.mark.resilience

REQUESTS = 6
# Connection set-up, the fallback's own answer and gateway overhead on a shared machine.
MARGIN_S = 2.0


def test_group_down_fallback(stack: AIStack, chaos: Chaos, scenario: ScenarioRecord) -> None:
    policy = stack.policy
    group, *fallbacks = stack.profile.fallback_chain()
    if not fallbacks:
        pytest.skip(f"model group {group!r} has no fallbacks in {stack.profile.path}")
    fallback_backends = [b.name for b in stack.profile.backends_of(fallbacks[0])]
    down = [b.name for b in stack.profile.backends_of(group)]
    bound = policy.worst_case_s(hops=1) + MARGIN_S
    scenario.dependency = ", ".join(down)
    scenario.promise = f"model_groups.{group}.fallbacks, policy.timeout_s, policy.num_retries"
    scenario.fault = f"proxies of {', '.join(down)} disabled (whole group {group!r} down)"
    scenario.expected = (
        f"every request answered by {fallbacks[0]!r} ({', '.join(fallback_backends)}) "
        f"within {bound:.1f}s; gateway headers and backend logs agree"
    )
    for name in down:
        chaos.down(stack.proxy_of(name)).apply()

    results, windows = [], []
    for _ in range(REQUESTS):
        sent_at = time.time()  # wall clock, as the ground truth's records are
        results.append(stack.chat())
        windows.append((sent_at, time.time()))
    for r, window in zip(results, windows, strict=True):
        assert r.status == 200, r.describe()
        assert r.elapsed <= bound, f"{r.describe()} exceeds the bound {bound:.1f}s"
        truth = stack.served(r.request_id, between=window)
        # Ground truth: exactly one backend produced the answer, and it is a fallback.
        assert truth, f"{r.request_id} appears in no backend's log"
        assert set(truth) <= set(fallback_backends), (r.request_id, truth)
        # The gateway's own account must agree with the backend logs.
        assert r.served_by in truth, f"header says {r.served_by}, backend logs say {truth}"
    scenario.ground_truth = stack.ground_truth([*down, *fallback_backends])
    slowest = max(r.elapsed for r in results)
    attempted = [r.headers.get("x-litellm-attempted-fallbacks", "?") for r in results]
    scenario.observe(
        f"{REQUESTS}/{REQUESTS} served by {sorted({r.served_by or '?' for r in results})}, "
        f"slowest {slowest:.2f}s; x-litellm-attempted-fallbacks {attempted}"
    )
    scenario.observe(scenario.ground_truth)
