"""Per-token send times (--record-token-times): the mock's ground truth for ITL."""

from __future__ import annotations

import itertools

import pytest

from .conftest import MockFactory
from .helpers import CHAT, raw_request

ITL_MS = 20.0
TOKENS = 6


@pytest.mark.parametrize("timers", [[], ["--precise-timers"]], ids=["default", "precise"])
def test_token_times_are_recorded_per_content_token(
    start_mock: MockFactory, timers: list[str]
) -> None:
    mock = start_mock(
        "--model", "qwen", "--ttft-ms", "10", "--itl-ms", str(ITL_MS),
        "--output-tokens", str(TOKENS), "--record-token-times", *timers,
    )  # fmt: skip
    response = raw_request(
        mock.url, "/v1/chat/completions", {**CHAT, "stream": True}, {"x-request-id": "t-1"}
    )
    assert response.complete
    record = mock.stats()["requests"]["t-1"]
    times = record["token_times"]
    assert len(times) == record["tokens_sent"] == TOKENS
    # The first stamp is first_token_at itself: both are taken as the write is issued.
    assert times[0] == record["first_token_at"]
    assert times == sorted(times)
    assert record["received_at"] <= times[0] <= times[-1] <= record["finished_at"]
    gaps_ms = [(b - a) * 1000 for a, b in itertools.pairwise(times)]
    assert all(gap > 0 for gap in gaps_ms), gaps_ms  # one write per token at this pace
    # The span is (N-1) ITLs (generous bounds: the CPU is shared in CI).
    assert ITL_MS * (TOKENS - 1) / 2 < sum(gaps_ms) < ITL_MS * (TOKENS - 1) * 3, gaps_ms
    # The client saw as many content chunks as the mock stamped tokens.
    assert len(response.content_times()) == TOKENS


def test_token_times_are_off_by_default(start_mock: MockFactory) -> None:
    mock = start_mock("--model", "qwen", "--ttft-ms", "1", "--itl-ms", "1", "--output-tokens", "3")
    raw_request(mock.url, "/v1/chat/completions", {**CHAT, "stream": True}, {"x-request-id": "d"})
    record = mock.stats()["requests"]["d"]
    assert record["tokens_sent"] == 3
    assert "token_times" not in record
