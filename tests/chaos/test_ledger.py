"""The request ledger of the embedded Toxiproxy over real sockets: what it records for
each HTTP/1.1 exchange and that it never changes a byte (how an exchange ended is in
test_ledger_outcomes.py, the API and switches in test_ledger_api.py).

The upstream is a test-held socket (``Upstream``) answering with exact bytes, so every
framing case (Content-Length, chunked SSE, close-delimited, pipelining) is what the
test wrote; the client is a raw socket for the same reason.
"""

from __future__ import annotations

import time

import pytest

from pytest_aistack.chaos.client import LedgerRecord, ProxyLedger, ToxiproxyClient
from pytest_aistack.runtime.waiting import wait_until

from .ledgerutil import OK, ended_records, exchange, http_request, ledger_records, stream_started
from .netutil import Upstream, connect, read_to_end, recv_exactly

pytestmark = pytest.mark.usefixtures("embedded_only", "fresh_ledger")


def test_keep_alive_requests_each_get_a_record(api: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = api.create_proxy("test", upstream.address)
    before = time.time()
    first, second = http_request(request_id="req-1"), http_request("/v1/models", request_id="req-2")
    not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    with connect(proxy.listen) as client:
        server = upstream.accept()
        exchange(client, server, first, OK)
        exchange(client, server, second, not_found)
        records = ended_records(api, 2)
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
        request = http_request(request_id="stream-1")
        client.sendall(request)
        recv_exactly(server, len(request))
        server.sendall(head + chunks[0])
        assert recv_exactly(client, len(head + chunks[0])) == head + chunks[0]

        def streaming() -> LedgerRecord | None:
            records = ledger_records(api)
            return records[0] if records and records[0].status == 200 else None

        record = wait_until(streaming, timeout=5, what="the stream's record")
        assert record.outcome == "in_progress"
        assert record.ended_at is None
        received = b""
        for chunk in [*chunks[1:], b"0\r\n\r\n"]:
            server.sendall(chunk)
            received += recv_exactly(client, len(chunk))
        (record,) = ended_records(api, 1)
    assert received == b"".join(chunks[1:]) + b"0\r\n\r\n"
    assert (record.request_id, record.status, record.outcome) == ("stream-1", 200, "complete")
    assert record.bytes_down == len(head) + sum(map(len, chunks)) + 5


def test_pipelined_requests_pair_with_their_responses_in_order(
    api: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = api.create_proxy("test", upstream.address)
    requests = [http_request(request_id=f"p-{i}") for i in range(3)]
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
        records = ended_records(api, 3)
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
        (record,) = ended_records(api, 1)
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
        client.sendall(http_request())
        recv_exactly(server, len(http_request()))
        server.sendall(answer)
        server.close()
        assert read_to_end(client) == (answer, "eof")
        (record,) = ended_records(api, 1)
    assert (record.status, record.outcome, record.bytes_down) == (200, "complete", len(answer))


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
    request = http_request(request_id="exact") * 3
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
        records = ended_records(api, 3)
    assert [r.outcome for r in records] == ["complete"] * 3
    assert sum(r.bytes_down for r in records) == len(answers)


def test_the_ring_keeps_the_newest_records(api: ToxiproxyClient, upstream: Upstream) -> None:
    api.configure_ledger(capacity=3)
    try:
        proxy = api.create_proxy("test", upstream.address)
        with connect(proxy.listen) as client:
            server = upstream.accept()
            for i in range(5):
                exchange(client, server, http_request(request_id=f"r-{i}"), OK)
            records = ended_records(api, 3)
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
            exchange(client, upstream.accept(), http_request(), OK)
        page = api.proxy_ledger("test")
        assert (page.enabled, page.records, page.connections["total"]) == (False, (), 0)
    finally:
        api.configure_ledger(enabled=True)


def test_next_waits_for_records_in_progress(api: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = api.create_proxy("test", upstream.address)
    with connect(proxy.listen) as client:
        server = upstream.accept()
        stream_started(client, server, "open-1")
        open_record = wait_until(lambda: ledger_records(api) or None, timeout=5, what="a record")[0]
        page = api.proxy_ledger("test")
        assert page.next == open_record.seq - 1  # polling from here sees it end
        server.sendall(b"0\r\n\r\n")
        recv_exactly(client, 5)
        ended_records(api, 1)
    assert api.proxy_ledger("test").next >= open_record.seq


def test_all_proxies_and_clearing(api: ToxiproxyClient, upstream: Upstream) -> None:
    first = api.create_proxy("first", upstream.address)
    api.create_proxy("second", upstream.address)
    with connect(first.listen) as client:
        exchange(client, upstream.accept(), http_request(request_id="a-1"), OK)
    ended_records(api, 1, "first")
    everything = api.ledger()
    assert [r.request_id for r in everything.proxies["first"].records] == ["a-1"]
    assert everything.proxies["second"].records == ()
    api.clear_ledger("first")
    assert api.proxy_ledger("first").records == ()
    api.clear_ledger()
    assert all(not p.records for p in api.ledger().proxies.values())


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
        exchange(client, server, head_request, head_answer)
        exchange(client, server, upgrade, switching)
        exchange(client, server, b"\x81\x02hi", b"\x81\x02ok")  # websocket frames
        records = ended_records(api, 2)
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
        exchange(client, server, http_request(request_id="bad-1"), broken)
        (record,) = ended_records(api, 1)
        exchange(client, server, b"still flows", b"both ways")  # unwatched, untouched
    assert (record.request_id, record.outcome) == ("bad-1", "unparseable")
    assert api.proxy_ledger("test").connections["unparseable"] == 1
