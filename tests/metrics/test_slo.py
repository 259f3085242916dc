from __future__ import annotations

import math

import pytest

from pytest_aistack.metrics import SLOError, evaluate, parse_slo, unmet_lines

MS = 1_000_000


def test_parse_the_documented_example() -> None:
    spec = parse_slo("ttft_p99_ms<=500, itl_p95_ms<=50, error_rate<=0.01")
    assert [(t.metric, t.stat, t.unit, t.op, t.threshold) for t in spec.terms] == [
        ("ttft", "p99", "ms", "<=", 500.0),
        ("itl", "p95", "ms", "<=", 50.0),
        (None, None, None, "<=", 0.01),
    ]


def test_parse_other_forms() -> None:
    spec = parse_slo("e2e_p99.9_s < 2; tpot_mean_us<=30000\n requests_per_s >= 10, ttft_p999_ms<1")
    assert [t.name for t in spec.terms] == [
        "e2e_p99.9_s",
        "tpot_mean_us",
        "requests_per_s",
        "ttft_p999_ms",
    ]
    assert spec.terms[3].stat == "p99.9"
    assert not parse_slo("  ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ttft_p99_ms=<500", "cannot parse SLO term 'ttft_p99_ms=<500'"),
        ("ttft_p99_ms<=fast", "'fast' is not a number"),
        ("ttft_p42_ms<=1", "unknown SLO name 'ttft_p42_ms'"),
        ("latency_p99_ms<=1", "metric in ttfb, ttft"),
        ("error_rate<=5", "fraction in [0, 1]"),
        ("ttft_p99_ms<=-1", "finite number >= 0"),
    ],
)
def test_bad_terms_say_what_and_how_to_fix(text: str, message: str) -> None:
    with pytest.raises(SLOError) as info:
        parse_slo(text, source="--slo")
    assert message in str(info.value)
    assert str(info.value).startswith("--slo: ")


def test_evaluate_and_unmet_lines() -> None:
    spec = parse_slo("ttft_p99_ms<=500, itl_p95_ms<=50, error_rate<=0.01, e2e_p50_ms<=1")
    values = {
        "ttft": {"p99": 499.9 * MS},
        "itl": {"p95": 51.0 * MS},
        "error_rate": 0.0,
        "e2e": {"p50": math.nan},
    }
    results = evaluate(spec, values)
    assert [r.met for r in results] == [True, False, True, False]
    assert unmet_lines(results) == [
        "- itl_p95_ms: measured 51ms, objective <= 50ms",
        "- e2e_p50_ms: measured n/a (no samples), objective <= 1ms",
    ]
