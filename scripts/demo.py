"""``make demo``: the main job, end to end, on the local reference stack.

1. bring the reference stack up (LiteLLM, Redis, mock backends, Toxiproxy in between);
2. run ``pytest -m resilience`` on ``scenarios/`` against it (as an external stack);
3. run a short load burst of ``locustfiles/burst.py`` (:func:`run_burst`);
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

from pytest_aistack.load.results import ResultFileError, read_result
from pytest_aistack.resilience.records import RESULTS_FILE, load_records
from pytest_aistack.resilience.table import format_table
from pytest_aistack.runtime.process import ManagedProcess, ProcessError
from pytest_aistack.settings import resolve_outside_pytest
from pytest_aistack.stack.export import secrets_env, write_external_profile
from pytest_aistack.stack.factory import make_backend
from pytest_aistack.stack.profile import load_profile

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
BURST = REPO / "locustfiles" / "burst.py"
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


# 12 s: 4 users, 4x burst from 3 s to 8 s — enough to see the burst in TTFT.
DEMO_SHAPE = [
    "--shape-users", "4", "--burst-multiplier", "4", "--burst-at", "3",
    "--burst-for", "5", "--shape-duration", "12",
]  # fmt: skip
BURST_DEADLINE_S = 120.0


def run_burst(profile_file: Path, env: dict[str, str], report_dir: Path) -> list[str]:
    """The load step: a short burst of ``locustfiles/burst.py`` through the gateway; the
    lines to print (its summary block and the SLO verdict)."""
    profile = load_profile(profile_file)
    key = env.get(profile.gateway_key_env, "")
    command = [
        sys.executable, "-m", "locust", "-f", str(BURST), "--headless",
        "--host", profile.gateway_url, "--llm-model", profile.primary_group,
        "--llm-results", str(report_dir), "--llm-results-name", "burst", "--only-summary",
        *DEMO_SHAPE,
    ]  # fmt: skip
    log = report_dir / "burst-locust.log"
    locust = ManagedProcess(
        "locust", command, log_path=log, env={**env, "AISTACK_API_KEY": key}, cwd=REPO
    )
    locust.start()
    try:
        code = locust.wait_exit(BURST_DEADLINE_S)
    except ProcessError as exc:
        return [f"burst: {exc}"]
    finally:
        locust.stop()
    try:
        result = read_result(report_dir / "burst.json")
    except ResultFileError as exc:
        return [f"burst: locust exited with {code} and wrote no result ({exc}); log {log}"]
    text = log.read_text(errors="replace")
    start = text.find("== pytest-aistack LLM summary")
    end = text.find("Type     Name", start)
    block = text[start:end].rstrip().splitlines() if start >= 0 else []
    lines = [line for line in block if not line.startswith("[")]  # drop Locust's log lines
    verdict = "SLOs met" if result.slo_passed else "SLOs NOT met"
    lines.append(f"burst: locust exit code {code}, {verdict}; result {result.path}")
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
