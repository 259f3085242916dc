"""Verdict power: does the resilience suite catch each seeded defect, and pass when healthy?

    .venv/bin/python benchmarks/verdict_power.py [--healthy N] [--only SUBSTRING ...]
    make verdict-power [HEALTHY_RUNS=N] [DEFECTS='allowed_fails|rpm']

Runs ``pytest -m resilience`` on a fresh copy of the reference stack once per defect of
``benchmarks/seeded_defects.py`` (the profile unchanged, so every promise stays what it
was), then N times on the healthy copy. Each run starts its own stack
(``--aistack-stack-file``), one after the other: the scenarios time the gateway, and two
runs at once on a small machine would measure each other.

Prints a Markdown table — defect, caught?, by which scenario(s), the first failure
message — the catch rate, the healthy pass count and every run's wall time; writes the
same to ``<out>/verdict-power.md`` and ``verdict-power.json``. Exit 0 only when every
defect that is not equivalent was caught and every healthy run passed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.seeded_defects import DEFECTS, Defect, write_stack
from pytest_aistack.resilience.records import load_records

REPO = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 60.0
MESSAGE_CHARS = 220


@dataclass
class Run:
    label: str
    equivalent: str = ""
    exit_code: int | None = None  # None: the run timed out
    seconds: float = 0.0
    failed: dict[str, str] = field(default_factory=dict)  # scenario -> first failure line
    passed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    log: str = ""

    @property
    def clean(self) -> bool:
        return self.exit_code == 0 and not self.failed

    @property
    def caught(self) -> bool:
        return bool(self.failed) or self.exit_code != 0


def run_suite(label: str, defect: Defect | None, work: Path, pytest_args: list[str]) -> Run:
    stack_file = write_stack(defect, work / "stack")
    report_dir = work / "report"
    log = work / "pytest.log"
    argv = [
        sys.executable, "-m", "pytest", str(REPO / "scenarios"), "-m", "resilience", "-q",
        "-p", "no:cacheprovider", "--aistack-backend", "local",
        f"--aistack-stack-file={stack_file}", f"--aistack-report-dir={report_dir}",
        *pytest_args,
    ]  # fmt: skip
    run = Run(label=label, equivalent=defect.equivalent if defect else "", log=str(log))
    started = time.monotonic()
    with log.open("w") as out:
        # Own session: on a timeout the whole run (pytest and the stack it started) is ours
        # to stop, Ctrl-C first so the aistack_stack fixture tears the stack down.
        process = subprocess.Popen(
            argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            run.exit_code = process.wait(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _stop(process)
    run.seconds = round(time.monotonic() - started, 1)
    try:
        records = load_records(report_dir)
    except (OSError, ValueError):
        records = []
    for record in records:
        if record.verdict == "FAIL":
            failure = next((o for o in record.observed if o.startswith("failed: ")), "")
            run.failed[record.scenario] = failure.removeprefix("failed: ")[:MESSAGE_CHARS]
        elif record.verdict == "PASS":
            run.passed.append(record.scenario)
        elif record.verdict == "SKIP":
            run.skipped.append(record.scenario)
    if run.exit_code != 0 and not run.failed:
        run.failed["(no scenario)"] = _last_line(log)
    return run


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)


def _last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return (lines[-1] if lines else "no output")[:MESSAGE_CHARS]


def table(defects: list[Run], healthy: list[Run]) -> str:
    rows = ["| defect | caught? | by scenario(s) | first failure message |", "|---|---|---|---|"]
    for run in defects:
        if run.equivalent:
            verdict = "equivalent" + (" (caught!)" if run.caught else "")
        else:
            verdict = "yes" if run.caught else "**NO**"
        by = ", ".join(run.failed) or "-"
        message = next(iter(run.failed.values()), run.equivalent)
        rows.append(f"| {run.label} | {verdict} | {by} | {_cell(message)} |")
    counted = [r for r in defects if not r.equivalent]
    caught = sum(r.caught for r in counted)
    rate = f"{100 * caught / len(counted):.0f} %" if counted else "n/a"
    passes = sum(r.clean for r in healthy)
    walls = [r.seconds for r in (*healthy, *defects)]
    lines = [
        *rows,
        "",
        f"catch rate: {caught} of {len(counted)} defects ({rate}); "
        f"{len(defects) - len(counted)} equivalent (not counted)",
        f"healthy runs: {passes} of {len(healthy)} passed"
        + "".join(
            f"\n  - {r.label}: {', '.join(r.failed)} ({r.log})" for r in healthy if not r.clean
        ),
        "suite wall time (s): healthy "
        + (", ".join(f"{r.seconds:g}" for r in healthy) or "-")
        + (f"; all runs {min(walls):g}-{max(walls):g}" if walls else ""),
    ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--healthy", type=int, default=20, help="healthy runs (default 20)")
    parser.add_argument(
        "--only", action="append", default=[], help="run only defects whose name contains this"
    )
    parser.add_argument("--healthy-only", action="store_true", help="no defect runs")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "verdict-power")
    parser.add_argument("pytest_args", nargs="*", help="passed to each pytest run (after --)")
    args = parser.parse_args(argv)
    chosen = [d for d in DEFECTS if not args.only or any(s in d.name for s in args.only)]
    if args.healthy_only:
        chosen = []
    if args.only and not chosen and not args.healthy_only:
        parser.error(f"--only {args.only}: no defect matches; names: {[d.name for d in DEFECTS]}")
    args.out.mkdir(parents=True, exist_ok=True)
    defects: list[Run] = []
    healthy: list[Run] = []
    report = table(defects, healthy)
    with tempfile.TemporaryDirectory(prefix="verdict-power-") as tmp:
        plan = [(d.name, d) for d in chosen] + [
            (f"healthy {i + 1}", None) for i in range(args.healthy)
        ]
        for i, (label, defect) in enumerate(plan):
            work = Path(tmp) / f"run-{i:02d}"
            run = run_suite(label, defect, work, args.pytest_args)
            kept = args.out / f"run-{i:02d}.log"
            kept.write_text(Path(run.log).read_text(errors="replace"))
            run.log = str(kept)
            (defects if defect is not None else healthy).append(run)
            status = "clean" if run.clean else f"FAILED {', '.join(run.failed)}"
            print(f"[{i + 1}/{len(plan)}] {label}: {status} ({run.seconds:g} s)", flush=True)
            # Partial results are written after every run.
            report = table(defects, healthy)
            (args.out / "verdict-power.md").write_text(report)
            (args.out / "verdict-power.json").write_text(
                json.dumps(
                    {
                        "defects": [asdict(r) for r in defects],
                        "healthy": [asdict(r) for r in healthy],
                    },
                    indent=2,
                )
            )
    print()
    print(report, end="")
    missed = [r for r in defects if not r.equivalent and not r.caught]
    return 0 if not missed and all(r.clean for r in healthy) else 1


if __name__ == "__main__":
    sys.exit(main())
