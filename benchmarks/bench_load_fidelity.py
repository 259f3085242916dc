"""Fidelity and capacity of the LLM load generator (LLMUser) against the mock LLM.

Setup: the mock LLM (TTFT 50 ms, ITL 10 ms, 32 tokens, no jitter) pinned to CPU 1,
locust pinned to CPU 0 (one load-generator core). For 1, 64, 256, 384, 416, 448 and 512
concurrent closed-loop streams, their starts spread over one request's duration
(``--llm-start-spread``, 0.36 s), it prints, per run:

- TTFT and ITL error |measured - configured| at p50/p99 (from our exact histograms;
  the error includes the mock's own timing error), beside Locust's own statistics
  for the same TTFT events (Locust rounds its percentiles);
- whether token counts are exact (usage == 32 per request);
- streams/s and content events/s, and the self-check verdict.

The mock runs with ``--precise-timers`` (it spins to each deadline on its own core, so
its writes are not subject to uvloop's 1 ms timer resolution) and records each content
token's send time (``--record-token-times``), so each
row also splits the error: the mock's own timing (its first-token and per-token send
times against the configuration) and the load generator's own error, |measured - the
mock's actual| (TTFT against the mock's first_token_at - received_at, each ITL against
the gap between the mock's send times of the two tokens). The issue's targets assume a
truth server accurate to ~0.1 ms; the generator's own error is that figure, printed
with the same targets beside the end-to-end |measured - configured| verdicts.

One more run at 256 streams starts them in lockstep (Locust's default: a spawn batch
starts at once). Against a server with fixed timing the users then stay in lockstep,
every request arrives in a herd of 256, and the last of each herd waits for the mock
to read the 255 before it: the row shows that wait ("request until the mock read it")
as the TTFT p99 error, which is queueing in the server, not the generator's error.

Then capacity: the highest streams/s of a run whose errors met the targets and whose
self-check found it reliable, and its
ratio to a plain Locust FastHttpUser that reads the same streams with a minimal hand
line parser at the same concurrency (the plain user's built-in response time for a
streamed request is its time to headers, printed as Locust's built-in "TTFT").

Targets at 256 streams: TTFT p50 <= 0.5 ms, p99 <= 2 ms; ITL p50 <= 0.1 ms,
p99 <= 1 ms; tokens exact. Capacity >= 1,000 streams/s (32,000 events/s).
Exit code 0 even when a target is missed (it says MISSED).
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pytest_aistack.metrics.histogram import Histogram, bucket_bounds  # noqa: E402
from pytest_aistack.runtime.process import ManagedProcess  # noqa: E402

TTFT_MS, ITL_MS, TOKENS = 50.0, 10.0, 32
CONCURRENCY = (1, 64, 256, 384, 416, 448, 512)
DURATION_S = {1: 4, 64: 6, 256: 8, 384: 8, 416: 8, 448: 8, 512: 8}
# One request's duration: the users' starts are spread over it (--llm-start-spread).
CYCLE_S = (TTFT_MS + (TOKENS - 1) * ITL_MS) / 1000
LOCKSTEP_USERS = 256
TARGETS = {"ttft_p50": 0.5, "ttft_p99": 2.0, "itl_p50": 0.1, "itl_p99": 1.0}
CAPACITY_TARGET = 1000.0

OUR_LOCUSTFILE = """
from pytest_aistack.load.user import LLMUser

class Bench(LLMUser):
    max_tokens = 32
"""

PLAIN_LOCUSTFILE = """
import json, time
from locust import FastHttpUser, task, constant

BODY = json.dumps({"model": "mock-model", "stream": True, "max_tokens": 32,
    "stream_options": {"include_usage": True},
    "messages": [{"role": "user", "content": "hello"}]})

class Plain(FastHttpUser):
    wait_time = constant(0)
    connection_timeout = 10.0
    network_timeout = 10.0

    @task
    def stream(self):
        sent = time.perf_counter()
        first = None
        events = 0
        with self.client.post("/v1/chat/completions", data=BODY, stream=True,
                              headers={"Content-Type": "application/json"},
                              catch_response=True) as response:
            body = response.stream
            while True:
                line = body.readline(b"\\n")
                if not line or line.startswith(b"data: [DONE]"):
                    break
                content = line.startswith(b"data: ") and b'"content":"' in line
                if content and b'"content":""' not in line:
                    events += 1
                    if first is None:
                        first = time.perf_counter()
            if events == 32:
                response.success()
            else:
                response.failure(f"{events} content events")
        if first is not None:
            self.environment.events.request.fire(request_type="PLAIN", name="TTFT",
                response_time=(first - sent) * 1000, response_length=events,
                exception=None, context={})
"""


FLOOR_CLIENT = """
import json, socket, sys, time, urllib.request
url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = url.split("//")[1].split(":")
body = json.dumps({"model": "mock-model", "stream": True, "max_tokens": 32,
    "messages": [{"role": "user", "content": "hi"}]}).encode()
out = []
for i in range(n):
    rid = "floor-%d-%d" % (time.time_ns(), i)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    head = ("POST /v1/chat/completions HTTP/1.1\\r\\nHost: x\\r\\n"
            "Content-Type: application/json\\r\\nx-request-id: %s\\r\\n"
            "Content-Length: %d\\r\\nConnection: close\\r\\n\\r\\n" % (rid, len(body)))
    sent = time.monotonic_ns()
    s.sendall(head.encode() + body)
    first, buf = None, b""
    while b"[DONE]" not in buf:
        data = s.recv(65536)
        if not data:
            break
        buf += data
        if first is None and b'"content":"tok0"' in buf:
            first = time.monotonic_ns()
    s.close()
    out.append((rid, (first - sent) / 1e6))
request = urllib.request.Request(url + "/admin/stats", headers={"Authorization": "Bearer " + token})
server = json.loads(urllib.request.urlopen(request, timeout=30).read())["requests"]
print(json.dumps([[ttft, ttft - (server[rid]["first_token_at"] - server[rid]["received_at"]) * 1e3]
                  for rid, ttft in out]))
"""


def main() -> int:
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        print("needs taskset and 2 CPUs (mock on CPU 1, generator on CPU 0); MISSED: not run")
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    (work / "ours.py").write_text(OUR_LOCUSTFILE)
    (work / "plain.py").write_text(PLAIN_LOCUSTFILE)
    print(f"load average before: {_loadavg()}")
    mock = ManagedProcess(
        "mock-llm",
        ["taskset", "-c", "1", sys.executable, "-m", "pytest_aistack.cli", "mock-llm",
         "--host", "127.0.0.1", "--port", "0", "--model", "mock-model",
         "--ttft-ms", str(TTFT_MS), "--itl-ms", str(ITL_MS), "--jitter-ms", "0",
         "--output-tokens", str(TOKENS), "--max-recorded-requests", "200000",
         "--record-token-times", "--precise-timers"],
        log_path=work / "mock.log",
        cwd=REPO,
    )  # fmt: skip
    rows: list[dict[str, Any]] = []
    try:
        mock.start()
        ready = mock.wait_ready(timeout=30)
        url, token = str(ready["url"]), str(ready["admin_token"])
        for users in CONCURRENCY:
            rows.append(_run_ours(work, url, users, CYCLE_S))
            rows[-1].update(_server_side_split(work / f"records-{users}", url, token))
            _print_row(rows[-1])
        lockstep = _run_ours(work, url, LOCKSTEP_USERS, 0.0)
        lockstep.update(_server_side_split(work / f"records-{LOCKSTEP_USERS}-lockstep", url, token))
        _print_row(lockstep)
        plain = _run_plain(work, url, CONCURRENCY[-1])
        floor = _run_floor(work, url, token)
    finally:
        mock.stop()
    _print_summary(rows, plain, lockstep)
    print(
        f"\n== floor: a minimal blocking raw-socket client, 1 stream, same core: TTFT err "
        f"p50/p99 {_fmt(floor['p50'])}/{_fmt(floor['p99'])} ms; minus the mock's own TTFT "
        f"{_fmt(floor['split_p50'])}/{_fmt(floor['split_p99'])} ms (compare the 1-stream row)"
    )
    print(f"load average after: {_loadavg()}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _locust(work: Path, name: str, locustfile: str, url: str, users: int, args: list[str]) -> int:
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


def _run_ours(work: Path, url: str, users: int, spread_s: float) -> dict[str, Any]:
    suffix = "" if spread_s else "-lockstep"
    name = f"ours-{users}{suffix}"
    code = _locust(
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


def _run_floor(work: Path, url: str, token: str) -> dict[str, float]:
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


def _run_plain(work: Path, url: str, users: int) -> dict[str, Any]:
    _locust(work, "plain", "plain.py", url, users, ["--csv", str(work / "plain")])
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


def _server_side_split(records_dir: Path, url: str, token: str) -> dict[str, Any]:
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


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _print_row(row: dict[str, Any]) -> None:
    print(
        f"{row['label']}: {row['requests']:>6} requests ({row['ok']} ok)  "
        f"TTFT err p50/p99 {_fmt(row['ttft_p50'])}/{_fmt(row['ttft_p99'])} ms "
        f"[Locust stats {_fmt(row['locust_ttft_p50'])}/{_fmt(row['locust_ttft_p99'])}]  "
        f"ITL err p50/p99 {_fmt(row['itl_p50'])}/{_fmt(row['itl_p99'])} ms [Locust: none]\n"
        f"       of the TTFT error: the mock's own timing {_fmt(row['srv_p50'])}/"
        f"{_fmt(row['srv_p99'])} ms; the rest (generator + loopback + mock's read delay) "
        f"{_fmt(row['gen_p50'])}/"
        f"{_fmt(row['gen_p99'])} ms = request until the mock read it "
        f"{_fmt(row['req_p50'])}/{_fmt(row['req_p99'])} + first token from the mock's write "
        f"to our socket {_fmt(row['resp_p50'])}/{_fmt(row['resp_p99'])} ms\n"
        f"       the generator's own error |measured - the mock's actual|: TTFT "
        f"{_fmt(row['own_ttft_p50'])}/{_fmt(row['own_ttft_p99'])} ms, ITL "
        f"{_fmt(row['own_itl_p50'])}/{_fmt(row['own_itl_p99'])} ms; the mock's own ITL "
        f"error {_fmt(row['mock_itl_p50'])}/{_fmt(row['mock_itl_p99'])} ms\n       "
        f"tokens {'exact' if row['tokens_exact'] else 'NOT exact'}  "
        f"{row['streams_per_s']:.0f} streams/s {row['events_per_s']:.0f} events/s  "
        f"cpu {row['cpu']}%  {'reliable' if row['reliable'] else 'unreliable'}",
        flush=True,
    )
    for reason in row["reasons"]:
        print(f"       self-check: {reason}")


def _within_targets(row: dict[str, Any]) -> bool:
    return bool(row["tokens_exact"]) and all(row[k] <= v for k, v in TARGETS.items())


def _print_summary(
    rows: list[dict[str, Any]], plain: dict[str, Any], lockstep: dict[str, Any]
) -> None:
    print(
        f"\n== fidelity at 256 streams, starts spread over {CYCLE_S:.2f} s "
        "(targets: TTFT p50<=0.5 p99<=2 ms; ITL p50<=0.1 p99<=1 ms)"
    )
    row256 = next(r for r in rows if r["users"] == 256)
    for key, target in TARGETS.items():
        verdict = "ok" if row256[key] <= target else "MISSED"
        print(f"  {key:<9} {row256[key]:.3f} ms (target <= {target}) {verdict}")
    print(f"  tokens    {'exact' if row256['tokens_exact'] else 'NOT exact — MISSED'}")
    print(
        "  the generator's own error |measured - the mock's actual send times| at 256 streams "
        "(the mock's timing error taken out; same targets):"
    )
    for key, target in TARGETS.items():
        value = row256[f"own_{key}"]
        verdict = "n/a" if value is None else "ok" if value <= target else "MISSED"
        print(f"  {key:<9} {_fmt(value)} ms (target <= {target}) {verdict}")
    print(
        f"  in lockstep (Locust's default start, all 256 users at once): TTFT err p99 "
        f"{_fmt(lockstep['ttft_p99'])} ms, of which the request waited for the mock to read "
        f"it {_fmt(lockstep['req_p99'])} ms at p99 — each herd of 256 requests queues in "
        f"the mock, not in the generator"
    )
    # A run counts only when its errors met the targets and its own self-check trusted
    # its timings (CPU and loop lag under their limits).
    within = [r for r in rows if _within_targets(r) and r["reliable"]]
    best = max(within, key=lambda r: r["streams_per_s"]) if within else None
    print("\n== capacity (target >= 1000 streams/s of 32-token responses, >= 32000 events/s)")
    errors_only = [r for r in rows if _within_targets(r) and r not in within]
    for row in errors_only:
        print(
            f"  ({row['label']}: {row['streams_per_s']:.0f} streams/s within the error targets, "
            f"not counted: the self-check marked it unreliable)"
        )
    if best is None:
        print("  no reliable run stayed within the fidelity targets: MISSED")
        best_rate = 0.0
    else:
        best_rate = best["streams_per_s"]
        verdict = "ok" if best_rate >= CAPACITY_TARGET else "MISSED"
        print(
            f"  {best_rate:.0f} streams/s, {best['events_per_s']:.0f} events/s within targets "
            f"(at {best['users']} streams) {verdict}"
        )
    top = rows[-1]
    print(
        f"  at {top['users']} streams regardless of fidelity: "
        f"{top['streams_per_s']:.0f} streams/s, {top['events_per_s']:.0f} events/s"
    )
    print(
        f"  plain FastHttpUser + hand line parser, {plain['users']} streams: "
        f"{plain['streams_per_s']:.0f} streams/s ({plain['failures']} failures); "
        f"ratio ours/plain {top['streams_per_s'] / plain['streams_per_s']:.2f}"
        if plain["streams_per_s"]
        else "  plain FastHttpUser: no completed streams"
    )
    print(
        f"  plain user TTFT err p50/p99 {_fmt(plain['hand_ttft_p50'])}/"
        f"{_fmt(plain['hand_ttft_p99'])} ms (Locust-rounded); Locust's built-in response "
        f"time for the streamed request is off by {_fmt(plain['builtin_p50'])}/"
        f"{_fmt(plain['builtin_p99'])} ms (it is the time to headers, not TTFT)"
    )


def _loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (2 cores, shared machine)"


if __name__ == "__main__":
    sys.exit(main())
