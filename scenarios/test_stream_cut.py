"""Scenario 5: the backend connection is cut mid-stream; the client must see a failure."""

from __future__ import annotations

import pytest

from pytest_aistack.stack.handle import AIStack, ProxyControl
from pytest_aistack.stack.records import ScenarioRecord

pytestmark = pytest.mark.resilience

REQUESTS = 3
# A stream long enough to be cut in the middle: 40 tokens, 40 ms apart (~1.6 s).
SLOW_STREAM = {"x-mock-profile": "ttft_ms=50,itl_ms=40,output_tokens=40"}
# limit_data closes the connection after this many bytes from the backend: the response
# head (~150 B), the first chunk with the role (~390 B) and a few tokens (~190 B each).
CUT_AFTER_BYTES = 1000
MARGIN_S = 3.0


def test_stream_cut(stack: AIStack, proxies: ProxyControl, scenario: ScenarioRecord) -> None:
    policy = stack.policy
    chain = stack.profile.fallback_chain()
    # Every backend the request could land on is cut, so no complete answer exists.
    backends = [b.name for g in chain for b in stack.profile.backends_of(g)]
    bound = policy.worst_case_s(hops=len(chain)) + MARGIN_S
    scenario.fault = f"limit_data {CUT_AFTER_BYTES} B on {', '.join(backends)}: cut mid-stream"
    scenario.expected = (
        f"an explicit failure (error status, error event, no [DONE] or transport error) "
        f"within {bound:.1f}s; never a clean-looking success"
    )
    for name in backends:
        proxies.add_toxic(stack.proxy_of(name), "limit_data", {"bytes": CUT_AFTER_BYTES})

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
    scenario.observe(
        "; ".join(
            f"{r.status} events={len(r.events)} done={r.saw_done} {r.error or ''}".strip()
            for r in results
        )[:400]
    )
