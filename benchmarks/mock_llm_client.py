"""The mock LLM benchmark's load client: N keep-alive raw-socket streams (its own process).

``bench_mock_llm.py`` starts it as ``bench_mock_llm.py --client PARAMS_JSON OUT_PATH``;
it pins itself to CLIENT_CPU, runs one measurement (or holds the streams open) and
writes its figures to OUT_PATH as JSON.
"""

from __future__ import annotations

import array
import asyncio
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

CLIENT_CPU = 1
CONTENT_MARK = b'"delta":{"content":"'  # content chunks only; the role chunk differs
END_MARK = b"\r\n0\r\n\r\n"  # the chunked terminator after the last chunk


class _Bench:
    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.measuring = False
        self.measure_start = float("inf")
        self.running = True
        self.events = 0
        self.ttft = array.array("d")
        self.itl = array.array("d")
        self.open_streams = 0
        self.errors = 0


class _Stream(asyncio.Protocol):
    def __init__(self, bench: _Bench, request: bytes) -> None:
        self.bench = bench
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.sent_at = 0.0
        self.last: float | None = None
        self.tail = b""
        self.headers_seen = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.bench.open_streams += 1
        self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.bench.open_streams -= 1
        if self.bench.running:
            self.bench.errors += 1

    def send(self) -> None:
        assert self.transport is not None
        self.sent_at = time.monotonic()
        self.last = None
        self.tail = b""
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        bench = self.bench
        n = data.count(CONTENT_MARK)
        if n:
            if bench.measuring:
                bench.events += n
                if self.last is None:
                    # Only requests sent inside the window: a connection's first request
                    # can wait out TCP retransmissions while 1,000 connections open,
                    # which is connection setup, not the server's TTFT.
                    if self.sent_at >= bench.measure_start:
                        bench.ttft.append(now - self.sent_at)
                else:
                    bench.itl.append(now - self.last)
                for _ in range(n - 1):
                    bench.itl.append(0.0)  # arrived in the same read as the one before
            self.last = now
        tail = (self.tail + data[-7:])[-7:]
        self.tail = tail
        if tail == END_MARK:
            if bench.running:
                self.send()
            elif self.transport is not None:
                self.transport.close()


async def _client_main(params: dict[str, Any]) -> dict[str, Any]:
    bench = _Bench(params)
    loop = asyncio.get_running_loop()
    host, port = params["host"], params["port"]
    body = json.dumps(
        {
            "model": "qwen",
            "messages": [{"role": "user", "content": "benchmark"}],
            "stream": True,
            "max_tokens": params["tokens"],
        }
    ).encode()
    profile = f"ttft_ms={params['ttft_ms']},itl_ms={params['itl_ms']},jitter_ms=0"
    profile += f",output_tokens={params['tokens']}"
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}:{port}\r\n"
        f"content-type: application/json\r\nx-mock-profile: {profile}\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body
    streams = params["streams"]
    period = (params["ttft_ms"] + params["itl_ms"] * (params["tokens"] - 1)) / 1000.0
    hold = params.get("hold", False)
    transports: list[asyncio.BaseTransport] = []
    start = time.monotonic()
    for i in range(streams):
        # Spread starts over one request duration so the streams are not in lockstep.
        delay = start + (i * period / streams if not hold else 0) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        transport, _ = await loop.create_connection(lambda: _Stream(bench, request), host, port)
        transports.append(transport)
    if hold:
        # Keep the streams open (inside the loop) while the parent measures the server.
        print("AISTACK_READY " + json.dumps({"service": "bench-client"}), flush=True)
        await asyncio.sleep(params["hold_s"])
        return {"open_streams": bench.open_streams}
    await asyncio.sleep(params["warmup_s"])
    cpu0 = time.process_time()
    t0 = time.monotonic()
    bench.measure_start = t0
    bench.measuring = True
    lag = array.array("d")

    async def probe_loop_lag() -> None:
        # How late this client's own loop runs: its reads (so its TTFT figures) lag by
        # about this much. ITL mostly cancels it out; TTFT does not.
        while bench.measuring:
            due = time.monotonic() + 0.002
            await asyncio.sleep(0.002)
            lag.append(time.monotonic() - due)

    prober = asyncio.ensure_future(probe_loop_lag())
    await asyncio.sleep(params["measure_s"])
    bench.measuring = False
    await prober
    elapsed = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    bench.running = False
    for stream_transport in transports:
        stream_transport.close()
    return {
        "events": bench.events,
        "elapsed_s": elapsed,
        "events_per_s": bench.events / elapsed,
        "client_cpu": cpu / elapsed,
        "ttft_s": sorted(bench.ttft),
        "itl_s": sorted(bench.itl),
        "errors": bench.errors,
        "loop_lag_s": sorted(lag),
    }


def client_process(params_json: str, out_path: str) -> None:
    os.sched_setaffinity(0, {CLIENT_CPU})
    params = json.loads(params_json)
    try:
        import uvloop

        result = uvloop.run(_client_main(params))
    except ImportError:
        result = asyncio.run(_client_main(params))
    Path(out_path).write_text(json.dumps(result))
