"""The load step of ``make demo``: a short ``locustfiles/burst.py`` run against the gateway."""

from __future__ import annotations

import sys
from pathlib import Path

from pytest_aistack.runtime.process import ManagedProcess, ProcessError

from .results import ResultFileError, read_result

REPO = Path(__file__).resolve().parents[2]
BURST = REPO / "locustfiles" / "burst.py"
# 12 s: 4 users, 4x burst from 3 s to 8 s — enough to see the burst in TTFT.
DEMO_SHAPE = [
    "--shape-users", "4", "--burst-multiplier", "4", "--burst-at", "3",
    "--burst-for", "5", "--shape-duration", "12",
]  # fmt: skip
DEADLINE_S = 120.0


def run_demo_burst(profile_file: Path, env: dict[str, str], report_dir: Path) -> list[str]:
    from pytest_aistack.stack.profile import load_profile

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
        code = locust.wait_exit(DEADLINE_S)
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
