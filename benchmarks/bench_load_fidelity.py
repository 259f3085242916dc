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

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Run as a script: the repository root makes pytest_aistack and the benchmarks.* helpers
# (the child scripts, the runs) importable.
sys.path.insert(0, str(REPO))

from benchmarks.fidelity_runs import (  # noqa: E402
    CONCURRENCY,
    CYCLE_S,
    ITL_MS,
    LOCKSTEP_USERS,
    TOKENS,
    TTFT_MS,
    run_floor,
    run_ours,
    run_plain,
    server_side_split,
)
from benchmarks.fidelity_scripts import OUR_LOCUSTFILE, PLAIN_LOCUSTFILE  # noqa: E402
from pytest_aistack.runtime.process import ManagedProcess  # noqa: E402

TARGETS = {"ttft_p50": 0.5, "ttft_p99": 2.0, "itl_p50": 0.1, "itl_p99": 1.0}
CAPACITY_TARGET = 1000.0


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
            rows.append(run_ours(work, url, users, CYCLE_S))
            rows[-1].update(server_side_split(work / f"records-{users}", url, token))
            _print_row(rows[-1])
        lockstep = run_ours(work, url, LOCKSTEP_USERS, 0.0)
        lockstep.update(server_side_split(work / f"records-{LOCKSTEP_USERS}-lockstep", url, token))
        _print_row(lockstep)
        plain = run_plain(work, url, CONCURRENCY[-1])
        floor = run_floor(work, url, token)
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
