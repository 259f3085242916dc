"""The load-fidelity benchmark's runs: the mock's workload, one locust run, and the figures.

Each ``run_*`` drives one child process (locust with our LLMUser, plain locust, the
raw-socket floor client) against the mock LLM and returns its figures; the
``server_side_split`` compares them with the mock's own records (``/admin/stats``).
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.fidelity_scripts import FLOOR_CLIENT
from pytest_aistack.metrics.histogram import Histogram, bucket_bounds
from pytest_aistack.runtime.process import ManagedProcess

REPO = Path(__file__).resolve().parents[1]
TTFT_MS, ITL_MS, TOKENS = 50.0, 10.0, 32
CONCURRENCY = (1, 64, 256, 384, 416, 448, 512)
DURATION_S = {1: 4, 64: 6, 256: 8, 384: 8, 416: 8, 448: 8, 512: 8}
# One request's duration: the users' starts are spread over it (--llm-start-spread).
CYCLE_S = (TTFT_MS + (TOKENS - 1) * ITL_MS) / 1000
LOCKSTEP_USERS = 256


def run_locust(
    work: Path, name: str, locustfile: str, url: str, users: int, args: list[str]
) -> int:
    process = ManagedProcess(
        f"locust-{name}",
        ["taskset", "-c", "0", sys.executable, "-m", "locust", "-f", str(work / locustfile),
         "--headless", "--host", url, "-u", str(users), "-r", str(users),
         "-t", f"{DURATION_S[users]}s", "--only-summary", "--stop-timeout", "0", *args],
        log_path=work / f"{name}.log",
        cwd=REPO,
    )  # fmt: skip
    process.start()
    try:
        return process.wait_exit(timeout=DURATION_S[users] + 90)
    finally:
        process.stop()


def run_ours(work: Path, url: str, users: int, spread_s: float) -> dict[str, Any]:
    suffix = "" if spread_s else "-lockstep"
    name = f"ours-{users}{suffix}"
    code = run_locust(
        work, name, "ours.py", url, users,
        ["--llm-results", str(work), "--llm-results-name", name,
         "--llm-dump-records", str(work / f"records-{users}{suffix}"),
         "--llm-start-spread", str(spread_s)],
    )  # fmt: skip
    data = json.loads((work / f"{name}.json").read_text())
    summary = data["summary"]
    hists = data["histograms"]["histograms"]
    ttft_err = _abs_error(hists["ttft"], TTFT_MS)
    itl_err = _abs_error(hists["itl"], ITL_MS)
    locust_ttft = data["run"]["locust_stats"].get("TTFT", {})
    ok = summary["outcomes"]["ok"]
    return {
        "users": users,
        "label": f"{users} streams" + (" in lockstep" if not spread_s else ""),
        "exit": code,
        "requests": summary["requests"],
        "ok": ok,
        "ttft_p50": ttft_err[50.0],
        "ttft_p99": ttft_err[99.0],
        "itl_p50": itl_err[50.0],
        "itl_p99": itl_err[99.0],
        "locust_ttft_p50": _minus(locust_ttft.get("p50_ms"), TTFT_MS),
        "locust_ttft_p99": _minus(locust_ttft.get("p99_ms"), TTFT_MS),
        "tokens_exact": summary["output_tokens"] == TOKENS * summary["requests"]
        and not summary["output_tokens_estimated"]
        and ok == summary["requests"],
        "streams_per_s": summary["requests_per_s"] or 0.0,
        "events_per_s": summary["output_tokens_per_s"] or 0.0,
        "reliable": data["reliability"]["reliable"],
        "reasons": data["reliability"]["reasons"],
        "cpu": _first_process_cpu(data["reliability"]["processes"]),
    }


def _first_process_cpu(processes: dict[str, dict[str, Any]]) -> float | None:
    for figures in processes.values():
        cpu = figures.get("cpu_percent_mean")
        return float(cpu) if cpu is not None else None
    return None


def run_floor(work: Path, url: str, token: str) -> dict[str, float]:
    script = work / "floor.py"
    script.write_text(FLOOR_CLIENT)
    done = subprocess.run(
        ["taskset", "-c", "0", sys.executable, str(script), url, token, "30"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    pairs = json.loads(done.stdout)
    errors = sorted(abs(ttft - TTFT_MS) for ttft, _ in pairs)
    splits = sorted(split for _, split in pairs)

    def pick(values: list[float], q: float) -> float:
        return values[max(0, math.ceil(q * len(values)) - 1)]

    return {
        "p50": pick(errors, 0.5),
        "p99": pick(errors, 0.99),
        "split_p50": pick(splits, 0.5),
        "split_p99": pick(splits, 0.99),
    }


def run_plain(work: Path, url: str, users: int) -> dict[str, Any]:
    run_locust(work, "plain", "plain.py", url, users, ["--csv", str(work / "plain")])
    stats: dict[str, Any] = {}
    with (work / "plain_stats.csv").open() as file:
        for row in csv.DictReader(file):
            stats[f"{row['Type']} {row['Name']}"] = row
    stream = stats.get("POST /v1/chat/completions", {})
    ttft = stats.get("PLAIN TTFT", {})
    duration = DURATION_S[users]
    return {
        "users": users,
        "requests": int(stream.get("Request Count", 0)),
        "failures": int(stream.get("Failure Count", 0)),
        "streams_per_s": int(stream.get("Request Count", 0)) / duration,
        "builtin_p50": _minus(_float(stream.get("50%")), TTFT_MS),
        "builtin_p99": _minus(_float(stream.get("99%")), TTFT_MS),
        "hand_ttft_p50": _minus(_float(ttft.get("50%")), TTFT_MS),
        "hand_ttft_p99": _minus(_float(ttft.get("99%")), TTFT_MS),
    }


def server_side_split(records_dir: Path, url: str, token: str) -> dict[str, Any]:
    """Our TTFT minus the mock's own (first token sent - request received), per request.

    The mock's timers are part of the error against the configured 50 ms; this
    difference is the rest: the generator, the loopback, and the time the mock took
    to read the request before stamping ``received_at`` (which its own clock cannot
    see) — an upper bound on what the generator adds.
    """
    request = urllib.request.Request(
        url + "/admin/stats", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        server = json.loads(response.read())["requests"]
    # Each run's records only: the next fetch stays small (token times are ~0.6 KB each).
    reset = urllib.request.Request(
        url + "/admin/reset", method="POST", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(reset, timeout=30):
        pass
    split = Histogram()
    own_ttft = Histogram()  # |our TTFT - the mock's actual TTFT|
    own_itl = Histogram()  # |our ITL - the gap between the mock's sends of the two tokens|
    mock_itl = Histogram()  # |the mock's actual ITL - configured|
    server_error = Histogram()
    to_request = Histogram()
    to_us = Histogram()
    # CLOCK_MONOTONIC is system-wide: this process's offset converts the generator's
    # monotonic stamps to the mock's wall-clock ones (to ~µs, NTP slew aside).
    offset_ns = time.time_ns() - time.monotonic_ns()
    for path in records_dir.glob("records-*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            seen = server.get(record["request_id"])
            if record["outcome"] != "ok" or not seen or not record["content_ns"]:
                continue
            ours_ns = record["content_ns"][0] - record["sent_ns"]
            theirs_ns = (seen["first_token_at"] - seen["received_at"]) * 1e9
            split.record(max(0, round(ours_ns - theirs_ns)))
            own_ttft.record(round(abs(ours_ns - theirs_ns)))
            sent = seen.get("token_times") or []
            if len(sent) == len(record["content_ns"]):
                content = record["content_ns"]
                for i in range(1, len(content)):
                    actual_ns = (sent[i] - sent[i - 1]) * 1e9
                    own_itl.record(round(abs(content[i] - content[i - 1] - actual_ns)))
                    mock_itl.record(round(abs(actual_ns - ITL_MS * 1e6)))
            server_error.record(round(abs(theirs_ns - TTFT_MS * 1e6)))
            # send -> the mock has read the request; the mock wrote the first token ->
            # it reached our socket (kernel receive timestamp).
            to_request.record(
                max(0, round(seen["received_at"] * 1e9 - record["sent_ns"] - offset_ns))
            )
            to_us.record(
                max(0, round(record["content_ns"][0] + offset_ns - seen["first_token_at"] * 1e9))
            )
    figures: dict[str, Any] = {
        "own_ttft_p50": _percentile_ms(own_ttft, 50),
        "own_ttft_p99": _percentile_ms(own_ttft, 99),
        "own_itl_p50": _percentile_ms(own_itl, 50),
        "own_itl_p99": _percentile_ms(own_itl, 99),
        "mock_itl_p50": _percentile_ms(mock_itl, 50),
        "mock_itl_p99": _percentile_ms(mock_itl, 99),
    }
    if not split.count:
        return figures | dict.fromkeys(
            (
                "gen_p50",
                "gen_p99",
                "srv_p50",
                "srv_p99",
                "req_p50",
                "req_p99",
                "resp_p50",
                "resp_p99",
            )
        )
    return figures | {
        "gen_p50": split.percentile(50) / 1e6,
        "gen_p99": split.percentile(99) / 1e6,
        "srv_p50": server_error.percentile(50) / 1e6,
        "srv_p99": server_error.percentile(99) / 1e6,
        "req_p50": to_request.percentile(50) / 1e6,
        "req_p99": to_request.percentile(99) / 1e6,
        "resp_p50": to_us.percentile(50) / 1e6,
        "resp_p99": to_us.percentile(99) / 1e6,
    }


def _percentile_ms(histogram: Histogram, q: float) -> float | None:
    return histogram.percentile(q) / 1e6 if histogram.count else None


def _abs_error(serialised: dict[str, Any], configured_ms: float) -> dict[float, float]:
    """Percentiles of |value - configured| (ms), from the exact histogram's buckets."""
    configured_ns = configured_ms * 1e6
    errors = Histogram()
    for index, count in serialised["buckets"]:
        low, high = bucket_bounds(int(index))
        middle = min(max((low + high - 1) / 2, serialised["min"]), serialised["max"])
        errors.record(round(abs(middle - configured_ns)), count)
    return {q: errors.percentile(q) / 1e6 for q in (50.0, 99.0)}


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _minus(value: float | None, configured: float) -> float | None:
    return None if value is None else abs(value - configured)
