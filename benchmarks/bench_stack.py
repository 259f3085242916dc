"""Reference stack figures against their targets: time to healthy, and the six scenarios.

    .venv/bin/python benchmarks/bench_stack.py

Brings the local reference stack up and down a few times (per-service time to healthy),
then runs ``pytest -m resilience`` once. Prints each figure beside its target and the
load average; exits 0 even when a target is missed (then it says MISSED).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_aistack.stack.factory import REFERENCE_SPEC
from pytest_aistack.stack.local import LocalBackend
from pytest_aistack.stack.spec import load_stack_spec

REPO = Path(__file__).resolve().parent.parent
UP_TARGET_S = 10.0
SCENARIOS_TARGET_S = 60.0
STARTS = 3


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def main() -> int:
    spec = load_stack_spec(REFERENCE_SPEC)
    totals: list[float] = []
    per_service: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        for _ in range(STARTS):
            backend = LocalBackend(spec, log_dir=Path(tmp), kind="bench")
            try:
                stack = backend.up()
            finally:
                backend.down()
            timings: dict[str, float] = stack.extra["timings"]
            totals.append(timings["total"])
            for name, seconds in timings.items():
                if name != "total":
                    per_service.setdefault(name, []).append(seconds)
        print(f"load average before scenarios: {os.getloadavg()[0]:.2f}")
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "scenarios", "-m", "resilience", "-q",
             "-p", "no:cacheprovider", f"--aistack-report-dir={tmp}"],
            cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        scenarios_s = time.monotonic() - started
    print(f"reference stack, {STARTS} starts (load average now {os.getloadavg()[0]:.2f}):")
    for name, values in sorted(per_service.items(), key=lambda kv: max(kv[1])):
        print(f"  {name:<10} healthy after {statistics.median(values):5.2f} s (median)")
    worst = max(totals)
    print(
        f"  aistack up: median {statistics.median(totals):.2f} s, worst {worst:.2f} s "
        f"(target <= {UP_TARGET_S:g} s): {verdict(worst, UP_TARGET_S)}"
    )
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "(no output)"
    print(
        f"pytest -m resilience incl. stack start: {scenarios_s:.1f} s "
        f"(target <= {SCENARIOS_TARGET_S:g} s): {verdict(scenarios_s, SCENARIOS_TARGET_S)}; "
        f"{last}"
    )
    if result.returncode != 0:
        print(f"  scenarios FAILED (exit {result.returncode}):\n{result.stdout[-2000:]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
