"""Mock LLM server benchmark: throughput, timing fidelity, memory per stream.

Run: ``.venv/bin/python benchmarks/bench_mock_llm.py`` (no arguments; ``make bench``).

The server (``aistack mock-llm``, a real subprocess) is pinned to CPU 0; the load
client, a minimal raw-socket asyncio client in another process (``mock_llm_client.py``,
started as this script with ``--client``), to CPU 1. Each of N client streams is one
keep-alive connection sending streaming chat requests back to back; starts are spread
over one request's duration so streams are not in lockstep.

Figures, each against its target (docs/mock_llm.md, issue 3):
1. sustained content events/s at 1,000 streams, ITL 10 ms (and TTFT error p99);
2. timing fidelity at 500 streams, TTFT 50 ms, ITL 10 ms, no jitter:
   |delivered - configured| p50/p99 for TTFT and ITL;
3. server memory per open stream (RSS growth with 1,000 streams held open).

The machine may be shared: the load average is printed beside the figures, and the
process CPU use of server and client says which side was the limit.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Run as a script: the repository root makes pytest_aistack and benchmarks.mock_llm_client
# importable.
sys.path.insert(0, str(ROOT))

from benchmarks.mock_llm_client import client_process  # noqa: E402
from pytest_aistack.runtime.process import ManagedProcess  # noqa: E402
from pytest_aistack.runtime.waiting import wait_until  # noqa: E402

SERVER_CPU = 0
CLIENT_DEADLINE_S = 120.0

TARGET_EVENTS_PER_S = 80_000
TARGET_TTFT_ERR_P99_MS = 5.0
TARGET_FIDELITY_P50_MS = 1.0
TARGET_FIDELITY_P99_MS = 5.0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _run_delay_s(pid: int) -> float:
    """Seconds the process was runnable but waiting for a CPU (/proc/PID/schedstat)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Server:
    def __init__(self, workdir: Path) -> None:
        argv = [
            sys.executable, "-m", "pytest_aistack.cli", "mock-llm",
            "--host", "127.0.0.1", "--port", "0", "--name", "bench", "--model", "qwen",
            "--max-recorded-requests", "1000",
        ]  # fmt: skip
        self.process = ManagedProcess("mock-llm", argv, log_path=workdir / "server.log", cwd=ROOT)

    def __enter__(self) -> _Server:
        self.process.start()
        ready = self.process.wait_ready(30.0)
        assert self.process.pid is not None
        self.pid = self.process.pid
        os.sched_setaffinity(self.pid, {SERVER_CPU})
        self.url = ready["url"]
        self.host, port = self.url.removeprefix("http://").rsplit(":", 1)
        self.port = int(port)
        self.token = ready["admin_token"]
        return self

    def get(self, path: str) -> str:
        import httpx

        headers = {"authorization": f"Bearer {self.token}"}
        return httpx.get(self.url + path, headers=headers, timeout=10.0).text

    def server_ttft_error_ms(self, ttft_ms: float) -> list[float]:
        """TTFT as the server saw it (request read -> first token written), minus target."""
        records = json.loads(self.get("/admin/stats?last=1000"))["requests"].values()
        return sorted(
            abs((r["first_token_at"] - r["received_at"]) * 1000 - ttft_ms)
            for r in records
            if r["first_token_at"] is not None
        )

    def timer_lateness(self) -> str:
        late = json.loads(self.get("/admin/stats?requests=0"))["timer_lateness"]
        return f"server timer lateness p50 {late['p50_ms']} ms, p99 {late['p99_ms']} ms"

    def __exit__(self, *exc: object) -> None:
        self.process.stop(grace=5.0)


def _run_client(workdir: Path, name: str, params: dict[str, Any]) -> dict[str, Any]:
    out = workdir / f"{name}.json"
    argv = [sys.executable, __file__, "--client", json.dumps(params), str(out)]
    with ManagedProcess(name, argv, log_path=workdir / f"{name}.log", cwd=ROOT) as client:
        if client.wait_exit(CLIENT_DEADLINE_S) != 0 or not out.exists():
            raise RuntimeError(f"bench client {name} failed; log:\n{client.tail()}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def bench_throughput(workdir: Path) -> None:
    streams, ttft_ms, itl_ms, tokens = 1000, 100.0, 10.0, 100
    offered = streams * tokens / ((ttft_ms + itl_ms * (tokens - 1)) / 1000.0)
    with _Server(workdir) as server:
        cpu0, wait0, t0 = _cpu_s(server.pid), _run_delay_s(server.pid), time.monotonic()
        result = _run_client(
            workdir,
            "throughput",
            {
                "host": server.host, "port": server.port, "streams": streams,
                "ttft_ms": ttft_ms, "itl_ms": itl_ms, "tokens": tokens,
                "warmup_s": 3.0, "measure_s": 8.0,
            },
        )  # fmt: skip
        wall = time.monotonic() - t0
        server_cpu = (_cpu_s(server.pid) - cpu0) / wall
        server_wait = (_run_delay_s(server.pid) - wait0) / wall
        lateness = server.timer_lateness()
        server_ttft = server.server_ttft_error_ms(ttft_ms)
    eps = result["events_per_s"]
    ttft_err_p99 = _pct(result["ttft_s"], 0.99) * 1000 - ttft_ms
    print(
        f"1) sustained throughput, {streams} streams, ITL {itl_ms:g} ms, TTFT {ttft_ms:g} ms, "
        f"{tokens} tokens/request (offered ~{offered:,.0f} events/s)"
    )
    print(
        f"   content events/s: {eps:,.0f}   target >= {TARGET_EVENTS_PER_S:,}   "
        f"{_verdict(eps >= TARGET_EVENTS_PER_S)}"
    )
    print(
        f"   TTFT error p99: {ttft_err_p99:+.2f} ms   target <= {TARGET_TTFT_ERR_P99_MS:g} ms   "
        f"{_verdict(ttft_err_p99 <= TARGET_TTFT_ERR_P99_MS)}"
    )
    print(
        f"   server CPU {server_cpu:.0%} of one core (runnable but waiting for the CPU "
        f"{server_wait:.0%} of the time), client CPU {result['client_cpu']:.0%}, "
        f"connection errors {result['errors']}; {lateness}"
    )
    lag = result["loop_lag_s"]
    print(
        f"   diagnosis: server-side |TTFT error| p99 {_pct(server_ttft, 0.99):.2f} ms; "
        f"client loop lag p50 {_pct(lag, 0.5) * 1000:.2f} ms, p99 {_pct(lag, 0.99) * 1000:.2f} ms"
    )


def bench_fidelity(workdir: Path) -> None:
    streams, ttft_ms, itl_ms, tokens = 500, 50.0, 10.0, 50
    with _Server(workdir) as server:
        wait0, t0 = _run_delay_s(server.pid), time.monotonic()
        result = _run_client(
            workdir,
            "fidelity",
            {
                "host": server.host, "port": server.port, "streams": streams,
                "ttft_ms": ttft_ms, "itl_ms": itl_ms, "tokens": tokens,
                "warmup_s": 2.0, "measure_s": 6.0,
            },
        )  # fmt: skip
        lateness = server.timer_lateness()
        server_wait = (_run_delay_s(server.pid) - wait0) / (time.monotonic() - t0)
        server_ttft = server.server_ttft_error_ms(ttft_ms)
    ttft_err = sorted(abs(v * 1000 - ttft_ms) for v in result["ttft_s"])
    itl_err = sorted(abs(v * 1000 - itl_ms) for v in result["itl_s"])
    print(
        f"2) timing fidelity, {streams} streams, TTFT {ttft_ms:g} ms, ITL {itl_ms:g} ms, no jitter"
    )
    for label, errs in (("TTFT", ttft_err), ("ITL ", itl_err)):
        p50, p99 = _pct(errs, 0.5), _pct(errs, 0.99)
        ok = p50 <= TARGET_FIDELITY_P50_MS and p99 <= TARGET_FIDELITY_P99_MS
        print(
            f"   {label} |delivered-configured| p50 {p50:.2f} ms, p99 {p99:.2f} ms "
            f"({len(errs):,} samples)   target p50 <= {TARGET_FIDELITY_P50_MS:g}, "
            f"p99 <= {TARGET_FIDELITY_P99_MS:g} ms   {_verdict(ok)}"
        )
    lag = result["loop_lag_s"]
    print(
        f"   client CPU {result['client_cpu']:.0%}, events/s {result['events_per_s']:,.0f}; "
        f"{lateness}; server waited for the CPU {server_wait:.0%} of the time"
    )
    print(
        f"   diagnosis: server-side |TTFT error| p50 {_pct(server_ttft, 0.5):.2f} ms, "
        f"p99 {_pct(server_ttft, 0.99):.2f} ms (last {len(server_ttft)} requests); "
        f"client loop lag p50 {_pct(lag, 0.5) * 1000:.2f} ms, p99 {_pct(lag, 0.99) * 1000:.2f} ms"
    )


def bench_memory(workdir: Path) -> None:
    streams = 1000
    with _Server(workdir) as server:
        before = _rss_kib(server.pid)
        out = workdir / "hold.json"
        params = {
            "host": server.host, "port": server.port, "streams": streams, "hold": True,
            "hold_s": 30.0, "ttft_ms": 600_000.0, "itl_ms": 10.0, "tokens": 16,
        }  # fmt: skip
        argv = [sys.executable, __file__, "--client", json.dumps(params), str(out)]
        with ManagedProcess("hold", argv, log_path=workdir / "hold.log", cwd=ROOT) as client:
            client.wait_ready(60.0)
            # Every stream has its headers: poll the server's in-flight gauge.
            wait_until(
                lambda: f"mock_llm_in_flight {streams}\n" in server.get("/metrics"),
                timeout=30.0,
                what=f"all {streams} streams to be open",
                interval=0.1,
            )
            after = _rss_kib(server.pid)
    per_stream = (after - before) * 1024 / streams
    print(f"3) memory per open stream ({streams} streams held open after their headers)")
    print(
        f"   server RSS {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB: "
        f"{per_stream / 1024:.1f} KiB per stream"
    )


def main() -> int:
    if len(os.sched_getaffinity(0)) < 2:
        print("bench_mock_llm: needs 2 CPUs (server and client pinned apart); skipped")
        return 0
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-mock-llm-") as tmp:
        workdir = Path(tmp)
        bench_throughput(workdir)
        bench_fidelity(workdir)
        bench_memory(workdir)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--client":
        client_process(sys.argv[2], sys.argv[3])
        sys.exit(0)
    sys.exit(main())
