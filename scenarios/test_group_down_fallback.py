"""Scenario 2, once per fallback chain of the profile: each group of the chain goes down
in turn, and the next group of the chain serves."""

from __future__ import annotations

import time

import pytest

from pytest_aistack.chaos.faults import Chaos, Fault
from pytest_aistack.resilience.records import ScenarioRecord
from pytest_aistack.stack.handle import AIStack

pytestmark = pytest.mark.resilience

REQUESTS = 6  # per hop of the chain
# Connection set-up, the fallback's own answer and gateway overhead on a shared machine.
MARGIN_S = 2.0


def test_group_down_fallback(
    stack: AIStack, chaos: Chaos, scenario: ScenarioRecord, fallback_chain: tuple[str, ...]
) -> None:
    profile = stack.profile
    if len(fallback_chain) < 2:
        pytest.skip(f"no model group has fallbacks in {profile.path}")
    group = fallback_chain[0]
    hops = list(enumerate(fallback_chain[1:], start=1))
    stack.require_ground_truth(b.name for g in fallback_chain for b in profile.backends_of(g))
    scenario.dependency = f"model groups of the chain {' -> '.join(fallback_chain)}"
    scenario.promise = f"model_groups.{group}.fallbacks, policy.timeout_s, policy.num_retries"
    scenario.fault = (
        f"whole groups down in turn: {', '.join(fallback_chain[:-1])} (their proxies disabled)"
    )
    scenario.expected = (
        f"requests to {group!r}: with the first k groups of the chain down, every answer comes "
        f"from group k+1 within policy.worst_case_s(hops=k) + {MARGIN_S:g}s; gateway headers "
        "and backend ground truth agree"
    )

    down: list[str] = []
    outages: dict[str, Fault] = {}
    checked: list[str] = []
    for hop, serving_group in hops:
        for name in (b.name for b in profile.backends_of(fallback_chain[hop - 1])):
            proxy = stack.proxy_of(name)
            if proxy not in outages:
                outages[proxy] = chaos.down(proxy).apply()
            down.append(name)
        down_proxies = set(outages)
        serving = [
            b.name for b in profile.backends_of(serving_group) if b.proxy not in down_proxies
        ]
        if not serving:
            scenario.observe(
                f"hop {hop} ({serving_group!r}) not checked: all its deployments share a proxy "
                "with a group already down"
            )
            continue
        _check_hop(stack, scenario, group, hop, serving_group, serving, down)
        checked.append(serving_group)
    assert checked, f"no hop of the chain {fallback_chain} could be checked (shared proxies)"
    scenario.ground_truth = stack.ground_truth(sorted(set(down) | _backends(stack, checked)))
    scenario.observe(scenario.ground_truth)


def _check_hop(
    stack: AIStack,
    scenario: ScenarioRecord,
    group: str,
    hop: int,
    serving_group: str,
    serving: list[str],
    down: list[str],
) -> None:
    bound = stack.policy.worst_case_s(hops=hop) + MARGIN_S
    results, windows = [], []
    for _ in range(REQUESTS):
        sent_at = time.time()  # wall clock, as the ground truth's records are
        results.append(stack.chat(model=group))
        windows.append((sent_at, time.time()))
    proxies = {stack.profile.backends[name].proxy for name in serving}
    same_proxy = {n for n, b in stack.profile.backends.items() if b.proxy in proxies}
    where = f"hop {hop}: {', '.join(down)} down, {serving_group!r} ({', '.join(serving)}) promised"
    for r, window in zip(results, windows, strict=True):
        assert r.status == 200, f"{where}: {r.describe()}"
        assert r.elapsed <= bound, f"{where}: {r.describe()} exceeds the bound {bound:.1f}s"
        truth = stack.served(r.request_id, between=window)
        # Ground truth: the answer came from the group this hop promises, nothing else.
        # Deployments behind one proxy (one server, two ids) cannot be told apart there.
        assert truth, f"{where}: {r.request_id} appears in no backend's ground truth"
        assert set(truth) <= same_proxy, f"{where}: {r.request_id} served by {truth}"
        # The gateway's own account must agree with the backends'.
        assert r.served_by in truth, f"{where}: header says {r.served_by}, ground truth {truth}"
    slowest = max(r.elapsed for r in results)
    attempted = sorted({r.headers.get("x-litellm-attempted-fallbacks", "?") for r in results})
    scenario.observe(
        f"hop {hop}: {REQUESTS}/{REQUESTS} served by "
        f"{sorted({r.served_by or '?' for r in results})} ({serving_group!r}), slowest "
        f"{slowest:.2f}s; x-litellm-attempted-fallbacks {attempted}"
    )


def _backends(stack: AIStack, groups: list[str]) -> set[str]:
    return {b.name for g in groups for b in stack.profile.backends_of(g)}
