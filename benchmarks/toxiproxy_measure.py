"""The Toxiproxy benchmark's measurements, run by the client (the benchmark's own process).

Each takes an address (the upstream direct, or a proxy in front of it) and returns raw
figures; ``bench_toxiproxy.py`` compares and prints them.
"""

from __future__ import annotations

import random
import selectors
import socket
import statistics
import struct
import time

from benchmarks.toxiproxy_workload import (
    BULK_BYTES,
    BULK_CHUNK,
    CONNECTIONS,
    HTTP_CHUNK,
    HTTP_DOWNLOAD_HEAD,
    HTTP_RR_REQUEST,
    HTTP_RR_RESPONSE,
    HTTP_UPLOAD_RESPONSE,
    LEDGER_ROUNDS,
    RR_SIZE,
    RR_TRIPS,
    TRIPS_PER_CONNECTION,
)
from pytest_aistack.chaos.client import ToxiproxyClient


def _connect(address: str) -> socket.socket:
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    parts, received = [], 0
    while received < size:
        data = sock.recv(size - received)
        if not data:
            raise ConnectionError("upstream closed early")
        parts.append(data)
        received += len(data)
    return b"".join(parts)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def measure_round_trips(address: str) -> list[float]:
    payload = b"r" * RR_SIZE
    samples: list[float] = []
    with _connect(address) as sock:
        for trip in range(RR_TRIPS + 500):
            start = time.perf_counter()
            sock.sendall(payload)
            _recv_exactly(sock, RR_SIZE)
            if trip >= 500:  # warm-up trips are not counted
                samples.append((time.perf_counter() - start) * 1000)
    return samples


def measure_bulk(address: str) -> float:
    """MB/s (10^6 bytes/s) of one upload of BULK_BYTES, until the sink acknowledges."""
    chunk = b"b" * BULK_CHUNK
    with _connect(address) as sock:
        sock.settimeout(120)
        start = time.perf_counter()
        sock.sendall(b"S" + struct.pack("!Q", BULK_BYTES))
        sent = 0
        while sent < BULK_BYTES:
            sock.sendall(chunk)
            sent += len(chunk)
        if _recv_exactly(sock, 2) != b"ok":
            raise RuntimeError("sink did not acknowledge")
        elapsed = time.perf_counter() - start
    return BULK_BYTES / elapsed / 1e6


def measure_http_round_trips(address: str) -> list[float]:
    samples: list[float] = []
    with _connect(address) as sock:
        for trip in range(RR_TRIPS + 500):
            start = time.perf_counter()
            sock.sendall(HTTP_RR_REQUEST)
            _recv_exactly(sock, len(HTTP_RR_RESPONSE))
            if trip >= 500:
                samples.append((time.perf_counter() - start) * 1000)
    return samples


def measure_http_upload(address: str) -> float:
    """MB/s of one BULK_BYTES Content-Length upload, until the 200 arrives."""
    chunk = b"u" * BULK_CHUNK
    head = b"POST /upload HTTP/1.1\r\nHost: bench\r\nContent-Length: %d\r\n\r\n" % BULK_BYTES
    with _connect(address) as sock:
        sock.settimeout(120)
        start = time.perf_counter()
        sock.sendall(head)
        for _ in range(BULK_BYTES // BULK_CHUNK):
            sock.sendall(chunk)
        if _recv_exactly(sock, len(HTTP_UPLOAD_RESPONSE)) != HTTP_UPLOAD_RESPONSE:
            raise RuntimeError("upload was not acknowledged")
        elapsed = time.perf_counter() - start
    return BULK_BYTES / elapsed / 1e6


def measure_http_download(address: str) -> float:
    """MB/s of one BULK_BYTES chunked download in HTTP_CHUNK chunks."""
    framed = len(b"%x\r\n" % HTTP_CHUNK) + HTTP_CHUNK + 2
    expected = len(HTTP_DOWNLOAD_HEAD) + (BULK_BYTES // HTTP_CHUNK) * framed + 5
    with _connect(address) as sock:
        sock.settimeout(120)
        start = time.perf_counter()
        sock.sendall(b"GET /download HTTP/1.1\r\nHost: bench\r\n\r\n")
        received = 0
        while received < expected:
            data = sock.recv(1 << 20)
            if not data:
                raise ConnectionError("download ended early")
            received += len(data)
        elapsed = time.perf_counter() - start
    return BULK_BYTES / elapsed / 1e6


def measure_ledger_cost(client: ToxiproxyClient, direct: str, proxied: str) -> dict[str, float]:
    """The HTTP rows: direct, ledger off, ledger on, LEDGER_ROUNDS times with the off/on
    order swapped each round (a busy shared machine drifts; swapping spreads the drift
    over both), medians."""
    samples: dict[str, list[float]] = {}
    for round_number in range(LEDGER_ROUNDS):
        legs = [("off", proxied, False), ("on", proxied, True)]
        if round_number % 2:  # on before off every other round: drift hits both alike
            legs.reverse()
        for label, address, enabled in [("direct", direct, None), *legs]:
            if enabled is not None:
                client.configure_ledger(enabled=enabled)
            rr = measure_http_round_trips(address)
            for key, value in (
                (f"rr_p50_{label}", percentile(rr, 50)),
                (f"rr_p99_{label}", percentile(rr, 99)),
                (f"upload_{label}", measure_http_upload(address)),
                (f"download_{label}", measure_http_download(address)),
            ):
                samples.setdefault(key, []).append(value)
        client.clear_ledger()
    return {key: statistics.median(values) for key, values in samples.items()}


# Linux: ask for the kernel's receive timestamp of each packet (SO_TIMESTAMPNS), so the
# client's own scheduling delays (100 sockets on a shared core) stay out of the figure.
SO_TIMESTAMPNS = 35


def measure_concurrent(address: str) -> list[float]:
    """RTTs (ms) of CONNECTIONS sockets doing TRIPS_PER_CONNECTION staggered round trips.

    Send time is read just before ``send``; receive time is the kernel timestamp of the
    answer, both on CLOCK_REALTIME.
    """
    payload = b"p" * RR_SIZE
    selector = selectors.DefaultSelector()
    socks = [_connect(address) for _ in range(CONNECTIONS)]
    pending: dict[socket.socket, dict[str, float]] = {}
    samples: list[float] = []
    now = time.monotonic()
    for sock in socks:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        # Staggered starts: 100 connections, not 100 requests in one instant.
        pending[sock] = {"trips": TRIPS_PER_CONNECTION, "due": now + random.uniform(0, 0.05)}
    in_flight: dict[socket.socket, tuple[int, int]] = {}  # sock -> (sent_ns, bytes seen)
    deadline = time.monotonic() + 60
    try:
        while (pending or in_flight) and time.monotonic() < deadline:
            now = time.monotonic()
            for sock, state in list(pending.items()):
                if sock not in in_flight and state["due"] <= now:
                    in_flight[sock] = (time.time_ns(), 0)
                    sock.send(payload)
                    state["trips"] -= 1
            waits = [state["due"] for sock, state in pending.items() if sock not in in_flight]
            timeout = max(0.0, min(waits) - time.monotonic()) if waits else 0.01
            for key, _mask in selector.select(min(timeout, 0.01)):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                sock = ready
                data, ancillary, _flags, _addr = sock.recvmsg(RR_SIZE, socket.CMSG_SPACE(16))
                if not data:
                    raise ConnectionError("proxy closed a benchmark connection")
                sent_ns, seen = in_flight[sock]
                seen += len(data)
                if seen < RR_SIZE:
                    in_flight[sock] = (sent_ns, seen)
                    continue
                received_ns = time.time_ns()
                for level, kind, value in ancillary:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                        seconds, nanos = struct.unpack("qq", value[:16])
                        received_ns = seconds * 1_000_000_000 + nanos
                samples.append((received_ns - sent_ns) / 1e6)
                del in_flight[sock]
                state = pending[sock]
                if state["trips"] <= 0:
                    del pending[sock]
                else:
                    state["due"] = time.monotonic() + random.uniform(0, 0.05)
    finally:
        for sock in socks:
            selector.unregister(sock)
            sock.close()
        selector.close()
    return samples


def lateness_p99_bound(metrics_text: str) -> str:
    """The bucket bound holding the p99 of the server's own latency-toxic lateness."""
    buckets: list[tuple[float, int]] = []
    for line in metrics_text.splitlines():
        if line.startswith("aistack_latency_toxic_lateness_seconds_bucket"):
            bound_text = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(bound_text), int(line.rsplit(" ", 1)[1])))
    if not buckets or buckets[-1][1] == 0:
        return "n/a"
    total = buckets[-1][1]
    for bound, cumulative in buckets:
        if cumulative >= 0.99 * total:
            return f"<= {bound * 1000:g}" if bound != float("inf") else "> 50"
    return "n/a"
