"""Scenario 4: Redis is down; chat still works, and caching in Redis returns with it."""

from __future__ import annotations

import time
import uuid

import pytest

from pytest_aistack.chaos.faults import Chaos
from pytest_aistack.resilience.records import ScenarioRecord
from pytest_aistack.stack.handle import AIStack, redis_command

pytestmark = pytest.mark.resilience

# LiteLLM's opt-in per request when the cache runs in mode default_off.
USE_CACHE = {"cache": {"use-cache": True}}
MARGIN_S = 5.0


def test_redis_down(stack: AIStack, chaos: Chaos, scenario: ScenarioRecord) -> None:
    policy = stack.policy
    if stack.profile.redis_proxy is None:
        pytest.skip(f"no redis.proxy in {stack.profile.path}")
    if policy.cache_ttl_s is None:
        pytest.skip("the policy promises no response cache (policy.cache_ttl_s)")
    bound = policy.worst_case_s(hops=1) + 2.0
    recovery = policy.redis_recovery_s + MARGIN_S
    scenario.dependency = "redis"
    scenario.promise = "policy.cache_ttl_s, policy.redis_recovery_s"
    scenario.fault = "proxy of redis disabled, then enabled again"
    scenario.expected = (
        f"requests succeed within {bound:.1f}s while Redis is down; within "
        f"{recovery:g}s of its return, responses are cached in Redis and served from it"
    )

    outage = chaos.down(stack.profile.redis_proxy).apply()
    prompt = f"cache me {uuid.uuid4().hex}"
    during = [stack.chat(prompt=prompt, unique=False, extra=USE_CACHE) for _ in range(3)]
    during += [stack.chat() for _ in range(3)]
    for r in during:
        assert r.status == 200, r.describe()
        assert r.elapsed <= bound, f"{r.describe()} exceeds {bound:.1f}s"
    reached = sum(1 for r in during[:3] if stack.served(r.request_id))
    scenario.observe(
        f"Redis down: {len(during)}/{len(during)} ok, slowest "
        f"{max(r.elapsed for r in during):.2f}s; the same cached prompt 3x reached a backend "
        f"{reached}x (the rest came from the gateway's in-process cache)"
    )

    outage.remove()
    returned_at = time.monotonic()
    hit = None
    while hit is None and time.monotonic() < returned_at + recovery:
        prompt = f"cache me again {uuid.uuid4().hex}"
        first = stack.chat(prompt=prompt, unique=False, extra=USE_CACHE)
        again = stack.chat(prompt=prompt, unique=False, extra=USE_CACHE)
        assert first.status == 200, first.describe()
        assert again.status == 200, again.describe()
        key = again.headers.get("x-litellm-cache-key")
        in_redis = (
            key is not None
            and stack.redis_url is not None
            and redis_command(stack.redis_url, "EXISTS", key) == b":1"
        )
        # A hit: no backend saw the repeat; and Redis (ground truth) holds the entry.
        if not stack.served(again.request_id) and (in_redis or stack.redis_url is None):
            hit = again
    assert hit is not None, f"no cache hit stored in Redis within {recovery:g}s of its return"
    scenario.observe(
        f"Redis back: cached in Redis and hit {time.monotonic() - returned_at:.1f}s after it "
        "returned"
    )
