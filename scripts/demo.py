"""``make demo``: the main job, end to end, on the local reference stack.

1. bring the reference stack up (LiteLLM, Redis, mock backends, Toxiproxy in between);
2. run ``pytest -m resilience`` on ``scenarios/`` against it (as an external stack);
3. run a short load burst (:func:`run_burst` — the hook for ``locustfiles/burst.py``);
4. print the resiliency matrix: dependency | fault | promise | expected | observed |
   verdict, one row per scenario (the promise it checks);
5. tear everything down — also on Ctrl-C or a failure.

Exit code: pytest's (0 when every scenario held).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from pytest_aistack.resilience.records import RESULTS_FILE, load_records
from pytest_aistack.resilience.table import format_table
from pytest_aistack.settings import resolve_outside_pytest
from pytest_aistack.stack.export import secrets_env, write_external_profile
from pytest_aistack.stack.factory import make_backend

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
BURST_LOCUSTFILE = REPO / "locustfiles" / "burst.py"
PYTEST_DEADLINE_S = 300.0


def run_scenarios(profile_file: Path, env: dict[str, str], report_dir: Path) -> int:
    """``pytest -m resilience`` in a child process, driving the running stack."""
    argv = [
        sys.executable,
        "-m",
        "pytest",
        str(SCENARIOS),
        "-m",
        "resilience",
        "-q",
        "-p",
        "no:cacheprovider",
        "--aistack-backend=external",
        f"--aistack-profile={profile_file}",
        f"--aistack-report-dir={report_dir}",
    ]
    try:
        return subprocess.run(argv, env=env, cwd=REPO, timeout=PYTEST_DEADLINE_S).returncode
    except subprocess.TimeoutExpired:
        print(f"demo: the scenarios did not finish within {PYTEST_DEADLINE_S:g}s", file=sys.stderr)
        return 1


def run_burst(profile_file: Path, env: dict[str, str], report_dir: Path) -> list[str]:
    """Hook for the load step: a short burst from ``locustfiles/burst.py``.

    The load area provides ``pytest_aistack.load.demo_burst(profile_file, env,
    report_dir) -> list[str]`` (lines to print); until it exists this step says so.
    """
    if not BURST_LOCUSTFILE.exists():
        return [f"burst: skipped ({BURST_LOCUSTFILE.relative_to(REPO)} not present)"]
    try:
        from pytest_aistack.load import demo_burst
    except ImportError:
        return ["burst: skipped (pytest_aistack.load.demo_burst not available yet)"]
    lines: list[str] = demo_burst(profile_file, env, report_dir)
    return lines


def main() -> int:
    settings = resolve_outside_pytest().settings
    report_dir = settings.report_dir.resolve()
    backend, profile = make_backend(settings, kind="demo")
    started = time.monotonic()
    print("demo: bringing the reference stack up…", flush=True)
    try:
        stack = backend.up()
        took = stack.extra.get("timings", {}).get("total", time.monotonic() - started)
        print(f"demo: stack healthy in {took:.1f}s; gateway {stack.gateway_url}", flush=True)
        state = stack.log_dir or report_dir
        profile_file = write_external_profile(stack, profile, state / "aistack.yaml")
        env = {**os.environ, **secrets_env(stack, profile)}
        (report_dir / RESULTS_FILE).unlink(missing_ok=True)
        scenarios_started = time.monotonic()
        code = run_scenarios(profile_file, env, report_dir)
        scenario_s = time.monotonic() - scenarios_started
        burst = run_burst(profile_file, env, report_dir)
    except KeyboardInterrupt:
        print("demo: interrupted; stopping the stack", file=sys.stderr)
        return 130
    finally:
        backend.down()
    try:
        records = load_records(report_dir)
    except FileNotFoundError:
        print(f"demo: no scenario results in {report_dir / RESULTS_FILE}", file=sys.stderr)
        return code or 1
    print()
    print(format_table(records))
    passed = sum(r.verdict == "PASS" for r in records)
    print(f"\n{passed}/{len(records)} scenarios held in {scenario_s:.1f}s (pytest exit {code})")
    for line in burst:
        print(line)
    return code


if __name__ == "__main__":
    sys.exit(main())
