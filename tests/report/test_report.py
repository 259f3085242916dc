"""``aistack report`` over result files written by the real writers of each part."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_aistack.cli import main
from pytest_aistack.load.results import build_result, write_result_files
from pytest_aistack.metrics import RunMetrics
from pytest_aistack.metrics.record import Outcome, RequestRecord
from pytest_aistack.metrics.slo import evaluate, parse_slo
from pytest_aistack.metrics.summary import Summary
from pytest_aistack.report.collect import collect
from pytest_aistack.resilience.records import ScenarioRecord, save_records

MS = 1_000_000


def _write_load(directory: Path, name: str, slo_text: str, *, failed: int = 0) -> None:
    slo = parse_slo(slo_text)
    metrics = RunMetrics(slo)
    base = 1_700_000_000_000_000_000
    for i in range(20):
        sent = base + i * 100 * MS
        # ttft 50 ms, then one content event every 10 ms: itl 10 ms, e2e 100 ms
        content = [sent + 50 * MS + k * 10 * MS for k in range(6)]
        metrics.add(
            RequestRecord(
                request_id=f"r{i}",
                sent_ns=sent,
                end_ns=sent + 100 * MS,
                outcome=Outcome.OK,
                first_byte_ns=sent + 40 * MS,
                content_ns=content,
                status=200,
                usage_output_tokens=6,
            ),
            0,
        )
    for i in range(failed):
        sent = base + i * 100 * MS
        metrics.add(
            RequestRecord(
                request_id=f"f{i}",
                sent_ns=sent,
                end_ns=sent + 5 * MS,
                outcome=Outcome.HTTP_ERROR,
                status=503,
                error="503 upstream down",
            ),
            0,
        )
    summary = Summary.from_metrics(metrics)
    result = build_result(
        run={"locustfile": f"locustfiles/{name}.py", "host": "http://127.0.0.1:4000"},
        metrics=metrics,
        slo=slo,
        slo_results=evaluate(slo, summary.slo_values()),
        reliability={"reliable": True, "reasons": []},
    )
    write_result_files(result, directory, name)


def _write_junit(pytester: pytest.Pytester, directory: Path) -> None:
    pytester.makepyfile(
        test_mixed="""
        import pytest

        def test_ok():
            pass

        def test_broken():
            assert 1 == 2, "the breaker never tripped"

        @pytest.mark.skip(reason="no vLLM here")
        def test_skipped():
            pass
        """
    )
    pytester.runpytest_subprocess(
        f"--junitxml={directory / 'resilience-junit.xml'}", "-p", "no:aistack"
    )


def test_markdown_has_scenarios_tests_and_load_with_slo_verdicts(
    pytester: pytest.Pytester, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    save_records(
        [
            ScenarioRecord(
                "one_deployment_down",
                "proxy of vllm-a disabled",
                "no failures",
                ["6/6 ok | served by vllm-b"],
                "PASS",
                5.0,
            ),
            ScenarioRecord(
                "stream_cut",
                "reset_peer",
                "explicit failure",
                ["200 clean?"],
                "FAIL",
                2.5,
                dependency="vllm-a, vllm-b",
                promise="policy.stream_timeout_s",
            ),
        ],
        results,
    )
    _write_junit(pytester, results)
    _write_load(results, "burst", "ttft_p99_ms<=2000, error_rate<=0.01")
    _write_load(results, "steady", "ttft_p99_ms<=10, error_rate<=0.01", failed=5)

    assert main(["report", "--format", "markdown", str(results)]) == 0
    out = capsys.readouterr().out

    assert "**FAIL**: 1/2 scenarios passed; 2/3 tests without failure; 1/2 load runs met" in out
    # A pipe inside a cell does not break the table.
    assert "### Resiliency matrix" in out
    assert "| dependency | fault | promise | verdict | expected | observed | scenario | s |" in out
    # A record from before dependency/promise existed says so; a pipe inside a cell does
    # not break the table.
    assert (
        "| (not recorded) | proxy of vllm-a disabled | (not recorded) | **PASS** | no failures "
        "| 6/6 ok \\| served by vllm-b | one_deployment_down | 5.0 |" in out
    )
    assert (
        "| vllm-a, vllm-b | reset_peer | policy.stream_timeout_s | **FAIL** | explicit failure "
        "| 200 clean? | stream_cut | 2.5 |" in out
    )
    assert "| resilience-junit.xml | 1 | 1 | 0 | 1 |" in out
    assert "the breaker never tripped" in out
    assert "### Load: locustfiles/burst.py — **SLOs met**" in out
    assert "### Load: locustfiles/steady.py — **SLOs NOT met**" in out
    assert "- `ttft_p99_ms<=10`: measured 50 — **NOT met**" in out
    assert "Failed requests by outcome: http_error 5" in out
    # ttft row: 20 requests at 50 ms each
    ttft_rows = [line for line in out.splitlines() if line.startswith("| ttft |")]
    assert ttft_rows
    assert ttft_rows[0].startswith("| ttft | 20 | 50.0 |")


def test_fail_on_failures_sets_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    save_records([ScenarioRecord("a", verdict="PASS")], good)
    save_records([ScenarioRecord("a", verdict="FAIL")], bad)
    assert main(["report", "--fail-on-failures", str(good)]) == 0
    assert main(["report", "--fail-on-failures", str(bad)]) == 1
    assert main(["report", str(bad)]) == 0


def test_json_format_and_output_file(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _write_load(results, "burst", "error_rate<=0.01")
    out = tmp_path / "summary.json"
    assert main(["report", "--format", "json", "-o", str(out), str(results)]) == 0
    data = json.loads(out.read_text())
    assert data["ok"] is True
    assert [load["run"]["locustfile"] for load in data["loads"]] == ["locustfiles/burst.py"]
    assert data["loads"][0]["summary"]["requests"] == 20


def test_unreadable_files_are_named_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "resilience.json").write_text("{not json")
    (tmp_path / "run.xml").write_text("<testsuites><testcase")
    (tmp_path / "burst.json").write_text(
        json.dumps({"schema": "pytest-aistack/load-result", "schema_version": 99})
    )
    (tmp_path / "profile.json").write_text(json.dumps({"something": "else"}))
    results = collect(tmp_path)
    assert len(results.problems) == 3
    assert any("resilience.json" in p for p in results.problems)
    assert any("run.xml" in p for p in results.problems)
    assert any("schema_version 99" in p for p in results.problems)
    assert not results.ok


def test_missing_or_empty_directory_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "no such results directory" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 1
    assert "holds no result files" in capsys.readouterr().err
