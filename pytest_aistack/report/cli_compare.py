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

from pytest_aistack.load.baseline import (
    DEFAULT_TOLERANCES,
    HEADER,
    Comparison,
    heading,
    row,
    text,
    verdict_lines,
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
    from pytest_aistack.load.baseline import compare, parse_tolerances
    from pytest_aistack.load.results import ResultFileError, read_result

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


def markdown(comparison: Comparison) -> str:
    from pytest_aistack.report.markdown import table

    verdict = "passed" if comparison.passed else "**REGRESSION**"
    lines = ["### Baseline compare: " + verdict, ""]
    lines += [f"- {line}" for line in heading(comparison)]
    lines += ["", *table(HEADER, (row(d) for d in comparison.deltas)), ""]
    lines += [f"Warning: {w}" for w in comparison.warnings]
    lines += verdict_lines(comparison)
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
