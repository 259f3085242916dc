"""The request ledger of the embedded Toxiproxy over real sockets: what it records for
each HTTP/1.1 exchange, how it says an exchange ended, and that it never changes a byte.

The upstream is a test-held socket (``Upstream``) answering with exact bytes, so every
framing case (Content-Length, chunked SSE, close-delimited, pipelining) is what the
test wrote; the client is a raw socket for the same reason.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_aistack.chaos.client import LedgerRecord, ProxyLedger, ToxiproxyClient
from pytest_aistack.runtime.waiting import wait_until

from .netutil import Upstream, connect, read_to_end, recv_exactly

pytestmark = pytest.mark.usefixtures("embedded_only", "fresh_ledger")

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
def fresh_ledger(api: ToxiproxyClient) -> None:
    """The server lives for the session and its ledger outlives deleted proxies."""
    api.clear_ledger()


def _request(path: str = "/v1/chat/completions", request_id: str | None = None) -> bytes:
    body = b'{"model":"m"}'
    rid = f"x-request-id: {request_id}\r\n".encode() if request_id else b""
    return (
        f"POST {path} HTTP/1.1\r\nHost: backend\r\nContent-Type: application/json\r\n".encode()
        + rid
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def _records(api: ToxiproxyClient, proxy: str = "test") -> list[LedgerRecord]:
    return list(api.proxy_ledger(proxy).records)


def _ended(api: ToxiproxyClient, count: int, proxy: str = "test") -> list[LedgerRecord]:
    """The proxy's records once ``count`` of them have ended (the watch runs on the
    server's loop, a moment after the bytes arrive)."""

    def ended() -> list[LedgerRecord] | None:
        records = _records(api, proxy)
        done = [r for r in records if r.outcome != "in_progress"]
        return records if len(done) >= count else None

    return wait_until(ended, timeout=5, what=f"{count} ended ledger records on {proxy}")


def _exchange(client: socket.socket, server: socket.socket, request: bytes, answer: bytes) -> None:
    client.sendall(request)
    assert recv_exactly(server, len(request)) == request
    server.sendall(answer)
    assert recv_exactly(client, len(answer)) == answer


def test_keep_alive_requests_each_get_a_record(api: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = api.create_proxy("test", upstream.address)
    before = time.time()
    first, second = _request(request_id="req-1"), _request("/v1/models", request_id="req-2")
    not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    with connect(proxy.listen) as client:
        server = upstream.accept()
        _exchange(client, server, first, OK)
        _exchange(client, server, second, not_found)
        records = _ended(api, 2)
    after = time.time()
    assert [(r.method, r.path, r.request_id, r.status, r.outcome) for r in records] == [
        ("POST", "/v1/chat/completions", "req-1", 200, "complete"),
        ("POST", "/v1/models", "req-2", 404, "complete"),
    ]
    assert records[0].connection == records[1].connection
    assert records[0].seq < records[1].seq
    assert [r.bytes_up for r in records] == [len(first), len(second)]
    assert [r.bytes_down for r in records] == [len(OK), len(not_found)]
    for record in records:
        assert record.ended_at is not None
        assert before <= record.started_at <= record.ended_at <= after


def test_chunked_sse_stream_is_in_progress_until_its_last_chunk(
    api: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = api.create_proxy("test", upstream.address)
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    events = [b'data: {"n": %d}\n\n' % i for i in range(5)] + [b"data: [DONE]\n\n"]
    chunks = [b"%x\r\n%s\r\n" % (len(e), e) for e in events]
    with connect(proxy.listen) as client:
        server = upstream.accept()
        request = _request(request_id="stream-1")
        client.sendall(request)
        recv_exactly(server, len(request))
        server.sendall(head + chunks[0])
        assert recv_exactly(client, len(head + chunks[0])) == head + chunks[0]

        def streaming() -> LedgerRecord | None:
            records = _records(api)
            return records[0] if records and records[0].status == 200 else None

        record = wait_until(streaming, timeout=5, what="the stream's record")
        assert record.outcome == "in_progress"
        assert record.ended_at is None
        received = b""
        for chunk in [*chunks[1:], b"0\r\n\r\n"]:
            server.sendall(chunk)
            received += recv_exactly(client, len(chunk))
        (record,) = _ended(api, 1)
    assert received == b"".join(chunks[1:]) + b"0\r\n\r\n"
    assert (record.request_id, record.status, record.outcome) == ("stream-1", 200, "complete")
    assert record.bytes_down == len(head) + sum(map(len, chunks)) + 5


def test_pipelined_requests_pair_with_their_responses_in_order(
    api: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = api.create_proxy("test", upstream.address)
    requests = [_request(request_id=f"p-{i}") for i in range(3)]
    answers = [
        b"HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\na",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 3\r\n\r\nbcd",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ]
    with connect(proxy.listen) as client:
        server = upstream.accept()
        client.sendall(b"".join(requests))  # one write: the three arrive together
        assert recv_exactly(server, sum(map(len, requests))) == b"".join(requests)
        server.sendall(b"".join(answers))
        assert recv_exactly(client, sum(map(len, answers))) == b"".join(answers)
        records = _ended(api, 3)
    assert [(r.request_id, r.status, r.outcome) for r in records] == [
        ("p-0", 201, "complete"),
        ("p-1", 202, "complete"),
        ("p-2", 204, "complete"),
    ]
    assert [r.bytes_down for r in records] == [len(a) for a in answers]


def test_chunked_request_body_and_byte_counts(api: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = api.create_proxy("test", upstream.address)
    request = (
        b"PUT /upload?x=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Request-ID: up-1\r\n\r\n"
        b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: t\r\n\r\n"
    )
    with connect(proxy.listen) as client:
        server = upstream.accept()
        for piece in (request[:7], request[7:50], request[50:]):  # split anywhere
            client.sendall(piece)
            time.sleep(0.01)  # ok: separate TCP segments, so the watch sees pieces
        assert recv_exactly(server, len(request)) == request
        server.sendall(OK)
        assert recv_exactly(client, len(OK)) == OK
        (record,) = _ended(api, 1)
    assert (record.method, record.path, record.request_id) == ("PUT", "/upload", "up-1")
    assert (record.bytes_up, record.bytes_down) == (len(request), len(OK))
    assert record.outcome == "complete"


def test_close_delimited_response_completes_with_the_upstream_close(
    api: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = api.create_proxy("test", upstream.address)
    answer = b"HTTP/1.0 200 OK\r\n\r\nuntil the close"
    with connect(proxy.listen) as client:
        server = upstream.accept()
        client.sendall(_request())
        recv_exactly(server, len(_request()))
        server.sendall(answer)
        server.close()
        assert read_to_end(client) == (answer, "eof")
        (record,) = _ended(api, 1)
    assert (record.status, record.outcome, record.bytes_down) == (200, "complete", len(answer))


def _stream_started(client: socket.socket, server: socket.socket, request_id: str) -> None:
    """A request whose chunked response has begun and not ended."""
    request = _request(request_id=request_id)
    client.sendall(request)
    recv_exactly(server, len(request))
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n"
    server.sendall(head)
    assert recv_exactly(client, len(head)) == head


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_client_closing_mid_stream(api: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = api.create_proxy("test", upstream.address)
    client = connect(proxy.listen)
    server = upstream.accept()
    _stream_started(client, server, "gone-1")
    client.close()
    (record,) = _ended(api, 1)
    assert (record.request_id, record.status, record.outcome) == ("gone-1", 200, "client_closed")


def test_upstream_reset_mid_stream(api: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = api.create_proxy("test", upstream.address)
    with connect(proxy.listen) as client:
        server = upstream.accept()
        _stream_started(client, server, "rst-1")
        _reset(server)
        (record,) = _ended(api, 1)
    assert (record.request_id, record.outcome) == ("rst-1", "upstream_reset")


@pytest.mark.parametrize(
    ("toxic", "attributes"),
    [("limit_data", {"bytes": 60}), ("reset_peer", {"timeout": 50}), ("timeout", {"timeout": 50})],
)
def test_a_toxic_cutting_the_response(
    api: ToxiproxyClient, upstream: Upstream, toxic: str, attributes: dict[str, int]
) -> None:
    proxy = api.create_proxy("test", upstream.address)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    with connect(proxy.listen) as client:
        server = upstream.accept()
        request = _request(request_id="cut-1")
        client.sendall(request)
        recv_exactly(server, len(request))
        api.add_toxic("test", toxic, attributes, stream="downstream")
        server.sendall(head + b"x" * 100)
        read_to_end(client, timeout=3)
        (record,) = _ended(api, 1)
    assert (record.request_id, record.outcome) == ("cut-1", "toxic_cut")
    if toxic == "limit_data":
        assert (record.status, record.bytes_down) == (200, 60)


def test_disabling_the_proxy_mid_stream(api: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = api.create_proxy("test", upstream.address)
    with connect(proxy.listen) as client:
        server = upstream.accept()
        _stream_started(client, server, "off-1")
        api.disable("test")
        (record,) = _ended(api, 1)
    assert (record.request_id, record.outcome) == ("off-1", "proxy_disabled")


def test_non_http_bytes_are_counted_not_recorded(api: ToxiproxyClient, upstream: Upstream) -> None:
    """Redis RESP (and an inline command) through a proxy: connections only."""
    proxy = api.create_proxy("test", upstream.address)
    for command, reply in ((b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n"), (b"PING\r\n", b"+PONG\r\n")):
        with connect(proxy.listen) as client:
            server = upstream.accept()
            client.sendall(command)
            assert recv_exactly(server, len(command)) == command
            server.sendall(reply)
            assert recv_exactly(client, len(reply)) == reply
    page = api.proxy_ledger("test")
    assert page.records == ()
    assert (page.connections["total"], page.connections["not_http"]) == (2, 2)


def test_bytes_pass_unchanged_in_both_directions(api: ToxiproxyClient, upstream: Upstream) -> None:
    """What the upstream receives is what the client sent, and back, byte for byte,
    including pieces that end mid-head, mid-size-line and mid-chunk."""
    proxy = api.create_proxy("test", upstream.address)
    request = _request(request_id="exact") * 3
    body = bytes(range(256)) * 64
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    answer += b"%x\r\n%s\r\n" % (len(body), body) + b"0\r\n\r\n"
    answers = answer * 3
    with connect(proxy.listen) as client:
        server = upstream.accept()
        client.sendall(request)
        assert recv_exactly(server, len(request)) == request
        for start in range(0, len(answers), 997):
            server.sendall(answers[start : start + 997])
        assert recv_exactly(client, len(answers)) == answers
        records = _ended(api, 3)
    assert [r.outcome for r in records] == ["complete"] * 3
    assert sum(r.bytes_down for r in records) == len(answers)


def test_the_ring_keeps_the_newest_records(api: ToxiproxyClient, upstream: Upstream) -> None:
    api.configure_ledger(capacity=3)
    try:
        proxy = api.create_proxy("test", upstream.address)
        with connect(proxy.listen) as client:
            server = upstream.accept()
            for i in range(5):
                _exchange(client, server, _request(request_id=f"r-{i}"), OK)
            records = _ended(api, 3)
        page = api.proxy_ledger("test")
        assert [r.request_id for r in records] == ["r-2", "r-3", "r-4"]
        assert page.dropped == 2
        assert page.capacity == 3
        newer = api.proxy_ledger("test", since=records[0].seq)
        assert [r.request_id for r in newer.records] == ["r-3", "r-4"]
        assert newer.next == records[-1].seq
    finally:
        api.configure_ledger(capacity=10_000)


def test_switched_off_it_records_nothing(api: ToxiproxyClient, upstream: Upstream) -> None:
    assert api.configure_ledger(enabled=False) == {"enabled": False, "capacity": 10_000}
    try:
        proxy = api.create_proxy("test", upstream.address)
        with connect(proxy.listen) as client:
            _exchange(client, upstream.accept(), _request(), OK)
        page = api.proxy_ledger("test")
        assert (page.enabled, page.records, page.connections["total"]) == (False, (), 0)
    finally:
        api.configure_ledger(enabled=True)


def test_next_waits_for_records_in_progress(api: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = api.create_proxy("test", upstream.address)
    with connect(proxy.listen) as client:
        server = upstream.accept()
        _stream_started(client, server, "open-1")
        open_record = wait_until(lambda: _records(api) or None, timeout=5, what="a record")[0]
        page = api.proxy_ledger("test")
        assert page.next == open_record.seq - 1  # polling from here sees it end
        server.sendall(b"0\r\n\r\n")
        recv_exactly(client, 5)
        _ended(api, 1)
    assert api.proxy_ledger("test").next >= open_record.seq


def test_all_proxies_and_clearing(api: ToxiproxyClient, upstream: Upstream) -> None:
    first = api.create_proxy("first", upstream.address)
    api.create_proxy("second", upstream.address)
    with connect(first.listen) as client:
        _exchange(client, upstream.accept(), _request(request_id="a-1"), OK)
    _ended(api, 1, "first")
    everything = api.ledger()
    assert [r.request_id for r in everything.proxies["first"].records] == ["a-1"]
    assert everything.proxies["second"].records == ()
    api.clear_ledger("first")
    assert api.proxy_ledger("first").records == ()
    api.clear_ledger()
    assert all(not p.records for p in api.ledger().proxies.values())


def test_client_reset_mid_stream(api: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = api.create_proxy("test", upstream.address)
    client = connect(proxy.listen)
    server = upstream.accept()
    _stream_started(client, server, "crst-1")
    _reset(client)
    (record,) = _ended(api, 1)
    assert (record.request_id, record.outcome) == ("crst-1", "client_reset")


def test_a_request_held_by_an_upstream_toxic_never_reached_the_backend(
    api: ToxiproxyClient, upstream: Upstream
) -> None:
    """The ledger records what was written upstream: a blackholed request is not there."""
    proxy = api.create_proxy("test", upstream.address)
    api.add_toxic("test", "timeout", {"timeout": 0}, stream="upstream")
    with connect(proxy.listen) as client:
        server = upstream.accept()
        client.sendall(_request(request_id="held"))
        server.settimeout(0.3)
        with pytest.raises(TimeoutError):
            server.recv(1)
    page = api.proxy_ledger("test")
    assert page.records == ()
    assert page.connections["total"] == 1


def test_head_requests_upgrades_and_interim_responses(
    api: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = api.create_proxy("test", upstream.address)
    head_request = b"HEAD /v1/models HTTP/1.1\r\nHost: b\r\n\r\n"
    head_answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"  # no body after HEAD
    upgrade = b"GET /ws HTTP/1.1\r\nHost: b\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    switching = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    with connect(proxy.listen) as client:
        server = upstream.accept()
        _exchange(client, server, head_request, head_answer)
        _exchange(client, server, upgrade, switching)
        _exchange(client, server, b"\x81\x02hi", b"\x81\x02ok")  # websocket frames
        records = _ended(api, 2)
    assert [(r.method, r.status, r.outcome) for r in records] == [
        ("HEAD", 200, "complete"),
        ("GET", 101, "upgraded"),
    ]


@pytest.mark.parametrize(
    "first_bytes",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",  # h2c with prior knowledge
        b"GARBAGE-WITHOUT-SPACES-AND-NO-END-OF-LINE-IN-SIGHT",
    ],
)
def test_tls_h2c_and_garbage_are_not_http(
    api: ToxiproxyClient, upstream: Upstream, first_bytes: bytes
) -> None:
    proxy = api.create_proxy("test", upstream.address)
    with connect(proxy.listen) as client:
        server = upstream.accept()
        client.sendall(first_bytes)
        assert recv_exactly(server, len(first_bytes)) == first_bytes
        reply = b"\x00\x01 binary \xff reply"
        server.sendall(reply)
        assert recv_exactly(client, len(reply)) == reply

    def counted() -> ProxyLedger | None:
        page = api.proxy_ledger("test")
        return page if page.connections["not_http"] == 1 else None

    page = wait_until(counted, timeout=5, what="the connection counted as not HTTP")
    assert page.records == ()


def test_broken_framing_marks_the_exchange_unparseable(
    api: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = api.create_proxy("test", upstream.address)
    broken = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz-not-hex\r\n"
    with connect(proxy.listen) as client:
        server = upstream.accept()
        _exchange(client, server, _request(request_id="bad-1"), broken)
        (record,) = _ended(api, 1)
        _exchange(client, server, b"still flows", b"both ways")  # unwatched, untouched
    assert (record.request_id, record.outcome) == ("bad-1", "unparseable")
    assert api.proxy_ledger("test").connections["unparseable"] == 1


def test_api_errors(api: ToxiproxyClient, toxiproxy_url: str) -> None:
    import httpx

    from pytest_aistack.chaos.client import BadRequest, LedgerUnavailable, NotFound

    with pytest.raises(NotFound) as caught:
        api.proxy_ledger("no-such-proxy")
    assert not isinstance(caught.value, LedgerUnavailable)
    assert caught.value.message == "proxy not found"
    with pytest.raises(BadRequest, match="capacity"):
        api.configure_ledger(capacity=0)
    agent = {"User-Agent": "aistack-tests"}
    with httpx.Client(base_url=toxiproxy_url, timeout=5, headers=agent) as http:
        bad = http.get("/aistack/ledger", params={"since": "soon"})
        assert (bad.status_code, bad.json()) == (
            400,
            {"error": "since='soon': expected a whole number", "status": 400},
        )
        assert http.post("/aistack/ledger").status_code == 405
        assert http.get("/aistack/ledger/a/b").text == "404 page not found\n"
        browser = http.get("/aistack/ledger", headers={"User-Agent": "Mozilla/5.0"})
        assert browser.status_code == 403


def test_traffic_counts_from_metrics(api: ToxiproxyClient, upstream: Upstream) -> None:
    """The fallback's counters; they are per proxy name for the server's life, so the
    test compares before and after."""
    proxy = api.create_proxy("traffic", upstream.address)
    before = api.traffic().get("traffic")
    base_bytes = (before.bytes_up or 0) if before is not None else 0
    base_connections = (before.connections or 0) if before is not None else 0
    request = _request()
    with connect(proxy.listen) as client:
        _exchange(client, upstream.accept(), request, OK)

    def counted() -> int | None:
        traffic = api.traffic().get("traffic")
        if traffic is None or (traffic.bytes_up or 0) - base_bytes < len(request):
            return None
        return (traffic.connections or 0) - base_connections

    assert wait_until(counted, timeout=5, what="the proxy's counters") == 1
    assert api.traffic()["traffic"].bytes_up == base_bytes + len(request)


@pytest.mark.asyncio
async def test_the_async_client_reads_the_same_ledger(
    api: ToxiproxyClient, upstream: Upstream, toxiproxy_url: str
) -> None:
    import asyncio

    from pytest_aistack.chaos.client import AsyncToxiproxyClient

    proxy = api.create_proxy("test", upstream.address)
    with connect(proxy.listen) as client:
        server = upstream.accept()
        await asyncio.to_thread(_exchange, client, server, _request(request_id="as-1"), OK)
        await asyncio.to_thread(_ended, api, 1)
    async with AsyncToxiproxyClient(toxiproxy_url) as aclient:
        page = await aclient.proxy_ledger("test")
        everything = await aclient.ledger()
        await aclient.clear_ledger("test")
        state = await aclient.configure_ledger(enabled=True)
    assert [r.request_id for r in page.records] == ["as-1"]
    assert everything.proxies["test"].records == page.records
    assert state == {"enabled": True, "capacity": 10_000}
    assert api.proxy_ledger("test").records == ()


def _toxiproxy_process(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    from pytest_aistack.runtime.process import ManagedProcess

    argv = [sys.executable, "-m", "pytest_aistack.cli", "toxiproxy", "--port", "0", *args]
    return ManagedProcess(
        "toxiproxy", argv, log_path=tmp_path / "toxiproxy.log", env={**os.environ, **(env or {})}
    )


def test_cli_switches_and_sizes_the_ledger(tmp_path: Path) -> None:
    process = _toxiproxy_process(
        tmp_path, "--ledger-capacity", "7", env={"AISTACK_TOXIPROXY_LEDGER": "off"}
    )
    with process:
        url = process.wait_ready(timeout=20)["url"]
        with ToxiproxyClient(url) as client:
            assert (client.ledger().enabled, client.ledger().capacity) == (False, 7)
    assert process.stop() == 0


def test_cli_refuses_a_bad_capacity(tmp_path: Path) -> None:
    from pytest_aistack.runtime.process import ProcessError

    process = _toxiproxy_process(tmp_path, "--ledger-capacity", "0")
    with process, pytest.raises(ProcessError, match="exited with code 2"):
        process.wait_ready(timeout=20)
    assert "--ledger-capacity: expected a whole number >= 1, got '0'" in process.tail()
