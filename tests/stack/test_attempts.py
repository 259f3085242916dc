"""attempts(): a gateway's retries, counted at the backends — the mock's own log and the
proxy ledger agree on the running reference stack."""

from __future__ import annotations

import time
from typing import Any

from pytest_aistack.stack.ground_truth import MOCK_ADMIN, PROXY_LEDGER, attempts
from pytest_aistack.stack.handle import AIStack

# Every attempt answers 500 (the header is forwarded to the backends, like x-request-id),
# and no fallback group may answer, so every attempt lands in the group's logs.
FAIL_EVERY_ATTEMPT = {"x-mock-fault": "status,code=500"}
NO_FALLBACKS = {"disable_fallbacks": True}


class _Records:
    """A ground truth that returns fixed records (the shape requests_between gives)."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def requests_between(self, t0: float, t1: float) -> list[dict[str, Any]]:
        return self.records


def test_counts_repeats_records_and_anonymous_requests() -> None:
    mock_like = _Records([{"request_id": "r", "attempts": 3}, {"request_id": "other"}])
    ledger_like = _Records([{"request_id": "r"}, {"request_id": "r"}, {"request_id": None}])
    assert attempts(mock_like, "r", (0.0, 1.0)) == 3  # type: ignore[arg-type]
    assert attempts(ledger_like, "r", (0.0, 1.0)) == 3  # type: ignore[arg-type]
    assert attempts(ledger_like, "absent", (0.0, 1.0)) == 1  # type: ignore[arg-type]


def test_the_mock_log_and_the_ledger_count_the_same_retries(aistack_stack: AIStack) -> None:
    ledger_only = AIStack(aistack_stack.stack.replace(admin_token=None), aistack_stack.profile)
    aistack_stack.reset_backends()
    ledger_only.reset_backends()
    group = [b.name for b in aistack_stack.profile.backends_of(aistack_stack.profile.primary_group)]
    sent_at = time.time()
    result = aistack_stack.chat(extra=NO_FALLBACKS, headers=FAIL_EVERY_ATTEMPT)
    window = (sent_at, time.time())
    assert result.status == 500, result.describe()
    by_mock = {
        name: attempts(aistack_stack.admin(name), result.request_id, window) for name in group
    }
    by_ledger = {
        name: attempts(ledger_only.admin(name), result.request_id, window) for name in group
    }
    assert {aistack_stack.admin(name).source for name in group} == {MOCK_ADMIN}
    assert {ledger_only.admin(name).source for name in group} == {PROXY_LEDGER}
    assert by_mock == by_ledger
    assert sum(by_mock.values()) == aistack_stack.policy.num_retries + 1, by_mock
