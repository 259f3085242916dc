"""The other toxics on real sockets, ported from toxiproxy ``toxics/*_test.go``
(each test names its source; stub-level upstream tests become socket tests here).
"""

from __future__ import annotations

import socket
import time

import pytest

from pytest_aistack.chaos.client import Stream, ToxiproxyClient

from .netutil import (
    TcpServer,
    Upstream,
    connect,
    echo_round_trip,
    read_to_end,
    recv_exactly,
)

TOLERANCE = 0.06


def _established(
    api: ToxiproxyClient, upstream: Upstream, name: str = "test"
) -> tuple[socket.socket, socket.socket]:
    proxy = api.create_proxy(name, upstream.address)
    client = connect(proxy.listen)
    server = upstream.accept()
    # Both directions carry data before the test starts (timeout_test.go WithEstablishedProxy).
    echo_round_trip(client, server, b"foobar")
    return client, server


# -- timeout (toxics/timeout.go) --------------------------------------------------------
def test_timeout_toxic_does_not_cause_hang(api: ToxiproxyClient, upstream: Upstream) -> None:
    """timeout_test.go TestTimeoutToxicDoesNotCauseHang: removing a latency toxic in front
    of a blackhole returns promptly."""
    client, server = _established(api, upstream)
    with client, server:
        api.add_toxic("test", "latency", {"latency": 10}, name="might_block", stream="upstream")
        api.add_toxic("test", "timeout", {"timeout": 0}, name="timeout", stream="upstream")
        for _ in range(5):
            client.sendall(b"hello")
        start = time.monotonic()
        api.remove_toxic("test", "might_block")
        assert time.monotonic() - start < 1.0
        server.settimeout(0.2)
        with pytest.raises(TimeoutError):
            server.recv(1)  # the timeout toxic still swallows everything


def test_timeout_toxic_closes_connection_on_remove(
    api: ToxiproxyClient, upstream: Upstream
) -> None:
    """timeout_test.go TestTimeoutToxicClosesConnectionOnRemove."""
    client, server = _established(api, upstream)
    with client, server:
        api.add_toxic("test", "timeout", {"timeout": 0}, name="to_delete", stream="upstream")
        api.remove_toxic("test", "to_delete")
        assert read_to_end(client, timeout=2)[1] == "eof"
        assert read_to_end(server, timeout=2)[1] == "eof"


def test_timeout_closes_after_quiet_period_restarting_on_data(
    api: ToxiproxyClient, upstream: Upstream
) -> None:
    """timeout.go: data is dropped and the connection closes ``timeout`` ms after the
    last chunk; every chunk restarts the timer."""
    client, server = _established(api, upstream)
    with client, server:
        api.add_toxic("test", "timeout", {"timeout": 150}, stream="upstream")
        start = time.monotonic()
        for index in range(3):
            if index:
                time.sleep(0.1)  # ok: each write lands inside the previous quiet period
            client.sendall(b"x")
        last = time.monotonic()
        data, ending = read_to_end(client, timeout=3)
        assert (data, ending) == (b"", "eof")
        assert time.monotonic() - last == pytest.approx(0.15, abs=TOLERANCE)
        assert time.monotonic() - start > 0.3
        assert read_to_end(server, timeout=2) == (b"", "eof")


def test_blackhole_never_closes(api: ToxiproxyClient, upstream: Upstream) -> None:
    """timeout.go with timeout 0: data vanishes and the connection stays open."""
    client, server = _established(api, upstream)
    with client, server:
        api.add_toxic("test", "timeout", {"timeout": 0})
        server.sendall(b"answer")
        assert read_to_end(client, timeout=0.3) == (b"", "timeout")


def test_reset_clears_blackhole_and_closes_its_connections(
    api: ToxiproxyClient, upstream: Upstream
) -> None:
    """api.go ResetState removes every toxic; removing a timeout toxic closes the
    connections it held (timeout.go Cleanup)."""
    client, server = _established(api, upstream)
    with client, server:
        api.add_toxic("test", "timeout", {"timeout": 0})
        api.reset()
        assert read_to_end(client, timeout=2)[1] == "eof"


# -- reset_peer (toxics/reset_peer.go) ----------------------------------------------------
def _expect_reset(api: ToxiproxyClient, upstream: Upstream, stream: Stream, after_ms: int) -> float:
    proxy = api.create_proxy("test", upstream.address)
    api.add_toxic("test", "reset_peer", {"timeout": after_ms}, name="resettcp", stream=stream)
    start = time.monotonic()
    with connect(proxy.listen) as client:
        client.sendall(b"reset toxic payload\n")
        if stream == "downstream":
            server = upstream.accept()
            assert recv_exactly(server, 20) == b"reset toxic payload\n"
            server.sendall(b"reset toxic payload\n")
        client.settimeout(5)
        with pytest.raises(ConnectionResetError):
            client.recv(1000)
        elapsed = time.monotonic() - start
        assert client.recv(1000) == b""  # then EOF, as upstream's checkConnectionState expects
    return elapsed


def test_reset_toxic_no_timeout(api: ToxiproxyClient, upstream: Upstream) -> None:
    """reset_peer_test.go TestResetToxicNoTimeout."""
    assert _expect_reset(api, upstream, "upstream", 0) < 0.5


def test_reset_toxic_with_timeout(api: ToxiproxyClient, upstream: Upstream) -> None:
    """reset_peer_test.go TestResetToxicWithTimeout."""
    assert _expect_reset(api, upstream, "upstream", 100) == pytest.approx(0.1, abs=TOLERANCE)


def test_reset_toxic_with_timeout_downstream(api: ToxiproxyClient, upstream: Upstream) -> None:
    """reset_peer_test.go TestResetToxicWithTimeoutDownstream."""
    assert _expect_reset(api, upstream, "downstream", 100) == pytest.approx(0.1, abs=TOLERANCE)


# -- limit_data (toxics/limit_data.go) ------------------------------------------------------
@pytest.mark.parametrize(
    ("limit", "chunks", "expected"),
    [
        pytest.param(100, [50], 50, id="TestLimitDataToxicChunkSmallerThanLimit"),
        pytest.param(100, [100], 100, id="TestLimitDataToxicChunkLengthMatchesLimit"),
        pytest.param(100, [150], 100, id="TestLimitDataToxicChunkBiggerThanLimit"),
        pytest.param(
            100, [25, 25, 25, 25], 100, id="TestLimitDataToxicMultipleChunksMatchThanLimit"
        ),
        pytest.param(100, [90, 20], 100, id="TestLimitDataToxicSecondChunkWouldOverflowLimit"),
        pytest.param(0, [100], 0, id="TestLimitDataToxicLimitIsSetToZero"),
    ],
)
def test_limit_data(
    api: ToxiproxyClient, upstream: Upstream, limit: int, chunks: list[int], expected: int
) -> None:
    """limit_data_test.go: the first ``bytes`` bytes pass, then the connection ends."""
    proxy = api.create_proxy("test", upstream.address)
    api.add_toxic("test", "limit_data", {"bytes": limit}, stream="upstream")
    payload = bytes(range(256)) * 2
    with connect(proxy.listen) as client:
        server = upstream.accept()
        with server:
            offset = 0
            for size in chunks:
                client.sendall(payload[offset : offset + size])
                offset += size
                time.sleep(0.02)  # ok: separate chunks, as upstream's test feeds separate chunks
            received, ending = read_to_end(server, timeout=3)
            assert received == payload[:expected]
            if expected == limit:
                assert ending == "eof"


def test_limit_data_count_survives_update(api: ToxiproxyClient, upstream: Upstream) -> None:
    """limit_data_test.go TestLimitDataToxicMayBeRestarted: the byte count is per
    connection and survives an interrupt (an update of the toxic)."""
    proxy = api.create_proxy("test", upstream.address)
    api.add_toxic("test", "limit_data", {"bytes": 100}, stream="upstream")
    with connect(proxy.listen) as client, upstream.accept() as server:
        client.sendall(b"a" * 90)
        assert recv_exactly(server, 90) == b"a" * 90
        api.update_toxic("test", "limit_data_upstream", {"bytes": 100})
        client.sendall(b"b" * 20)
        assert read_to_end(server, timeout=3) == (b"b" * 10, "eof")


# -- bandwidth (toxics/bandwidth.go) ------------------------------------------------------
def test_bandwidth_toxic(api: ToxiproxyClient, upstream: Upstream) -> None:
    """bandwidth_test.go TestBandwidthToxic: 240 KB at 1000 KB/s take about 240 ms."""
    proxy = api.create_proxy("test", upstream.address)
    with connect(proxy.listen) as client, upstream.accept() as server:
        api.add_toxic("test", "bandwidth", {"rate": 1000}, stream="upstream")
        payload = b"hello world " * 20000
        start = time.monotonic()
        client.sendall(payload)
        assert recv_exactly(server, len(payload), timeout=5) == payload
        assert time.monotonic() - start == pytest.approx(len(payload) / 1e6, abs=0.06)


# -- slicer (toxics/slicer.go) ------------------------------------------------------------
def test_slicer_toxic(api: ToxiproxyClient, upstream: Upstream) -> None:
    """slicer_test.go TestSlicerToxic: data arrives whole and in order, in pieces of
    about ``average_size`` bytes spaced ``delay`` µs apart."""
    proxy = api.create_proxy("test", upstream.address)
    attrs = {"average_size": 1000, "size_variation": 500, "delay": 3000}
    api.add_toxic("test", "slicer", attrs, stream="upstream")
    data = b"hello world " * 2000  # 24 KB: at least 16 pieces of at most 1500 bytes
    with connect(proxy.listen) as client, upstream.accept() as server:
        start = time.monotonic()
        client.sendall(data)
        received = b""
        reads = 0
        while len(received) < len(data):
            piece = server.recv(65536)
            assert piece, "connection closed early"
            received += piece
            reads += 1
        elapsed = time.monotonic() - start
    assert received == data
    assert reads > 4
    assert elapsed >= 15 * 0.003


# -- slow_close (toxics/slow_close.go) ----------------------------------------------------
def test_slow_close_delays_the_close(api: ToxiproxyClient, upstream: Upstream) -> None:
    """slow_close.go: data passes at once, the close is held back ``delay`` ms."""
    proxy = api.create_proxy("test", upstream.address)
    api.add_toxic("test", "slow_close", {"delay": 150})
    with connect(proxy.listen) as client:
        server = upstream.accept()
        server.sendall(b"bye")
        start = time.monotonic()
        server.close()
        assert recv_exactly(client, 3) == b"bye"
        assert time.monotonic() - start < 0.1
        assert read_to_end(client, timeout=3) == (b"", "eof")
        assert time.monotonic() - start == pytest.approx(0.15, abs=TOLERANCE)


# -- toxicity and chains (toxics/toxic.go, toxic_collection.go) -------------------------------
def _round_trip_time(listen: str) -> float:
    with connect(listen) as client:
        start = time.monotonic()
        client.sendall(b"ping")
        assert recv_exactly(client, 4) == b"ping"
        return time.monotonic() - start


def test_toxicity_zero_and_one(api: ToxiproxyClient, echo: TcpServer) -> None:
    """toxic.go Run: the toxic runs when a random roll is below ``toxicity``."""
    proxy = api.create_proxy("test", echo.address)
    api.add_toxic("test", "latency", {"latency": 200}, toxicity=0.0)
    assert _round_trip_time(proxy.listen) < 0.1
    api.update_toxic("test", "latency_downstream", toxicity=1.0)
    assert _round_trip_time(proxy.listen) > 0.19


def test_toxicity_is_rolled_per_connection(api: ToxiproxyClient, echo: TcpServer) -> None:
    """toxic.go Run: with toxicity 0.5 some connections get the toxic and some do not,
    and each connection keeps its roll for all its data."""
    proxy = api.create_proxy("test", echo.address)
    api.add_toxic("test", "latency", {"latency": 100}, toxicity=0.5)
    outcomes: list[bool] = []
    for _ in range(20):
        with connect(proxy.listen) as client:
            slow = []
            for _ in range(3):
                start = time.monotonic()
                client.sendall(b"ping")
                assert recv_exactly(client, 4) == b"ping"
                slow.append(time.monotonic() - start > 0.05)
        assert len(set(slow)) == 1, f"one connection saw mixed delays: {slow}"
        outcomes.append(slow[0])
    assert any(outcomes)
    assert not all(outcomes)


def test_chain_runs_in_insertion_order(api: ToxiproxyClient, echo: TcpServer) -> None:
    """toxic_collection.go appends each toxic to the end of its stream's chain: a
    blackhole before a reset swallows the data the reset would trigger on, the
    reverse order resets."""
    first = api.create_proxy("blackhole_first", echo.address)
    api.add_toxic("blackhole_first", "timeout", {"timeout": 0}, stream="upstream")
    api.add_toxic("blackhole_first", "reset_peer", {"timeout": 0}, stream="upstream")
    second = api.create_proxy("reset_first", echo.address)
    api.add_toxic("reset_first", "reset_peer", {"timeout": 0}, stream="upstream")
    api.add_toxic("reset_first", "timeout", {"timeout": 0}, stream="upstream")
    with connect(first.listen) as client:
        client.sendall(b"ping")
        assert read_to_end(client, timeout=0.3) == (b"", "timeout")
    with connect(second.listen) as client:
        client.sendall(b"ping")
        assert read_to_end(client, timeout=2) == (b"", "reset")
