"""The SVG chart module: ticks, deterministic output, one group per series."""

from __future__ import annotations

import re

import pytest

from pytest_aistack.report import svg
from pytest_aistack.report.svg import Chart, Marker, Series, StackedBars


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0.0, 47.0, [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]),
        (50.0, 203.0, [50.0, 100.0, 150.0, 200.0, 250.0]),
        (0.0, 12.0, [0.0, 2.5, 5.0, 7.5, 10.0, 12.5]),
        (3.0, 3.0, [3.0]),
    ],
)
def test_nice_ticks(low: float, high: float, ticks: list[float]) -> None:
    assert svg.nice_ticks(low, high) == ticks


def test_number_labels() -> None:
    assert [svg.number(v) for v in (0, 2.5, 0.25, 150, 12_000)] == [
        "0",
        "2.5",
        "0.25",
        "150",
        "12k",
    ]


def _chart() -> Chart:
    return Chart(
        "Latency <p99>",
        "s",
        "ms",
        series=[
            Series("TTFT p50", [(0.5, 50.0), (1.5, 52.0), (2.5, float("nan"))], svg.BLUE),
            Series("users", [(0.0, 4.0), (1.0, 12.0), (3.0, 12.0)], svg.GREY, "step", "right"),
        ],
        stacked=StackedBars(["ok", "http_error"], [svg.GREEN, svg.VERMILLION], [0.0, 1.0],
                            [[3.0, 4.0], [0.0, 2.0]]),
        markers=[Marker(1.0, "p99")],
        y2_label="users",
    )  # fmt: skip


def test_render_is_deterministic_and_escapes_text() -> None:
    text = svg.render(_chart())
    assert text == svg.render(_chart())
    assert text.startswith('<svg xmlns="http://www.w3.org/2000/svg" class="chart"')
    assert "<title>Latency &lt;p99&gt;</title>" in text
    assert "<p99>" not in text


def test_each_series_is_one_group_with_its_marks() -> None:
    text = svg.render(_chart())
    groups = dict(re.findall(r'data-series="([^"]+)" data-points="(\d+)"', text))
    assert groups == {"ok": "2", "http_error": "1", "TTFT p50": "3", "users": "3"}
    # The NaN point is left out of the line: two points drawn.
    line = re.search(r'data-series="TTFT p50"[^>]*><polyline points="([^"]+)"', text)
    assert line is not None
    assert len(line.group(1).split()) == 2
    # The zero-height http_error bar at x=0 is not drawn.
    assert text.count("<title>http_error at") == 1


def test_an_empty_chart_renders_with_its_note() -> None:
    text = svg.render(Chart("TTFT", "ms", "samples", note="no samples"))
    assert '<text class="note"' in text
    assert "no samples" in text
