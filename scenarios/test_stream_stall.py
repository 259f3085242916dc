"""Scenario 9: a stream stalls mid-way; the gateway must end it within its stream timeout."""

from __future__ import annotations

import pytest

from pytest_aistack.chaos.faults import Chaos
from pytest_aistack.resilience.records import ScenarioRecord
from pytest_aistack.stack.handle import AIStack

# The stall sits on every backend the request could land on; the router picks one.
pytestmark = [pytest.mark.resilience, pytest.mark.chaos(assert_all_faults_exercised=False)]

REQUESTS = 2
# limit_data passes this many bytes from the backend, then the stream ends there: the
# response head (~150 B), the first chunk with the role (~390 B) and a few tokens.
STALL_AFTER_BYTES = 1000
# The time to the stall (connection, first tokens) and gateway overhead on a shared machine.
MARGIN_S = 2.0
# After the client has given up, so the stall looks endless to the gateway.
CLIENT_PATIENCE_S = 5.0


def test_stream_stall(stack: AIStack, chaos: Chaos, scenario: ScenarioRecord) -> None:
    chain = stack.profile.fallback_chain()
    backends = [b.name for g in chain for b in stack.profile.backends_of(g)]
    timeouts = {name: stack.profile.timeout_of(name, stream=True) for name in backends}
    bound = max(timeouts.values()) + MARGIN_S
    deadline = bound + CLIENT_PATIENCE_S
    scenario.dependency = ", ".join(backends)
    scenario.promise = "policy.stream_timeout_s"
    scenario.fault = (
        f"limit_data {STALL_AFTER_BYTES} B + slow_close {deadline + 5:g}s on "
        f"{', '.join(backends)}: the first tokens, then silence with the connection open"
    )
    scenario.expected = (
        f"the gateway ends each stream within stream_timeout_s + {MARGIN_S:g}s <= {bound:.1f}s "
        "(an error event or a close), never a complete-looking answer"
    )
    # limit_data first, slow_close after it in the chain: limit_data ends the stream after
    # its bytes and slow_close holds that end back (toxiproxy toxics/limit_data.go,
    # slow_close.go), so nothing more arrives and nothing closes.
    for proxy in dict.fromkeys(stack.proxy_of(name) for name in backends):
        chaos.cut_after_bytes(proxy, STALL_AFTER_BYTES).apply()
        chaos.slow_close(proxy, int((deadline + 5) * 1000)).apply()

    # One request at a time, judged at once: a gateway that never cuts the stall costs the
    # client's whole patience per request, so stop at the first.
    for _ in range(REQUESTS):
        r = stack.chat(stream=True, extra={"max_tokens": 40}, deadline=deadline)
        scenario.observe(
            f"{r.describe()} after {len(r.events)} events, [DONE] {'yes' if r.saw_done else 'no'}"
        )
        first_tokens_arrived = r.status == 200 and bool(r.events)
        assert first_tokens_arrived, (
            f"the stall came before the first token reached the client ({r.describe()}): "
            "raise STALL_AFTER_BYTES, or the gateway does not stream as it reads"
        )
        assert not r.clean_success, f"a stalled stream looked complete: {r.describe()}"
        # The deployment the gateway names; its own stream timeout when the profile has one.
        timeout = timeouts.get(r.served_by or "", max(timeouts.values()))
        ended = (
            f"was still open when the client gave up after {r.elapsed:.1f}s"
            if r.elapsed >= deadline
            else f"was ended after {r.elapsed:.1f}s"
        )
        assert r.elapsed <= timeout + MARGIN_S, (
            f"policy.stream_timeout_s={timeout:g} promised: a stream stalled after "
            f"{len(r.events)} events {ended}, not within {timeout + MARGIN_S:.1f}s "
            f"({r.error or 'no error'})"
        )
