"""Scenario 5: the backend connection is cut mid-stream; the client must see a failure."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from pytest_aistack.chaos.faults import Chaos
from pytest_aistack.resilience.records import ScenarioRecord
from pytest_aistack.stack.handle import AIStack

# The cut sits on every backend the request could land on, so no complete answer
# exists; the router picks one deployment per request, so most cuts carry no traffic.
pytestmark = [pytest.mark.resilience, pytest.mark.chaos(assert_all_faults_exercised=False)]

REQUESTS = 3
# A stream long enough to be cut in the middle: 40 tokens, 40 ms apart (~1.6 s).
SLOW_STREAM = {"x-mock-profile": "ttft_ms=50,itl_ms=40,output_tokens=40"}
# limit_data closes the connection after this many bytes from the backend: the response
# head (~150 B), the first chunk with the role (~390 B) and a few tokens (~190 B each).
CUT_AFTER_BYTES = 1000
MARGIN_S = 3.0


def test_stream_cut(stack: AIStack, chaos: Chaos, scenario: ScenarioRecord) -> None:
    policy = stack.policy
    chain = stack.profile.fallback_chain()
    # Every backend the request could land on is cut, so no complete answer exists.
    backends = [b.name for g in chain for b in stack.profile.backends_of(g)]
    bound = policy.worst_case_s(hops=len(chain)) + MARGIN_S
    scenario.dependency = ", ".join(backends)
    scenario.promise = "policy.stream_timeout_s, policy.num_retries"
    scenario.fault = f"limit_data {CUT_AFTER_BYTES} B on {', '.join(backends)}: cut mid-stream"
    scenario.expected = (
        f"an explicit failure (error status, error event, no [DONE] or transport error) "
        f"within {bound:.1f}s; never a clean-looking success"
    )
    cuts = [chaos.cut_after_bytes(stack.proxy_of(name), CUT_AFTER_BYTES) for name in backends]
    for cut in cuts:
        cut.apply()

    results = [
        stack.chat(
            stream=True,
            extra={"max_tokens": 40},
            headers=SLOW_STREAM,
            deadline=bound + 10,
        )
        for _ in range(REQUESTS)
    ]
    for r in results:
        assert not r.clean_success, f"a cut stream looked complete: {r.describe()} {r.events}"
        assert r.elapsed <= bound, f"{r.describe()} exceeds {bound:.1f}s"
    exercised = {cut.proxy: cut.exercised() for cut in cuts}
    assert any(seen is not False for seen in exercised.values()), "no cut carried traffic"
    cut_on = [proxy for proxy, seen in exercised.items() if seen]
    scenario.observe(f"streams cut on: {', '.join(cut_on) or 'unknown (no counters)'}")
    shapes = Counter(
        f"{r.status} after {len(r.events)} events, [DONE] {'yes' if r.saw_done else 'no'}, "
        f"{_short(r.error)}"
        for r in results
    )
    for shape, count in shapes.items():
        scenario.observe(f"{count}/{len(results)}: {shape}")


def _short(error: str | None) -> str:
    """The kind of an error (``in-band error litellm.APIConnectionError``), not its essay."""
    if error is None:
        return "no error"
    kind = re.search(r"litellm\.\w+", error)
    return f"{error.split(':')[0]} {kind.group(0) if kind else ''}".strip()
