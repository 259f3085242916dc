"""Over its rpm limit, a model group is refused fast and says when to retry."""

from __future__ import annotations

import time

import pytest

from pytest_aistack.resilience.breakers import BreakerWindow
from pytest_aistack.resilience.records import ScenarioRecord
from pytest_aistack.stack.gateway_call import ChatResult
from pytest_aistack.stack.handle import AIStack

pytestmark = pytest.mark.resilience

# Sending rpm + 1 requests one after another must fit in one window.
MAX_REQUESTS = 20
# A served request takes ~0.2 s; a refused one max_hold_s. Reserve this much of the window.
RESERVE_PER_REQUEST_S = 1.0
# The client's own deadline past the promised hold, so a gateway that holds a request
# for the whole window is reported, not waited for.
CLIENT_MARGIN_S = 4.0


def test_rate_limit(stack: AIStack, scenario: ScenarioRecord, breakers: BreakerWindow) -> None:
    policy = stack.policy
    group, rpm = policy.rate_limited_group, policy.rpm
    if group is None or rpm is None:
        pytest.skip(
            f"the policy promises no rate limit (policy.rate_limit in {stack.profile.path})"
        )
    if rpm + 1 > MAX_REQUESTS:
        pytest.skip(
            f"policy.rate_limit.rpm {rpm} needs {rpm + 1} requests in one window; this scenario "
            f"sends at most {MAX_REQUESTS} (give a test model group a small rpm)"
        )
    window, hold, header = policy.rate_window_s, policy.rate_max_hold_s, policy.retry_after_header
    scenario.dependency = group
    scenario.promise = "policy.rate_limit"
    scenario.fault = f"{rpm + 1} requests to {group!r} in one {window:g}s window (no fault)"
    scenario.expected = (
        f"at most {rpm} served; the rest answered 429 within {hold:g}s with "
        f"{header}: 0 < s <= {window:g}, reaching no backend"
    )
    _start_of_a_window(window, needed_s=(rpm + 1) * (RESERVE_PER_REQUEST_S + hold))
    # No fault: nothing this scenario does can trip a deployment the others use (a
    # refusal may cool the rate-limited deployment, which only this scenario calls).
    breakers.settled()

    # Through every gateway instance in turn: the limit is the group's, not an instance's.
    # The first request an instance serves takes 1-2 s (LiteLLM sets up its clients):
    # start-up, not holding, so each answers one request to another group first.
    urls = stack.gateway_urls
    for url in urls:
        stack.chat(gateway_url=url)
    results: list[ChatResult] = []
    for i in range(rpm + 1):
        r = stack.chat(
            model=group, gateway_url=urls[i % len(urls)], deadline=hold + CLIENT_MARGIN_S
        )
        results.append(r)
        if r.status is None:
            break  # held past the client's deadline: no need to wait for the others
    served = [r for r in results if r.status == 200]
    refused = [r for r in results if r.status == 429]
    scenario.observe(
        f"{len(served)} served, {len(refused)} refused via {len(urls)} instance(s): "
        + ", ".join(_short(r) for r in results)
    )

    assert results[0].status == 200, (
        f"rate limit promise: the first request of a window was not served: "
        f"{results[0].describe()} (was {group!r} used in this window already?)"
    )
    # A served request may take its time; an answer over the limit may not.
    held = [r for r in results if r.status is None or (r.status != 200 and r.elapsed > hold)]
    assert not held, (
        f"rate limit promise: requests over the limit must be answered within "
        f"policy.rate_limit.max_hold_s = {hold:g}s; held: {[_short(r) for r in held]}"
    )
    assert len(served) <= rpm, (
        f"rate limit not enforced: {len(served)} of {len(results)} requests to {group!r} "
        f"served in one window ({', '.join(_short(r) for r in results)}); "
        f"policy.rate_limit.rpm promises at most {rpm}"
    )
    others = [_short(r) for r in results if r.status not in (200, 429)]
    assert not others, f"over the limit: expected 429, got {others}"
    for r in refused:
        value = r.headers.get(header)
        assert value is not None, (
            f"a 429 without {header} (policy.rate_limit.retry_after_header); "
            f"headers: {dict(r.headers)}"
        )
        assert 0 < float(value) <= window, f"{header}: {value}, expected 0 < s <= {window:g}"
        reached = stack.served(r.request_id)
        assert not reached, f"a refused request reached {reached}: {_short(r)}"
    scenario.observe(
        f"429s in <= {max(r.elapsed for r in refused):.2f}s, "
        f"{header}: {sorted({str(r.headers.get(header)) for r in refused})}"
    )


def _start_of_a_window(window_s: float, *, needed_s: float) -> None:
    """Wait for the next window when this one ends too soon for the whole check.

    LiteLLM counts rpm per calendar minute (key ``<id>:<model>:rpm:%H-%M``,
    router_strategy/lowest_tpm_rpm_v2.py); requests that straddle a boundary would be
    counted in two windows. A sliding window needs no wait; the wait is harmless there.
    """
    left = window_s - time.time() % window_s
    if left < needed_s:
        time.sleep(left + 0.05)  # ok: waits out the gateway's counting window, a fixed clock


def _short(r: ChatResult) -> str:
    return f"{r.status if r.status is not None else 'no answer'} in {r.elapsed:.2f}s"
