"""Embedded Toxiproxy benchmark: added latency, bulk throughput, latency-toxic accuracy.

Run: ``.venv/bin/python benchmarks/bench_toxiproxy.py`` (no arguments; ``make bench``).

Three processes: the embedded Toxiproxy (``aistack toxiproxy``) pinned to CPU 0; an
upstream server (echo, or sink that acknowledges a byte count) and the measuring client,
both pinned to CPU 1. Every figure is measured twice, straight to the upstream
("direct") and through a proxy with no toxics, and printed side by side:

1. small request/response round trips (64 bytes each way, one connection, 5,000 trips):
   added latency at p50 and p99 — targets p50 <= 0.2 ms, p99 <= 1 ms;
2. bulk upload of 256 MiB to the sink: throughput — target >= 100 MB/s through the proxy;
3. a ``latency`` toxic of 100 ms (jitter 0) on the downstream, 100 concurrent
   connections each doing staggered round trips: |measured RTT - direct RTT - 100 ms|
   at p99 — target <= 2 ms. Answers are timed by the kernel (SO_TIMESTAMPNS), so the
   client's own scheduling on a shared core is not counted as proxy error; the server's
   own lateness (its ``aistack_latency_toxic_lateness_seconds`` histogram) is printed
   beside it.

4. the request ledger's cost on HTTP/1.1 traffic: keep-alive round trips (64-byte
   bodies), a 256 MiB Content-Length upload and a 256 MiB chunked download (16 KiB
   chunks, the shape of a long SSE stream), direct and through the proxy with the
   ledger off and on (``PATCH /aistack/ledger``, same server process; five rounds,
   off/on order swapped every round, medians). Targets: the added round-trip latency
   with the ledger on within 110 % of the added latency with it off (p50 and p99),
   throughput with it on >= 90 % of throughput with it off.

Each result is printed against its target (``ok`` or ``MISSED``); the exit code is 0
either way. Uses uvloop for the servers when it is installed.
"""

from __future__ import annotations

import os
import signal
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as a script: the repository root makes pytest_aistack and the benchmarks.* helpers
# (workload, upstream server, measurements) importable.
sys.path.insert(0, str(REPO))

from benchmarks.toxiproxy_measure import (  # noqa: E402
    lateness_p99_bound,
    measure_bulk,
    measure_concurrent,
    measure_ledger_cost,
    measure_round_trips,
    percentile,
)
from benchmarks.toxiproxy_upstream import run_upstream  # noqa: E402
from benchmarks.toxiproxy_workload import (  # noqa: E402
    CLIENT_CPU,
    LEDGER_ROUNDS,
    SERVER_CPU,
    TOXIC_MS,
)
from pytest_aistack.chaos.client import ToxiproxyClient  # noqa: E402
from pytest_aistack.runtime.process import ManagedProcess  # noqa: E402

TARGETS = {"rr_p50_ms": 0.2, "rr_p99_ms": 1.0, "bulk_mb_s": 100.0, "toxic_err_p99_ms": 2.0}
# The ledger's cost: added latency ratio on/off at most this, throughput ratio at least.
LEDGER_LATENCY_RATIO, LEDGER_THROUGHPUT_RATIO = 1.10, 0.90


def _ledger_rows(f: dict[str, float]) -> None:
    print()
    print(
        "request ledger cost on HTTP/1.1 traffic (same server, ledger switched off/on, "
        f"median of {LEDGER_ROUNDS} alternated rounds)"
    )
    header = (
        f"{'metric':<34}{'direct':>10}{'ledger off':>12}{'ledger on':>12}{'on/off':>9}"
        f"  {'target':<12}result"
    )
    print(header)
    print("-" * len(header))
    for q in ("p50", "p99"):
        added_off = f[f"rr_{q}_off"] - f[f"rr_{q}_direct"]
        added_on = f[f"rr_{q}_on"] - f[f"rr_{q}_direct"]
        ratio = added_on / added_off if added_off > 0 else float("inf")
        print(
            f"{f'added round trip {q} (HTTP), ms':<34}{f[f'rr_{q}_direct']:>10.3f}"
            f"{added_off:>+12.3f}{added_on:>+12.3f}{ratio:>8.2f}x  "
            f"{'<= 1.10x':<12}{_verdict(ratio <= LEDGER_LATENCY_RATIO)}"
        )
    for name, label in (
        ("upload", "upload 256 MiB (length)"),
        ("download", "download 256 MiB (chunked)"),
    ):
        ratio = f[f"{name}_on"] / f[f"{name}_off"]
        print(
            f"{label + ', MB/s':<34}{f[f'{name}_direct']:>10.1f}{f[f'{name}_off']:>12.1f}"
            f"{f[f'{name}_on']:>12.1f}{ratio:>8.2f}x  "
            f"{'>= 0.90x':<12}{_verdict(ratio >= LEDGER_THROUGHPUT_RATIO)}"
        )


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--upstream":
        run_upstream()
        return 0
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so the child processes are stopped.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    os.sched_setaffinity(0, {CLIENT_CPU})
    logs = Path(tempfile.mkdtemp(prefix="bench-toxiproxy-"))
    server_argv = [
        sys.executable,
        "-c",
        f"import os, sys; os.sched_setaffinity(0, {{{SERVER_CPU}}}); "
        "from pytest_aistack.cli import main; "
        "sys.exit(main(['toxiproxy', '--host', '127.0.0.1', '--port', '0']))",
    ]
    server = ManagedProcess("toxiproxy", server_argv, log_path=logs / "toxiproxy.log", cwd=REPO)
    upstream = ManagedProcess(
        "bench-upstream",
        [sys.executable, __file__, "--upstream"],
        log_path=logs / "upstream.log",
        cwd=REPO,
    )
    with server, upstream:
        url = server.wait_ready(timeout=30)["url"]
        direct = upstream.wait_ready(timeout=30)["address"]
        with ToxiproxyClient(url) as client:
            proxied = client.create_proxy("bench", direct).listen

            rr_direct = measure_round_trips(direct)
            rr_proxy = measure_round_trips(proxied)
            bulk_direct = measure_bulk(direct)
            bulk_proxy = measure_bulk(proxied)
            ledger = measure_ledger_cost(client, direct, proxied)
            base_direct = measure_concurrent(direct)
            client.add_toxic("bench", "latency", {"latency": TOXIC_MS, "jitter": 0})
            with_toxic = measure_concurrent(proxied)
            lateness_p99 = lateness_p99_bound(client.metrics())

    load = os.getloadavg()
    p50_direct, p99_direct = percentile(rr_direct, 50), percentile(rr_direct, 99)
    p50_proxy, p99_proxy = percentile(rr_proxy, 50), percentile(rr_proxy, 99)
    added_p50, added_p99 = p50_proxy - p50_direct, p99_proxy - p99_direct
    base = statistics.median(base_direct)
    errors = [abs(rtt - base - TOXIC_MS) for rtt in with_toxic]
    err_p50, err_p99 = percentile(errors, 50), percentile(errors, 99)

    print(f"embedded Toxiproxy benchmark (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
    print(f"server on CPU {SERVER_CPU}; upstream and client on CPU {CLIENT_CPU}")
    print()
    header = f"{'metric':<34}{'direct':>12}{'proxied':>12}{'added/ratio':>14}  {'target':<12}result"
    print(header)
    print("-" * len(header))
    print(
        f"{'round trip p50 (64 B), ms':<34}{p50_direct:>12.3f}{p50_proxy:>12.3f}"
        f"{added_p50:>+14.3f}  {'<= 0.2 ms':<12}{_verdict(added_p50 <= TARGETS['rr_p50_ms'])}"
    )
    print(
        f"{'round trip p99 (64 B), ms':<34}{p99_direct:>12.3f}{p99_proxy:>12.3f}"
        f"{added_p99:>+14.3f}  {'<= 1 ms':<12}{_verdict(added_p99 <= TARGETS['rr_p99_ms'])}"
    )
    print(
        f"{'bulk upload 256 MiB, MB/s':<34}{bulk_direct:>12.1f}{bulk_proxy:>12.1f}"
        f"{bulk_proxy / bulk_direct:>13.2f}x  {'>= 100 MB/s':<12}"
        f"{_verdict(bulk_proxy >= TARGETS['bulk_mb_s'])}"
    )
    print(
        f"{'latency 100 ms x100 conns: |err| p50':<34}{'':>12}{err_p50:>12.3f}{'':>14}  "
        f"{'(info)':<12}"
    )
    print(
        f"{'latency 100 ms x100 conns: |err| p99':<34}{base:>12.3f}{err_p99:>12.3f}{'':>14}  "
        f"{'<= 2 ms':<12}{_verdict(err_p99 <= TARGETS['toxic_err_p99_ms'])}"
    )
    print(
        f"{'  of which the server itself, p99':<34}{'':>12}{lateness_p99:>12}{'':>14}  "
        f"{'(info)':<12}"
    )
    _ledger_rows(ledger)
    print()
    print(
        "direct column of the toxic rows: median direct RTT (ms) under the same 100-connection "
        "load, subtracted from each proxied RTT before comparing with 100 ms. The server's "
        "own figure is how late it released chunks after their due time (its /metrics "
        "histogram); the rest of the error is scheduling of the three processes."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
