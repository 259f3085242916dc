"""Result directories written by the real writers of each part, for the report tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_aistack.load.results import build_result, write_result_files
from pytest_aistack.metrics import RunMetrics
from pytest_aistack.metrics.record import Outcome, RequestRecord
from pytest_aistack.metrics.slo import evaluate, parse_slo
from pytest_aistack.metrics.summary import Summary
from pytest_aistack.resilience.records import ScenarioRecord, save_records
from pytest_aistack.settings import get_settings

from .browser import chromium_version, find_chromium

MS = 1_000_000
S = 1_000_000_000
RUN_START_NS = 1_700_000_000 * S  # a whole wall-clock second


def burst_run(
    seconds: int = 20, burst: tuple[int, int] = (6, 12), *, extra_ttft_ms: int = 0
) -> RunMetrics:
    """4 users, 12 during ``burst`` (s from, s to); 429s and slower TTFT in the burst."""
    metrics = RunMetrics(parse_slo("ttft_p99_ms<=500, error_rate<=0.05"))
    number = 0
    for second in range(seconds):
        in_burst = burst[0] <= second < burst[1]
        users = 12 if in_burst else 4
        for quarter in range(4):
            metrics.timeline.note_users(RUN_START_NS + second * S + quarter * S // 4, users)
        for i in range(users * 2):
            number += 1
            sent = RUN_START_NS + second * S + i * (S // (users * 2) // 2)
            if in_burst and i % 3 == 0:
                metrics.add(
                    RequestRecord(
                        f"r{number}", sent, sent + 3 * MS, Outcome.HTTP_ERROR, status=429
                    ),
                    0,
                )
                continue
            ttft = (150 if in_burst else 50) + (i * 7) % 40 + extra_ttft_ms
            content = [sent + (ttft + k * 10) * MS for k in range(8)]
            metrics.add(
                RequestRecord(
                    f"r{number}",
                    sent,
                    content[-1] + MS,
                    Outcome.OK,
                    first_byte_ns=sent + 2 * MS,
                    content_ns=content,
                    status=200,
                    usage_output_tokens=8,
                ),
                0,
            )
    return metrics


def write_load(directory: Path, name: str, metrics: RunMetrics, **run: object) -> Path:
    """The result files of ``metrics``; ``run`` overrides fields of the result's "run"."""
    assert metrics.slo is not None
    summary = Summary.from_metrics(metrics)
    result = build_result(
        run={"locustfile": "locustfiles/burst.py", "host": "http://127.0.0.1:4000",
             "model": "mock-model", "users_max": 12, **run},
        metrics=metrics,
        slo=metrics.slo,
        slo_results=evaluate(metrics.slo, summary.slo_values()),
        reliability={"reliable": True, "reasons": []},
    )  # fmt: skip
    return write_result_files(result, directory, name)[0]


def write_scenarios(directory: Path) -> None:
    save_records(
        [
            ScenarioRecord(
                "one_deployment_down",
                "proxy of vllm-a disabled (connection refused)",
                "no failures; vllm-b serves",
                ["6/6 ok", "served by vllm-b"],
                "PASS",
                5.0,
                dependency="vllm-a",
                promise="policy.allowed_fails, policy.cooldown_s",
            ),
            ScenarioRecord(
                "stream_cut",
                "limit_data 600 B on vllm-a",
                "explicit failure",
                ["200 with a clean end <and no error>"],
                "FAIL",
                2.5,
                dependency="vllm-a",
                promise="policy.stream_timeout_s",
            ),
            ScenarioRecord(
                "redis_down", "proxy of redis disabled", "cache bypassed", ["ok"], "PASS", 3.0,
                dependency="redis", promise="policy.cache_ttl_s",
            ),
        ],
        directory,
    )  # fmt: skip


@pytest.fixture(scope="session")
def chromium(pytestconfig: pytest.Config) -> str:
    """A headless Chromium executable; skips (fails under --aistack-strict) without one."""
    executable, reason = find_chromium()
    if executable is not None:
        try:
            version = chromium_version(executable)
        except (OSError, subprocess.TimeoutExpired) as exc:
            executable, reason = None, f"{executable} --version failed: {exc}"
        else:
            if not version:
                executable, reason = None, f"{executable} --version printed nothing"
    if executable is None:
        if get_settings(pytestconfig).strict:
            pytest.fail(f"chromium: {reason}", pytrace=False)
        pytest.skip(f"chromium: {reason}")
    return executable
