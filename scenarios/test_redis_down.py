"""Scenario 4: Redis is down; chat still works (cache misses) and caching returns with it."""

from __future__ import annotations

import time
import uuid

import pytest

from pytest_aistack.stack.handle import AIStack, ProxyControl
from pytest_aistack.stack.records import ScenarioRecord

pytestmark = pytest.mark.resilience

# LiteLLM's opt-in per request when the cache runs in mode default_off.
USE_CACHE = {"cache": {"use-cache": True}}
# Redis reconnects lazily; how long the gateway may take to use it again.
RECONNECT_DEADLINE_S = 10.0


def test_redis_down(stack: AIStack, proxies: ProxyControl, scenario: ScenarioRecord) -> None:
    if stack.profile.redis_proxy is None:
        pytest.skip(f"no redis.proxy in {stack.profile.path}")
    if stack.policy.cache_ttl_s is None:
        pytest.skip("the policy promises no response cache (policy.cache_ttl_s)")
    bound = stack.policy.worst_case_s(hops=1) + 2.0
    scenario.fault = "proxy of redis disabled, then enabled again"
    scenario.expected = (
        f"requests succeed within {bound:.1f}s while Redis is down (cache misses reach a "
        "backend); after it returns, a repeated prompt is served from the cache"
    )
    proxies.set_enabled(stack.profile.redis_proxy, False)
    prompt = f"cache me {uuid.uuid4().hex}"
    down = [stack.chat(prompt=prompt, unique=False, extra=USE_CACHE) for _ in range(3)]
    for r in down:
        assert r.status == 200, r.describe()
        assert r.elapsed <= bound, f"{r.describe()} exceeds {bound:.1f}s"
        # A miss: some backend really produced this answer.
        assert stack.served(r.request_id), f"{r.request_id} reached no backend"
    scenario.observe(
        f"Redis down: {len(down)}/{len(down)} ok, all reached a backend, slowest "
        f"{max(r.elapsed for r in down):.2f}s"
    )

    proxies.set_enabled(stack.profile.redis_proxy, True)
    prompt = f"cache me again {uuid.uuid4().hex}"
    deadline = time.monotonic() + RECONNECT_DEADLINE_S
    hit = None
    attempts = 0
    while time.monotonic() < deadline:
        attempts += 1
        r = stack.chat(prompt=prompt, unique=False, extra=USE_CACHE)
        assert r.status == 200, r.describe()
        if not stack.served(r.request_id):
            hit = r  # answered with no backend involved: a cache hit
            break
    assert hit is not None, f"no cache hit within {RECONNECT_DEADLINE_S:g}s of Redis returning"
    scenario.observe(f"Redis back: cache hit on attempt {attempts} ({hit.elapsed:.2f}s)")
