"""``aistack report``: summarize a results directory as Markdown, JSON or an HTML page."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

HELP = "summarize a results directory: scenario verdicts, test runs, load runs and SLOs"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results_dir",
        metavar="RESULTS_DIR",
        type=Path,
        nargs="?",
        default=Path("results"),
        help="directory the runs wrote their result files to (default: results)",
    )
    parser.add_argument(
        "--format",
        choices=("markdown", "json", "html"),
        default="markdown",
        help="markdown (default; fits $GITHUB_STEP_SUMMARY), json, or html (one self-contained "
        "page with plots; use with -o report.html)",
    )
    parser.add_argument(
        "--output", "-o", type=Path, default=None, help="write here instead of stdout"
    )
    parser.add_argument(
        "--fail-on-failures",
        action="store_true",
        help="exit 1 when a scenario or test failed, an SLO was missed or a file was unreadable",
    )


def as_json(results: Any) -> dict[str, Any]:
    return {
        "directory": str(results.directory),
        "ok": results.ok,
        "scenarios": [asdict(s) for s in results.scenarios],
        "test_runs": [
            {
                "file": str(run.path),
                "counts": {o: run.count(o) for o in ("passed", "failed", "error", "skipped")},
                "failures": [asdict(c) for c in run.cases if c.outcome in ("failed", "error")],
            }
            for run in results.test_runs
        ],
        "loads": [
            {
                "file": str(load.path),
                "run": load.data.get("run", {}),
                "slo": load.data.get("slo", {}),
                "summary": {k: v for k, v in load.summary.items() if k != "error_examples"},
            }
            for load in results.loads
        ],
        "problems": results.problems,
    }


def run(args: argparse.Namespace) -> int:
    from pytest_aistack.report.collect import ReportError, collect
    from pytest_aistack.report.markdown import render

    try:
        results = collect(args.results_dir)
    except ReportError as exc:
        print(f"aistack report: {exc}", file=sys.stderr)
        return 2
    if results.empty and not results.problems:
        print(
            f"aistack report: {args.results_dir} holds no result files (resilience.json, "
            "JUnit *.xml, load *.json); run the suite or a locustfile with it as report dir",
            file=sys.stderr,
        )
        return 1
    if args.format == "json":
        text = json.dumps(as_json(results), indent=1) + "\n"
    elif args.format == "html":
        from pytest_aistack.report.html import render as render_html

        text = render_html(results)
    else:
        text = render(results)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    return 1 if args.fail_on_failures and not results.ok else 0
