"""Render collected results as one self-contained HTML page (``aistack report --format html``).

Everything is inline: the CSS below and the SVG charts of :mod:`.plots` (drawn here,
on the server side, by :mod:`.svg`). The page loads nothing, runs no script, and
reads the same offline, printed, or attached to a CI run. The same results give the
same bytes (no clock, no random ids).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from pytest_aistack.load.results import LoadResult
from pytest_aistack.report import plots, svg
from pytest_aistack.report.collect import OUTCOMES, Results
from pytest_aistack.report.markdown import LOAD_METRICS, LOAD_STATS, MESSAGE_LIMIT
from pytest_aistack.report.markdown import _headline as markdown_headline
from pytest_aistack.resilience.records import resilience_matrix

# Distributions drawn per load run: (histogram name, chart title).
DISTRIBUTIONS = (
    ("ttft", "TTFT distribution (time to first token)"),
    ("itl", "ITL distribution (gap between tokens)"),
    ("tpot", "TPOT distribution (time per output token)"),
    ("e2e", "E2E distribution (whole request)"),
)

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto;
       max-width: 1600px; padding: 0 16px; color: #1a1a1a; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px;
     border-bottom: 1px solid #ddd; padding-bottom: 4px; } h3 { font-size: 15px; }
.verdict { font-weight: 700; padding: 1px 6px; border-radius: 3px; }
.PASS, .met { background: #d8f0e3; color: #0b5d36; }
.FAIL, .unmet { background: #f9dcd3; color: #8a2205; }
.SKIP, .other { background: #eee; color: #555; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f5f5f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.observed { margin: 0; padding-left: 16px; }
.facts { color: #333; } .warn { color: #8a2205; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { border: 1px solid #e3e3e3; background: #fff; font-size: 11px; }
svg.chart text { fill: #333; } svg.chart .title { font-size: 13px; font-weight: 600; }
svg.chart .note { fill: #666; } svg.chart .grid { stroke: #ececec; }
svg.chart .axis, svg.chart .tick { stroke: #888; } svg.chart .y2 { fill: #777; }
"""


def _verdict(text: str) -> str:
    kind = text.upper() if text.upper() in ("PASS", "FAIL", "SKIP") else "other"
    return f'<span class="verdict {kind}">{escape(text)}</span>'


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """``rows`` hold HTML (already escaped); the header is text."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _td(value: object, *, num: bool = False, raw: bool = False) -> str:
    text = str(value) if raw else escape(str(value))
    return f'<td class="num">{text}</td>' if num else f"<td>{text}</td>"


def _num(value: Any, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _headline(results: Results) -> str:
    text = escape(markdown_headline(results))  # "**PASS**: 3/3 scenarios passed; ..."
    verdict = "PASS" if results.ok else "FAIL"
    return f'<p class="headline">{text.replace(f"**{verdict}**", _verdict(verdict), 1)}</p>'


def _scenarios(results: Results) -> str:
    """The resiliency matrix: dependency x fault -> verdict, grouped by dependency."""
    matrix = resilience_matrix(results.scenarios)
    rows = []
    for i, row in enumerate(matrix):
        first = i == 0 or matrix[i - 1].dependency != row.dependency
        span = sum(1 for other in matrix if other.dependency == row.dependency)
        cells = [f'<th rowspan="{span}">{escape(row.dependency)}</th>'] if first else []
        observed = "".join(f"<li>{escape(line)}</li>" for line in row.observed)
        cells += [
            _td(row.fault),
            _td(row.promise),
            _td(_verdict(row.verdict), raw=True),
            _td(row.expected),
            _td(f'<ul class="observed">{observed}</ul>' if observed else "", raw=True),
            _td(row.scenario),
            _td(f"{row.seconds:.1f}", num=True),
        ]
        rows.append(cells)
    header = ("dependency", "fault", "promise", "verdict", "expected", "observed", "scenario", "s")
    return "<h2>Resiliency matrix</h2>" + _table(header, rows, "matrix")


def _test_runs(results: Results) -> str:
    rows = [
        [
            _td(run.path.name),
            *(_td(run.count(o), num=True) for o in OUTCOMES),
            _td(f"{run.seconds:.1f}", num=True),
        ]
        for run in results.test_runs
    ]
    out = "<h2>Test runs (JUnit)</h2>" + _table(("file", *OUTCOMES, "s"), rows)
    failures = results.failed_tests
    if failures:
        items = "".join(
            f"<li><code>{escape(case.name)}</code> ({escape(run.path.name)}, {case.outcome}): "
            f"{escape(case.message[:MESSAGE_LIMIT])}</li>"
            for run, case in failures
        )
        out += f"<p>Failures:</p><ul>{items}</ul>"
    return out


def _slo_table(load: LoadResult) -> str:
    slo = load.data.get("slo", {})
    results = slo.get("results") or []
    if not results:
        return "<p>No SLO given for this run (<code>--slo</code>): no gate.</p>"
    rows = []
    for result in results:
        value = result.get("value")
        met = bool(result.get("met"))
        rows.append(
            [
                _td(f"<code>{escape(str(result.get('term')))}</code>", raw=True),
                _td("n/a (no samples)" if value is None else f"{value:.6g}", num=True),
                _td(
                    f'<span class="verdict {"met" if met else "unmet"}">'
                    f"{'met' if met else 'NOT met'}</span>",
                    raw=True,
                ),
            ]
        )
    return "<h3>SLO verdicts</h3>" + _table(("objective", "measured", "verdict"), rows, "slo")


def _latency_table(load: LoadResult) -> str:
    latency = load.summary.get("latency_ms", {})
    rows = []
    for metric in LOAD_METRICS:
        stats = latency.get(metric)
        if stats and stats.get("count"):
            rows.append(
                [
                    _td(metric),
                    _td(stats["count"], num=True),
                    *(_td(_num(stats.get(s)), num=True) for s in LOAD_STATS),
                ]
            )
    return _table(("metric (ms)", "count", *LOAD_STATS), rows, "latency")


def _facts(load: LoadResult) -> str:
    run, summary = load.data.get("run", {}), load.summary
    error_rate = summary.get("error_rate")
    facts = [
        f"host {run['host']}" if run.get("host") else None,
        f"model {run['model']}" if run.get("model") else None,
        f"{summary.get('requests', 0)} requests",
        f"{summary.get('ok_requests', 0)} ok",
        "error rate " + ("n/a" if error_rate is None else f"{error_rate:.2%}"),
        f"{_num(summary.get('requests_per_s'), 2)} req/s",
        f"{_num(summary.get('output_tokens_per_s'))} output tok/s",
        f"goodput {_num(summary.get('goodput_per_s'), 2)} req/s",
        f"window {_num(summary.get('window_s'))} s",
        f"up to {run['users_max']} users" if run.get("users_max") else None,
    ]
    return '<p class="facts">' + " · ".join(escape(f) for f in facts if f) + "</p>"


def _load(index: int, load: LoadResult) -> str:
    run = load.data.get("run", {})
    title = run.get("locustfile") or load.path.stem
    met = load.slo_passed
    verdict = _verdict("PASS" if met else "FAIL").replace(">PASS<", ">SLOs met<")
    verdict = verdict.replace(">FAIL<", ">SLOs NOT met<")
    parts = [
        f'<section class="load" id="load-{index}">',
        f"<h2>Load: {escape(str(title))} {verdict}</h2>",
        f"<p><code>{escape(str(load.path))}</code></p>",
        _facts(load),
    ]
    reliability = load.data.get("reliability", {})
    if reliability and not reliability.get("reliable", True):
        reasons = "; ".join(str(r) for r in reliability.get("reasons", []))
        parts.append(f'<p class="warn">Measurement not reliable: {escape(reasons)}</p>')
    parts += [_slo_table(load), "<h3>Latency (ms)</h3>", _latency_table(load)]
    outcomes = {k: v for k, v in load.outcomes.items() if v and k != "ok"}
    if outcomes:
        shown = ", ".join(f"{k} {v}" for k, v in outcomes.items())
        parts.append(f"<p>Failed requests by outcome: {escape(shown)}</p>")
    metrics = load.metrics()
    charts = [
        plots.distribution(metrics.histograms[name], metric=name, title=title_)
        for name, title_ in DISTRIBUTIONS
    ]
    parts.append('<h3>Distributions</h3><div class="charts">')
    parts += [svg.render(chart) for chart in charts]
    parts.append("</div>")
    over_time = plots.over_time(load)
    parts.append("<h3>Over time</h3>")
    if over_time:
        parts.append('<div class="charts">')
        parts += [svg.render(chart) for chart in over_time]
        parts.append("</div>")
    else:
        parts.append(
            "<p>This result file has no timeline (written before pytest-aistack recorded "
            "one); re-run the load test for the over-time charts.</p>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def render(results: Results) -> str:
    body = [
        "<h1>pytest-aistack results</h1>",
        f"<p><code>{escape(str(results.directory))}</code></p>",
        _headline(results),
    ]
    if results.scenarios:
        body.append(_scenarios(results))
    if results.test_runs:
        body.append(_test_runs(results))
    body += [_load(i, load) for i, load in enumerate(results.loads)]
    if results.problems:
        items = "".join(f"<li>{escape(p)}</li>" for p in results.problems)
        body.append(f"<h2>Files that could not be read</h2><ul>{items}</ul>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>pytest-aistack results: {escape(str(results.directory))}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )
