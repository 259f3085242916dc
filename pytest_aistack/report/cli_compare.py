"""``aistack compare BASELINE.json CURRENT.json``: per-metric deltas; exit 1 on a regression.

Exit codes: 0 no metric regressed beyond its tolerance, 1 at least one did, 2 a
file could not be read, is not a load result, or the runs are not comparable.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pytest_aistack.report.compare import (
    DEFAULT_TOLERANCES,
    Comparison,
    Delta,
    Tolerance,
)

HELP = "compare a load result with a baseline: per-metric deltas, exit 1 on a regression"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("baseline", metavar="BASELINE.json", type=Path)
    parser.add_argument("current", metavar="CURRENT.json", type=Path)
    parser.add_argument(
        "--tolerance",
        "-t",
        action="append",
        default=[],
        metavar="TERMS",
        help="e.g. 'ttft_p99_ms=20%%, itl_*=25%% min 1ms, error_rate=0.005, tpot_*=off', or "
        f"@FILE with one term per line; overrides the defaults: {DEFAULT_TOLERANCES}",
    )
    parser.add_argument(
        "--allow-mismatch",
        action="store_true",
        help="compare runs whose model, kind, arrival, user class or users differ",
    )
    parser.add_argument(
        "--format", choices=("text", "markdown", "json"), default="text", help="default: text"
    )


def run(args: argparse.Namespace) -> int:
    from pytest_aistack.errors import ConfigError
    from pytest_aistack.load.results import ResultFileError, read_result
    from pytest_aistack.report.compare import compare, parse_tolerances

    try:
        terms = [t for text in args.tolerance for t in parse_tolerances(text, source="--tolerance")]
        baseline = read_result(args.baseline)
        current = read_result(args.current)
        comparison = compare(baseline, current, terms, allow_mismatch=args.allow_mismatch)
    except (ConfigError, ResultFileError) as exc:  # also ToleranceError, CompareError
        print(f"aistack compare: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        sys.stdout.write(json.dumps(as_json(comparison), indent=1) + "\n")
    elif args.format == "markdown":
        sys.stdout.write(markdown(comparison))
    else:
        sys.stdout.write(text(comparison))
    return 0 if comparison.passed else 1


def _value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"


def _row(delta: Delta) -> list[str]:
    change, relative = delta.change, delta.relative
    return [
        delta.metric,
        _value(delta.baseline),
        _value(delta.current),
        "n/a" if change is None else f"{change:+.6g}",
        "n/a" if relative is None else f"{relative:+.1%}",
        _tolerance(delta.tolerance, delta.better),
        delta.verdict.upper() if delta.verdict == "regression" else delta.verdict,
    ]


def _tolerance(tolerance: Tolerance, better: str) -> str:
    if tolerance.off:
        return "off"
    sign = "+" if better == "lower" else "-"
    return f"{sign}{tolerance.text}"


HEADER = ["metric", "baseline", "current", "delta", "change", "tolerance", "verdict"]


def _verdict_lines(comparison: Comparison) -> list[str]:
    regressions = comparison.regressions
    checked = [d for d in comparison.deltas if d.verdict not in ("n/a", "not checked")]
    if not regressions:
        return [f"compare passed: none of {len(checked)} metrics regressed beyond tolerance"]
    return [
        f"REGRESSION: {len(regressions)} of {len(checked)} metrics worse beyond tolerance:",
        *(f"- {d.describe()}" for d in regressions),
    ]


def _heading(comparison: Comparison) -> list[str]:
    def describe(label: str, result: Any) -> str:
        run = result.data.get("run", {})
        when = run.get("started_at") or "?"
        return f"{label} {result.path} ({result.requests} requests, started {when})"

    return [describe("baseline", comparison.baseline), describe("current ", comparison.current)]


def text(comparison: Comparison) -> str:
    rows = [HEADER, *(_row(d) for d in comparison.deltas)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = _heading(comparison)
    lines += [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    lines += [f"warning: {w}" for w in comparison.warnings]
    lines += _verdict_lines(comparison)
    return "\n".join(lines) + "\n"


def markdown(comparison: Comparison) -> str:
    from pytest_aistack.report.markdown import table

    verdict = "passed" if comparison.passed else "**REGRESSION**"
    lines = ["### Baseline compare: " + verdict, ""]
    lines += [f"- {line}" for line in _heading(comparison)]
    lines += ["", *table(HEADER, (_row(d) for d in comparison.deltas)), ""]
    lines += [f"Warning: {w}" for w in comparison.warnings]
    lines += _verdict_lines(comparison)
    return "\n".join(lines) + "\n"


def as_json(comparison: Comparison) -> dict[str, Any]:
    return {
        "baseline": str(comparison.baseline.path),
        "current": str(comparison.current.path),
        "passed": comparison.passed,
        "metrics": [
            {
                "metric": d.metric,
                "better": d.better,
                "baseline": d.baseline,
                "current": d.current,
                "change": d.change,
                "relative_change": d.relative,
                "tolerance": d.tolerance.text,
                "verdict": d.verdict,
            }
            for d in comparison.deltas
        ],
        "regressions": [d.describe() for d in comparison.regressions],
        "warnings": list(comparison.warnings),
    }
