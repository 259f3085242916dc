"""The metric definitions of DESIGN.md on hand-computed records."""

from __future__ import annotations

import pytest

from pytest_aistack.metrics import (
    Outcome,
    RequestRecord,
    RunMetrics,
    Summary,
    definitions,
    parse_slo,
)

MS = 1_000_000


def record(**fields: object) -> RequestRecord:
    base: dict[str, object] = {
        "request_id": "r",
        "sent_ns": 1_000 * MS,
        "end_ns": 1_200 * MS,
        "outcome": Outcome.OK,
    }
    base.update(fields)
    return RequestRecord(**base)  # type: ignore[arg-type]


def test_stream_with_role_chunk_first() -> None:
    # The role chunk arrived at +5 ms (first byte); it is not content, so TTFT is +50.
    rec = record(
        first_byte_ns=1_005 * MS,
        content_ns=[1_050 * MS, 1_060 * MS, 1_075 * MS, 1_100 * MS],
        usage_output_tokens=4,
    )
    assert definitions.ttfb_ns(rec) == 5 * MS
    assert definitions.ttft_ns(rec) == 50 * MS
    assert definitions.itl_ns(rec) == [10 * MS, 15 * MS, 25 * MS]
    assert definitions.e2e_ns(rec) == 200 * MS
    assert definitions.tpot_ns(rec) == pytest.approx(150 * MS / 3)
    assert definitions.output_tokens(rec) == (4, False)


def test_usage_tokens_differ_from_events_tpot_uses_usage() -> None:
    rec = record(content_ns=[1_050 * MS, 1_100 * MS], usage_output_tokens=11)
    assert definitions.tpot_ns(rec) == pytest.approx(150 * MS / 10)
    assert definitions.itl_ns(rec) == [50 * MS]


def test_one_token_response_has_ttft_but_no_tpot_or_itl() -> None:
    rec = record(content_ns=[1_050 * MS])
    assert definitions.ttft_ns(rec) == 50 * MS
    assert definitions.tpot_ns(rec) is None
    assert definitions.itl_ns(rec) == []
    assert definitions.output_tokens(rec) == (1, True)


def test_scheduled_latency_and_start_lag_for_open_loop() -> None:
    rec = record(scheduled_ns=900 * MS, content_ns=[1_050 * MS])
    assert definitions.scheduled_latency_ns(rec) == 300 * MS
    assert definitions.start_lag_ns(rec) == 100 * MS
    assert definitions.scheduled_latency_ns(record()) is None


def test_failures_are_counted_not_dropped_and_stay_out_of_latency() -> None:
    run = RunMetrics()
    run.add(record(content_ns=[1_050 * MS, 1_060 * MS], usage_output_tokens=2), 0)
    run.add(record(outcome=Outcome.HTTP_ERROR, status=429, end_ns=1_001 * MS, error="429"), 0)
    run.add(record(outcome=Outcome.TRUNCATED_ABRUPT, content_ns=[1_010 * MS], error="cut"), 0)
    summary = Summary.from_metrics(run)
    assert summary.requests == 3
    assert summary.ok_requests == 1
    assert summary.outcomes["http_error"] == 1
    assert summary.outcomes["truncated_abrupt"] == 1
    assert summary.http_status == {"429": 1}
    assert summary.error_rate == pytest.approx(2 / 3)
    # Only the successful request's TTFT is in the percentiles; the fast failures
    # (1 ms, 10 ms) would have made the server look faster.
    assert summary.metrics["ttft"].count == 1
    assert summary.metrics["ttft"].percentiles["p50"] == pytest.approx(50 * MS, rel=1e-3)
    assert summary.metrics["e2e_failed"].count == 2
    # Tokens delivered before a failure still count toward throughput.
    assert summary.output_tokens == 3
    assert summary.tokens_estimated is True
    assert summary.window_s == pytest.approx(0.2)
    assert summary.requests_per_s == pytest.approx(15.0)


def test_goodput_counts_requests_meeting_every_latency_objective() -> None:
    spec = parse_slo("ttft_p99_ms<=100, itl_p95_ms<=20, error_rate<=0.5")
    fast = record(content_ns=[1_050 * MS, 1_060 * MS, 1_070 * MS])
    slow_first = record(content_ns=[1_150 * MS, 1_160 * MS])
    slow_gap = record(content_ns=[1_050 * MS, 1_060 * MS, 1_090 * MS])
    failed = record(outcome=Outcome.STALL, content_ns=[1_050 * MS])
    assert [spec.request_meets(r) for r in (fast, slow_first, slow_gap, failed)] == [
        True,
        False,
        False,
        False,
    ]
    run = RunMetrics(spec)
    for rec in (fast, slow_first, slow_gap, failed):
        run.add(rec, 0)
    assert Summary.from_metrics(run).good_requests == 1


def test_run_metrics_round_trip_and_merge() -> None:
    a, b = RunMetrics(), RunMetrics()
    a.add(record(content_ns=[1_050 * MS, 1_070 * MS]), 10)
    b.add(record(outcome=Outcome.REFUSED, error="refused"), 10)
    a.merge(RunMetrics.from_dict(b.to_dict()))
    assert a.requests == 2
    assert a.outcomes == {"ok": 1, "refused": 1}
    assert a.error_examples == {"refused": ["refused"]}
    assert RunMetrics.from_dict(a.to_dict()).to_dict() == a.to_dict()


def test_tokens_arriving_together_are_counted_as_zero_gaps() -> None:
    run = RunMetrics()
    run.add(record(content_ns=[1_050 * MS, 1_050 * MS, 1_060 * MS, 1_060 * MS]), 0)
    summary = Summary.from_metrics(run)
    assert summary.itl_zero_gaps == 2
    assert summary.metrics["itl"].count == 3
    assert summary.to_dict()["itl_zero_gaps"] == 2
