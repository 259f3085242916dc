"""The HTML page's content (the browser tests check that it is drawn)."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_aistack.cli import main
from pytest_aistack.report.collect import collect
from pytest_aistack.report.html import render

from .conftest import burst_run, write_load, write_scenarios


def _results(tmp_path: Path) -> Path:
    results = tmp_path / "results"
    write_scenarios(results)
    write_load(results, "burst", burst_run())
    return results


def test_page_has_matrix_slo_verdicts_and_charts(tmp_path: Path) -> None:
    html = render(collect(_results(tmp_path)))
    assert '<span class="verdict FAIL">FAIL</span>: 2/3 scenarios passed; 0/1 load runs met' in html
    # vllm-a's two rows share one dependency cell.
    assert '<th rowspan="2">vllm-a</th>' in html
    assert '<th rowspan="1">redis</th>' in html
    assert "<li>200 with a clean end &lt;and no error&gt;</li>" in html
    assert "<td><code>error_rate&lt;=0.05</code></td>" in html
    assert html.count('<span class="verdict unmet">NOT met</span>') == 1
    assert html.count('<span class="verdict met">met</span>') == 1
    for chart in (
        "distribution-ttft",
        "distribution-itl",
        "latency-over-time",
        "throughput-over-time",
        "tokens-over-time",
        "outcomes-over-time",
    ):
        assert f'data-chart="{chart}"' in html  # fmt: skip
    assert 'data-series="http_error" data-points="6"' in html  # 429s in 6 burst seconds


def test_same_results_same_bytes(tmp_path: Path) -> None:
    results = _results(tmp_path)
    assert render(collect(results)) == render(collect(results))


def test_result_file_without_timeline_says_so(tmp_path: Path) -> None:
    results = _results(tmp_path)
    path = results / "burst.json"
    data = json.loads(path.read_text())
    del data["histograms"]["timeline"]
    path.write_text(json.dumps(data))
    html = render(collect(results))
    assert "This result file has no timeline" in html
    assert 'data-chart="distribution-ttft"' in html


def test_cli_writes_the_page(tmp_path: Path) -> None:
    out = tmp_path / "site" / "report.html"
    assert main(["report", "--format", "html", "-o", str(out), str(_results(tmp_path))]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
