"""Render collected results as Markdown (GitHub's ``$GITHUB_STEP_SUMMARY`` and terminals)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pytest_aistack.load.results import LoadResult
from pytest_aistack.report.collect import OUTCOMES, Results
from pytest_aistack.resilience.records import resilience_matrix

# The latency rows shown per load run, in this order (definitions: docs/metrics.md).
LOAD_METRICS = ("ttft", "itl", "tpot", "e2e")
LOAD_STATS = ("p50", "p90", "p95", "p99", "max")
MESSAGE_LIMIT = 300


def cell(value: object) -> str:
    """One table cell: pipes escaped, newlines as <br>, never empty."""
    text = str(value).replace("|", "\\|").replace("\r", "").strip()
    return text.replace("\n", "<br>") or " "


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def _num(value: Any, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _headline(results: Results) -> str:
    parts = []
    if results.scenarios:
        failed = len(results.failed_scenarios)
        parts.append(f"{len(results.scenarios) - failed}/{len(results.scenarios)} scenarios passed")
    if results.test_runs:
        cases = [c for run in results.test_runs for c in run.cases]
        parts.append(f"{len(cases) - len(results.failed_tests)}/{len(cases)} tests without failure")
    if results.loads:
        met = len(results.loads) - len(results.unmet_loads)
        parts.append(f"{met}/{len(results.loads)} load runs met their SLOs")
    if results.problems:
        parts.append(f"{len(results.problems)} unreadable file(s)")
    verdict = "PASS" if results.ok else "FAIL"
    return f"**{verdict}**: " + ("; ".join(parts) if parts else "no results found")


def _scenarios(results: Results) -> list[str]:
    """The resiliency matrix: dependency x fault -> verdict, one row per promise checked."""
    lines = ["", "### Resiliency matrix", ""]
    rows = [
        (
            row.dependency,
            row.fault,
            row.promise,
            f"**{row.verdict}**",
            row.expected,
            "\n".join(row.observed),
            row.scenario,
            f"{row.seconds:.1f}",
        )
        for row in resilience_matrix(results.scenarios)
    ]
    header = ("dependency", "fault", "promise", "verdict", "expected", "observed", "scenario", "s")
    lines += table(header, rows)
    return lines


def _test_runs(results: Results) -> list[str]:
    lines = ["", "### Test runs (JUnit)", ""]
    rows = [
        (run.path.name, *(run.count(o) for o in OUTCOMES), f"{run.seconds:.1f}")
        for run in results.test_runs
    ]
    lines += table(("file", *OUTCOMES, "s"), rows)
    failures = results.failed_tests
    if failures:
        lines += ["", "Failures:", ""]
        for run, case in failures:
            message = case.message[:MESSAGE_LIMIT].replace("\n", " ")
            lines.append(f"- `{case.name}` ({run.path.name}, {case.outcome}): {message}")
    return lines


def _load(load: LoadResult) -> list[str]:
    run = load.data.get("run", {})
    summary = load.summary
    title = run.get("locustfile") or load.path.stem
    verdict = "SLOs met" if load.slo_passed else "SLOs NOT met"
    lines = ["", f"### Load: {title} — **{verdict}**", ""]
    error_rate = summary.get("error_rate")
    facts = [
        f"host {run['host']}" if run.get("host") else None,
        f"{summary.get('requests', 0)} requests",
        f"{summary.get('ok_requests', 0)} ok",
        "error rate " + ("n/a" if error_rate is None else f"{error_rate:.2%}"),
        f"{_num(summary.get('requests_per_s'), 2)} req/s",
        f"{_num(summary.get('output_tokens_per_s'))} output tok/s",
        f"goodput {_num(summary.get('goodput_per_s'), 2)} req/s",
        f"window {_num(summary.get('window_s'))} s",
    ]
    lines.append(" · ".join(f for f in facts if f))
    lines.append("")
    latency = summary.get("latency_ms", {})
    rows = []
    for metric in LOAD_METRICS:
        stats = latency.get(metric)
        if stats and stats.get("count"):
            rows.append((metric, stats["count"], *(_num(stats.get(s)) for s in LOAD_STATS)))
    lines += table(("metric (ms)", "count", *LOAD_STATS), rows)
    slo = load.data.get("slo", {})
    if slo.get("results"):
        lines += ["", "SLOs:", ""]
        for result in slo["results"]:
            mark = "met" if result.get("met") else "**NOT met**"
            value = result.get("value")
            shown = "n/a (no samples)" if value is None else f"{value:.6g}"
            lines.append(f"- `{result.get('term')}`: measured {shown} — {mark}")
    reliability = load.data.get("reliability", {})
    if reliability and not reliability.get("reliable", True):
        reasons = "; ".join(str(r) for r in reliability.get("reasons", []))
        lines += ["", f"Measurement not reliable: {reasons}"]
    outcomes = {k: v for k, v in summary.get("outcomes", {}).items() if v and k != "ok"}
    if outcomes:
        lines += [
            "",
            "Failed requests by outcome: " + ", ".join(f"{k} {v}" for k, v in outcomes.items()),
        ]
    return lines


def render(results: Results) -> str:
    lines = [f"## pytest-aistack results: `{results.directory}`", "", _headline(results)]
    if results.scenarios:
        lines += _scenarios(results)
    if results.test_runs:
        lines += _test_runs(results)
    for load in results.loads:
        lines += _load(load)
    if results.problems:
        lines += ["", "### Files that could not be read", ""]
        lines += [f"- {problem}" for problem in results.problems]
    return "\n".join(lines) + "\n"
