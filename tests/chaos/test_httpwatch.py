"""The ledger's framer alone (sans-I/O): however the bytes of a keep-alive exchange are
cut into chunks, it finds the same requests, statuses and byte counts (hypothesis)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_aistack.chaos.toxiproxy.ledger import EmbeddedLedger
from pytest_aistack.chaos.toxiproxy.ledger_records import LedgerEntry


def _request(index: int, body: bytes, chunked: bool) -> bytes:
    head = f"POST /v1/chat/completions?i={index} HTTP/1.1\r\nHost: b\r\nX-Request-Id: r-{index}\r\n"
    if chunked:
        framed = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:3], body[3:]) if p)
        return f"{head}Transfer-Encoding: chunked\r\n\r\n".encode() + framed + b"0\r\n\r\n"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def _response(status: int, body: bytes, chunked: bool) -> bytes:
    if chunked:
        events = b"".join(b"%x\r\n%s\r\n" % (len(body) + 6, b"data: " + body) for _ in range(3))
        return (
            f"HTTP/1.1 {status} X\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + events
            + (b"0\r\n\r\n")
        )
    return f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


exchange = st.tuples(
    st.binary(min_size=0, max_size=40),  # request body
    st.booleans(),  # request chunked
    st.sampled_from([200, 201, 404, 429, 500]),
    st.binary(min_size=1, max_size=40),  # response body
    st.booleans(),  # response chunked
)


@settings(max_examples=300, deadline=None)
@given(
    exchanges=st.lists(exchange, min_size=1, max_size=5),
    up_cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
    down_cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
    pipelined=st.booleans(),
)
def test_any_chunking_gives_the_same_records(
    exchanges: list[tuple[bytes, bool, int, bytes, bool]],
    up_cuts: list[int],
    down_cuts: list[int],
    pipelined: bool,
) -> None:
    ledger = EmbeddedLedger()
    watch = ledger.watch("p", lambda: None)
    assert watch is not None
    requests = [_request(i, body, chunked) for i, (body, chunked, *_) in enumerate(exchanges)]
    responses = [_response(status, body, ch) for _, _, status, body, ch in exchanges]
    if pipelined:  # every request first, then every response
        for piece in _cut(b"".join(requests), up_cuts):
            watch.request_bytes(piece)
        for piece in _cut(b"".join(responses), down_cuts):
            watch.response_bytes(piece)
    else:
        for request, response in zip(requests, responses, strict=True):
            for piece in _cut(request, up_cuts):
                watch.request_bytes(piece)
            for piece in _cut(response, down_cuts):
                watch.response_bytes(piece)
    records: list[LedgerEntry] = list(ledger.of("p").records)
    assert [(r.request_id, r.path, r.status, r.outcome) for r in records] == [
        (f"r-{i}", "/v1/chat/completions", status, "complete")
        for i, (_, _, status, _, _) in enumerate(exchanges)
    ]
    assert [r.bytes_up for r in records] == [len(r) for r in requests]
    assert [r.bytes_down for r in records] == [len(r) for r in responses]
    assert not watch.stopped
    assert ledger.of("p").connections.http == 1


def test_shrinking_the_ring_drops_the_oldest_and_counts_them() -> None:
    ledger = EmbeddedLedger(capacity=5)
    watch = ledger.watch("p", lambda: None)
    assert watch is not None
    for i in range(5):
        watch.request_bytes(_request(i, b"", chunked=False))
        watch.response_bytes(_response(200, b"x", chunked=False))
    ledger.configure(capacity=2)
    proxy = ledger.of("p")
    assert [r.request_id for r in proxy.records] == ["r-3", "r-4"]
    assert proxy.dropped == 3
    assert [r.request_id for r in proxy.since(proxy.records[0].seq)] == ["r-4"]
    ledger.configure(enabled=False)
    assert ledger.watch("p", lambda: None) is None
