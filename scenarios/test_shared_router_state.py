"""Gateway instances share router state: a cooldown tripped through one holds in the other."""

from __future__ import annotations

import time

import pytest

from pytest_aistack.chaos.faults import Chaos
from pytest_aistack.resilience.records import ScenarioRecord
from pytest_aistack.stack.handle import AIStack

pytestmark = pytest.mark.resilience

# LiteLLM's per-request switch, as in all_cooling_429: with fallbacks off, "every
# deployment is cooling" is a 429 instead of an answer from the fallback group.
NO_FALLBACKS = {"disable_fallbacks": True}
# The cooldown is recorded asynchronously after the failing request returns.
MARGIN_S = 0.6
REQUESTS = 3


def test_shared_router_state(stack: AIStack, chaos: Chaos, scenario: ScenarioRecord) -> None:
    policy = stack.policy
    first, *others = stack.gateway_urls
    if not others:
        pytest.skip(
            "one gateway instance: no replica to compare with (stack file gateway_replicas, "
            f"or gateway.replicas in {stack.profile.path})"
        )
    second = others[0]
    group = stack.profile.primary_group
    tripped = [b.name for b in stack.profile.backends_of(group)]
    scenario.dependency = ", ".join(tripped)
    scenario.promise = "policy.cooldown_s, policy.state_sync_s, gateway.replicas"
    scenario.fault = (
        f"proxies of {', '.join(tripped)} disabled until all cool down via gateway {first}"
    )
    scenario.expected = (
        f"from {policy.state_sync_s:g}s after the trip to the end of the cooldown "
        f"({policy.cooldown_s:g}s) no request through the other instance {second} reaches "
        f"{', '.join(tripped)}"
    )

    # Trip every deployment of the group through the first instance only: a request
    # through the second that reaches any of them shows it did not see the cooldown,
    # whatever its own routing would have picked.
    # The first request an instance serves takes 1-2 s (LiteLLM sets up its clients);
    # that is start-up, not routing, so each instance answers one before the fault.
    for url in stack.gateway_urls:
        stack.chat(gateway_url=url)
    outages = [chaos.down(stack.proxy_of(name)).apply() for name in tripped]
    # Each deployment trips after allowed_fails + 1 failures; a request may fail on two.
    most = len(tripped) * (policy.allowed_fails + 1) + 2
    cooling = None
    # The first deployment may trip with the first request: its cooldown counts from here.
    trip_started = time.monotonic()
    for sent in range(1, most + 1):
        r = stack.chat(extra=NO_FALLBACKS, gateway_url=first)
        if r.status == 429:
            scenario.observe(f"every deployment of {group!r} cooling via {first} after {sent}")
            cooling = r
            break
    assert cooling is not None, (
        f"cooldown promise: no 429 'all deployments cooling' via {first} after {most} "
        f"requests with {', '.join(tripped)} down (allowed_fails {policy.allowed_fails})"
    )

    # The deployments serve again: only the shared cooldown keeps traffic off them, once
    # it has reached the other instance. LiteLLM re-reads a cooldown it has not seen from
    # Redis once per DEFAULT_COOLDOWN_REDIS_READ_INTERVAL_SECONDS (router_utils/
    # cooldown_cache.py): the profile's state_sync_s.
    for outage in outages:
        outage.remove()
    synced_at = time.monotonic() + policy.state_sync_s
    window_end = trip_started + policy.cooldown_s - MARGIN_S
    if synced_at >= window_end:
        pytest.skip(
            f"policy.state_sync_s {policy.state_sync_s:g}s leaves no time within the cooldown "
            f"{policy.cooldown_s:g}s to check the other instance (raise cooldown_s)"
        )
    time.sleep(synced_at - time.monotonic())  # ok: the propagation delay the profile states
    results = [stack.chat(gateway_url=second) for _ in range(REQUESTS)]
    assert time.monotonic() < window_end, (
        f"{REQUESTS} requests took longer than the cooldown; raise policy.cooldown_s"
    )
    leaked = {r.request_id: sorted(set(stack.served(r.request_id)) & set(tripped)) for r in results}
    leaked = {rid: names for rid, names in leaked.items() if names}
    scenario.observe(
        f"via {second}: {', '.join(f'{r.status} via {r.served_by}' for r in results)}; "
        f"{len(leaked)}/{REQUESTS} reached a cooling deployment"
    )
    assert not leaked, (
        f"shared router state broken: gateway {second} sent requests to deployments "
        f"cooling down after tripping via {first}: {leaked} (the instances do not share "
        f"cooldowns within policy.state_sync_s = {policy.state_sync_s:g}s, e.g. through Redis)"
    )
