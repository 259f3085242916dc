"""Load-area modules that do not need Locust: arrivals, prompts, result files, self-check."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from pytest_aistack.load.arrival import ArrivalError, parse_arrival
from pytest_aistack.load.prompts import DEFAULT_PROMPTS, PromptFileError, load_prompts
from pytest_aistack.load.results import (
    ResultFileError,
    build_result,
    read_result,
    write_result_files,
)
from pytest_aistack.load.selfcheck import Limits, verdict
from pytest_aistack.metrics import (
    Histogram,
    Outcome,
    RequestRecord,
    RunMetrics,
    Summary,
    evaluate,
    parse_slo,
)


@pytest.mark.parametrize(
    ("kind", "burstiness", "cv_low", "cv_high"),
    [("constant", 1.0, 0.0, 0.0001), ("poisson", 1.0, 0.9, 1.1), ("gamma", 0.25, 1.8, 2.2)],
)
def test_arrival_processes_have_the_rate_and_the_burstiness(
    kind: str, burstiness: float, cv_low: float, cv_high: float
) -> None:
    intervals = parse_arrival(kind, 20.0, burstiness).intervals(seed=7)
    samples = [intervals.next() for _ in range(20_000)]
    mean = statistics.fmean(samples)
    assert mean == pytest.approx(1 / 20.0, rel=0.05)
    # Coefficient of variation: 0 constant, 1 Poisson, 1/sqrt(burstiness) gamma.
    cv = statistics.pstdev(samples) / mean
    assert cv_low <= cv <= cv_high


def test_arrival_errors_name_the_option() -> None:
    with pytest.raises(ArrivalError, match="--llm-arrival 'bursty': unknown arrival process"):
        parse_arrival("bursty", 1.0)
    with pytest.raises(ArrivalError, match="needs --llm-rate > 0"):
        parse_arrival("poisson", 0.0)
    assert not parse_arrival("closed", 0.0).open_loop


def test_default_prompts_load() -> None:
    prompts = load_prompts(DEFAULT_PROMPTS)
    assert len(prompts) >= 10
    assert any(isinstance(p.content, list) for p in prompts)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"prompt": 5}', ":1: expected 'prompt' (a string) or 'messages'"),
        ("{not json", ":1: not valid JSON"),
        ('# only a comment\n{"prompt": "x", "max_tokens": 0}', ":2: 'max_tokens' must be"),
        ("", "no prompts"),
    ],
)
def test_bad_prompt_files_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "prompts.jsonl"
    path.write_text(text)
    with pytest.raises(PromptFileError) as info:
        load_prompts(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def _result(tmp_path: Path) -> Path:
    metrics = RunMetrics()
    metrics.add(
        RequestRecord("a", 0, 300_000_000, Outcome.OK, content_ns=[50_000_000, 60_000_000]), 0
    )
    metrics.add(RequestRecord("b", 0, 1_000_000, Outcome.REFUSED, error="refused"), 0)
    spec = parse_slo("error_rate<=0.01")
    result = build_result(
        run={"locustfile": "x.py"},
        metrics=metrics,
        slo=spec,
        slo_results=evaluate(spec, Summary.from_metrics(metrics).slo_values()),
        reliability={"reliable": True, "reasons": []},
    )
    files = write_result_files(result, tmp_path, "run")
    assert [f.name for f in files] == ["run.json", "run_latency.csv", "run_outcomes.csv"]
    return files[0]


def test_result_files_round_trip(tmp_path: Path) -> None:
    loaded = read_result(_result(tmp_path))
    assert loaded.requests == 2
    assert loaded.outcomes["refused"] == 1
    assert loaded.slo_passed is False
    assert loaded.data["slo"]["unmet"] == ["error_rate: measured 0.5, objective <= 0.01"]
    assert loaded.latency_ms("ttft", "p50") == pytest.approx(50.0, rel=1e-3)
    assert loaded.metrics().requests == 2
    latency_csv = (tmp_path / "run_latency.csv").read_text().splitlines()
    assert latency_csv[0].startswith("metric,count,mean_ms,min_ms,p50_ms")
    assert any(line.startswith("ttft,1,") for line in latency_csv)
    assert "refused,1" in (tmp_path / "run_outcomes.csv").read_text()


def test_result_schema_version_is_checked(tmp_path: Path) -> None:
    path = _result(tmp_path)
    data = json.loads(path.read_text())
    data["schema_version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ResultFileError, match="schema_version 99, this pytest-aistack reads"):
        read_result(path)
    path.write_text("{}")
    with pytest.raises(ResultFileError, match="not a pytest-aistack/load-result file"):
        read_result(path)


def _check(lag_ms: list[float], cpu: list[float]) -> dict[str, object]:
    lag = Histogram()
    lag.record_many(int(v * 1e6) for v in lag_ms)
    return {"lag": lag.to_dict(), "cpu_windows": cpu}


def test_self_check_marks_a_busy_or_laggy_generator_unreliable() -> None:
    limits = Limits(max_loop_lag_p99_ms=5, max_cpu_percent=90, max_start_lag_p99_ms=5)
    calm = {"local": _check([0.5] * 100, [30.0, 40.0])}
    assert verdict(calm, Histogram(), limits)["reliable"] is True
    laggy = {"worker 1": _check([0.5] * 90 + [20.0] * 10, [30.0])}
    busy = {"worker 2": _check([0.5] * 100, [95.0, 99.0])}
    late = Histogram()
    late.record_many([10_000_000] * 10)
    for checks, start_lag, reason in (
        (laggy, Histogram(), "worker 1: event-loop lag p99 20.00 ms > 5 ms"),
        (busy, Histogram(), "worker 2: generator CPU 97 % of a core > 90 %"),
        (calm, late, "open-loop requests were sent late: start lag p99 10.00 ms"),
    ):
        result = verdict(checks, start_lag, limits)
        assert result["reliable"] is False
        assert any(r.startswith(reason) for r in result["reasons"]), result["reasons"]
