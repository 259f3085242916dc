"""The HTML report in a real headless Chromium: plots drawn, no console messages, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from pytest_aistack.cli import main
from pytest_aistack.report import svg

from .browser import run_chromium, screenshot
from .conftest import burst_run, write_load, write_scenarios

WIDTH, HEIGHT = 1600, 2400


def _rgb(color: str) -> tuple[int, int, int]:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def _pixels(png: Path) -> dict[tuple[int, int, int], int]:
    with Image.open(png) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (WIDTH, HEIGHT)
        colors = rgb.getcolors(maxcolors=WIDTH * HEIGHT)
    assert colors is not None
    pixels: dict[tuple[int, int, int], int] = {}
    for count, color in colors:
        assert isinstance(color, tuple), color  # RGB: (r, g, b)
        pixels[(color[0], color[1], color[2])] = count
    return pixels


def _report(tmp_path: Path, *, load: bool) -> Path:
    results = tmp_path / "results"
    write_scenarios(results)
    if load:
        write_load(results, "burst", burst_run())
    page = tmp_path / "report.html"
    assert main(["report", "--format", "html", "-o", str(page), str(results)]) == 0
    return page


def test_report_page_draws_every_plot_in_chromium(chromium: str, tmp_path: Path) -> None:
    page = _report(tmp_path, load=True)
    png = tmp_path / "report.png"
    run = screenshot(chromium, page, png, width=WIDTH, height=HEIGHT)
    assert run.exit_code == 0, run.log[-3000:]
    assert run.console == [], run.console
    pixels = _pixels(png)
    # Each colour belongs to one kind of mark (svg.py's palette): bars of the four
    # distributions (blue), ok bars and the goodput line (green), 429 bars (vermillion),
    # the tokens line (purple), E2E lines (orange), the users step (grey). Exact colours
    # only occur where the browser filled or stroked those shapes.
    drawn = {name: pixels.get(_rgb(color), 0) for name, color in (
        ("distribution bars", svg.BLUE), ("ok bars", svg.GREEN),
        ("http_error bars", svg.VERMILLION), ("tokens line", svg.PURPLE),
        ("e2e lines", svg.ORANGE), ("users steps", svg.GREY),
    )}  # fmt: skip
    assert drawn["distribution bars"] > 20_000, drawn
    assert drawn["ok bars"] > 5_000, drawn
    assert drawn["http_error bars"] > 1_000, drawn
    for line in ("tokens line", "e2e lines", "users steps"):
        assert drawn[line] > 150, drawn


def test_a_page_without_load_runs_has_no_plot_pixels(chromium: str, tmp_path: Path) -> None:
    """The pixel counts above discriminate: the same page without a load run has none."""
    page = _report(tmp_path, load=False)
    png = tmp_path / "scenarios.png"
    run = screenshot(chromium, page, png, width=WIDTH, height=HEIGHT)
    assert run.exit_code == 0, run.log[-3000:]
    pixels = _pixels(png)
    for color in (svg.BLUE, svg.VERMILLION, svg.PURPLE, svg.ORANGE):
        assert pixels.get(_rgb(color), 0) == 0, color


def test_the_console_check_sees_errors(chromium: str, tmp_path: Path) -> None:
    """The console check above can fail: a page that logs and throws is caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><body><script>console.error('report-console-check');"
        "undefined_function();</script></body></html>"
    )
    run = run_chromium(chromium, page, tmp_path, "--dump-dom", name="bad")
    assert run.exit_code == 0, run.log[-3000:]
    assert any("report-console-check" in m for m in run.console), run.log[-3000:]
    assert any("Uncaught ReferenceError" in m for m in run.console), run.log[-3000:]


def test_dom_after_load_holds_every_chart(chromium: str, tmp_path: Path) -> None:
    page = _report(tmp_path, load=True)
    run = run_chromium(chromium, page, tmp_path, "--dump-dom", name="dom")
    assert run.exit_code == 0, run.log[-3000:]
    dom = run.log[run.log.index("<html") :]
    charts = [
        "distribution-ttft", "distribution-itl", "distribution-tpot", "distribution-e2e",
        "latency-over-time", "throughput-over-time", "tokens-over-time", "outcomes-over-time",
    ]  # fmt: skip
    for chart in charts:
        assert f'data-chart="{chart}"' in dom, chart
    assert dom.count('class="chart"') == len(charts)
    assert run.console == []


@pytest.mark.parametrize("attribute", ["src=", "href=", "url(", "<script", "<link", "@import"])
def test_page_loads_nothing(tmp_path: Path, attribute: str) -> None:
    """Self-contained: no script, stylesheet, image or font from anywhere."""
    html = _report(tmp_path, load=True).read_text()
    assert attribute not in html


# Strict: the fixture fails, which pytest reports as an error at setup; the run fails.
@pytest.mark.parametrize(("strict", "outcome"), [(False, "SKIPPED"), (True, "ERROR")])
def test_no_chromium_skips_with_the_reason_and_fails_strict(
    tmp_path: Path, strict: bool, outcome: str
) -> None:
    missing = tmp_path / "no-chromium"
    command = [
        sys.executable, "-m", "pytest", str(Path(__file__)), "-p", "no:cacheprovider",
        "-k", "draws_every_plot", "-rsf", *(["--aistack-strict"] if strict else []),
    ]  # fmt: skip
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AISTACK_CHROMIUM": str(missing)},
        check=False,
    )
    assert f"{outcome} " in done.stdout, done.stdout[-3000:]
    assert f"chromium: AISTACK_CHROMIUM={missing} is not an executable" in done.stdout
    assert done.returncode == (1 if strict else 0), done.stdout[-3000:]
