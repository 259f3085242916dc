"""Locust runs in a subprocess (run_locust fixture) against the real mock LLM."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from pytest_aistack.load.pytest_fixtures import RunLocust
from pytest_aistack.metrics import RequestRecord, RunMetrics

from .conftest import LOCUSTFILES, MOCK_ITL_MS, MOCK_TOKENS, MOCK_TTFT_MS, TEST_LOCUSTFILES

pytestmark = pytest.mark.load

SHORT_BURST = [
    "--shape-users", "2", "--burst-multiplier", "3", "--burst-at", "1.5",
    "--burst-for", "2", "--shape-duration", "5", "--llm-max-tokens", str(MOCK_TOKENS),
]  # fmt: skip


def test_burst_headline_measures_the_mock_timing(run_locust: RunLocust, mock_url: str) -> None:
    run = run_locust(LOCUSTFILES / "burst.py", host=mock_url, args=SHORT_BURST)
    assert run.exit_code == 0, run.output
    assert "pytest-aistack LLM summary" in run.output
    assert "SLO passed: ttft_p99_ms<=2000" in run.output
    result = run.result
    summary = result.summary
    assert result.requests > 10
    assert result.outcomes["ok"] == result.requests
    # Token counts are exact: usage from the server, not estimated.
    assert summary["output_tokens"] == MOCK_TOKENS * result.requests
    assert summary["output_tokens_estimated"] is False
    # Generous bounds (shared machine): the mock's TTFT is 50 ms, ITL 10 ms.
    ttft_p50 = result.latency_ms("ttft", "p50")
    itl_p50 = result.latency_ms("itl", "p50")
    assert ttft_p50 is not None
    assert MOCK_TTFT_MS <= ttft_p50 < MOCK_TTFT_MS + 30
    assert itl_p50 is not None
    assert MOCK_ITL_MS - 2 < itl_p50 < MOCK_ITL_MS + 10
    assert result.data["run"]["users_max"] == 6
    assert set(result.data["run"]["locust_stats"]) == {"TTFT", "E2E"}
    assert result.data["reliability"]["processes"]
    for name in ("run.json", "run_latency.csv", "run_outcomes.csv"):
        assert (result.path.parent / name).is_file()


def test_slo_gate_fails_the_run_and_lists_unmet_objectives(
    run_locust: RunLocust, mock_url: str
) -> None:
    run = run_locust(
        LOCUSTFILES / "burst.py",
        host=mock_url,
        args=SHORT_BURST,
        slo="ttft_p99_ms<=5, error_rate<=0.01, itl_p50_ms<=1",
    )
    assert run.exit_code == 1, run.output
    assert "SLO FAILED: 2 of 3 objectives unmet:" in run.output
    assert "- ttft_p99_ms: measured " in run.output
    assert "- itl_p50_ms: measured " in run.output
    assert run.result.slo_passed is False
    assert len(run.result.data["slo"]["unmet"]) == 2


def test_bad_slo_is_a_usage_error_naming_the_term(run_locust: RunLocust, mock_url: str) -> None:
    run = run_locust(LOCUSTFILES / "burst.py", host=mock_url, slo="ttft_p99<=5", args=SHORT_BURST)
    assert run.exit_code == 2
    assert "--slo: unknown SLO name 'ttft_p99'" in run.output


def test_failures_are_counted_by_outcome_never_dropped(
    run_locust: RunLocust, mock_url: str
) -> None:
    run = run_locust(
        TEST_LOCUSTFILES / "faults.py",
        host=mock_url,
        users=7,
        spawn_rate=100,
        run_time="4s",
        args=["--llm-idle-timeout", "0.5", "--llm-max-tokens", str(MOCK_TOKENS)],
    )
    result = run.result
    outcomes = result.outcomes
    for outcome in (
        "ok",
        "truncated_abrupt",
        "truncated_clean",
        "inband_error",
        "malformed",
        "http_error",
        "stall",
    ):
        assert outcomes[outcome] > 0, (outcome, outcomes)
    assert sum(outcomes.values()) == result.requests
    assert result.summary["http_status"] == {"429": outcomes["http_error"]}
    assert result.summary["failed_requests"] == result.requests - outcomes["ok"]
    # No --slo and no class SLO: Locust's own rule applies (failures -> exit 1).
    assert run.exit_code == 1


def test_processes_merge_exact_histograms(
    run_locust: RunLocust, mock_url: str, tmp_path: Path
) -> None:
    dump = tmp_path / "records"
    run = run_locust(
        TEST_LOCUSTFILES / "closed.py",
        host=mock_url,
        users=8,
        spawn_rate=100,
        run_time="4s",
        processes=2,
        args=["--llm-dump-records", str(dump)],
    )
    assert run.exit_code == 0, run.output
    files = sorted(dump.glob("records-*.jsonl"))
    assert len(files) == 2, files  # one per worker process
    union = RunMetrics()
    for record in _dumped_records(dump):
        union.add(record, 0)
    merged = run.result.metrics()
    assert merged.requests == union.requests > 0
    for name, hist in union.histograms.items():
        assert merged.histograms[name] == hist, name
        if hist.count:
            assert merged.histograms[name].percentile(99) == hist.percentile(99)
    assert len(run.result.data["run"]["generator_processes"]) == 2


def test_open_loop_records_scheduled_latency(run_locust: RunLocust, mock_url: str) -> None:
    run = run_locust(
        LOCUSTFILES / "steady.py",
        host=mock_url,
        args=[
            "--shape-users",
            "2",
            "--shape-duration",
            "3",
            "--soak-ramp",
            "0",
            "--llm-rate",
            "10",
            # The legacy completions API, through the same path.
            "--llm-kind",
            "completions",
        ],
    )
    result = run.result
    assert run.exit_code == 0, run.output
    assert result.data["run"]["arrival"] == "poisson"
    assert result.data["run"]["kind"] == "completions"
    assert result.summary["output_tokens_estimated"] is False
    ok = result.outcomes["ok"]
    assert 20 < result.requests < 120  # ~2 users x 10/s x 3 s, Poisson
    sched = result.summary["latency_ms"]["scheduled_latency"]
    e2e = result.summary["latency_ms"]["e2e"]
    assert sched["count"] == ok
    assert sched["p50"] >= e2e["p50"]
    assert result.summary["latency_ms"]["start_lag"]["count"] == ok


def test_unreachable_host_fails_with_every_request_refused(run_locust: RunLocust) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = run_locust(
        TEST_LOCUSTFILES / "closed.py",
        host=f"http://127.0.0.1:{port}",
        users=1,
        run_time="1s",
        args=["--llm-seed", "1"],
    )
    assert run.exit_code != 0
    result = run.result
    assert result.requests > 0
    assert result.outcomes["refused"] == result.requests


@pytest.mark.parametrize(
    ("locustfile", "args", "users_max"),
    [
        (
            LOCUSTFILES / "ramp.py",
            ["--shape-users", "1", "--step-users", "2", "--step-every", "1",
             "--shape-duration", "3"],
            5,
        ),
        (
            TEST_LOCUSTFILES / "spike.py",
            ["--shape-users", "1", "--spike-multiplier", "4", "--spike-every", "1.5",
             "--spike-for", "1", "--shape-duration", "3"],
            4,
        ),
    ],
    ids=["step", "spike"],
)  # fmt: skip
def test_shapes_reach_their_user_counts(
    run_locust: RunLocust, mock_url: str, locustfile: Path, args: list[str], users_max: int
) -> None:
    run = run_locust(locustfile, host=mock_url, args=[*args, "--llm-max-tokens", "4"])
    assert run.result.data["run"]["users_max"] == users_max
    assert run.result.outcomes["ok"] > 0


def test_bad_prompts_file_fails_once_naming_file_and_line(
    run_locust: RunLocust, mock_url: str, tmp_path: Path
) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "fine"}\n{"prompt": 42}\n')
    run = run_locust(
        TEST_LOCUSTFILES / "closed.py",
        host=mock_url,
        users=1,
        run_time="2s",
        args=["--llm-prompts", str(prompts)],
    )
    assert run.exit_code == 2
    assert f"Closed: {prompts}:2: expected 'prompt' (a string)" in run.output


def _dumped_records(dump: Path) -> list[RequestRecord]:
    """The records every generator process wrote with ``--llm-dump-records``."""
    return [
        RequestRecord.from_dict(json.loads(line))
        for path in sorted(dump.glob("records-*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def _first_sends_s(dump: Path, users: int) -> list[float]:
    """Send times (s, from the earliest) of the run's first ``users`` requests."""
    sent = sorted(record.sent_ns for record in _dumped_records(dump))[:users]
    return [(ns - sent[0]) / 1e9 for ns in sent]


@pytest.mark.parametrize("spread_s", [0.0, 0.8])
def test_start_spread_staggers_the_first_requests(
    run_locust: RunLocust, mock_url: str, tmp_path: Path, spread_s: float
) -> None:
    # 8 users spawned in one Locust batch; a request takes 50 + 15 x 10 ms = 200 ms.
    dump = tmp_path / "records"
    run = run_locust(
        TEST_LOCUSTFILES / "closed.py",
        host=mock_url,
        users=8,
        spawn_rate=100,
        run_time="3s",
        args=["--llm-dump-records", str(dump), "--llm-start-spread", str(spread_s)],
    )
    assert run.exit_code == 0, run.output
    assert run.result.data["run"]["start_spread_s"] == spread_s
    firsts = _first_sends_s(dump, 8)
    if spread_s:
        # Seeded offsets in [0, 0.8 s): spread out, and no start later than the spread.
        gaps = [b - a for a, b in itertools.pairwise(firsts)]
        assert firsts[-1] > 0.2, firsts
        assert firsts[-1] < spread_s, firsts
        assert max(gaps) > 0.02, firsts
    else:
        # Locust's batch: all first requests within a few ms of each other.
        assert firsts[-1] < 0.1, firsts


def test_negative_start_spread_is_a_usage_error(run_locust: RunLocust, mock_url: str) -> None:
    run = run_locust(
        TEST_LOCUSTFILES / "closed.py",
        host=mock_url,
        users=1,
        run_time="1s",
        args=["--llm-start-spread", "-0.5"],
    )
    assert run.exit_code == 2
    assert "--llm-start-spread must be >= 0 seconds, got -0.5" in run.output
