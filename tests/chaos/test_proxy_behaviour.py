"""Proxy-level behaviour on real sockets: ``proxy.go``, ``toxics/toxic_test.go``,
``link.go`` and the ``/metrics`` counters (each test names its source)."""

from __future__ import annotations

import re
import threading

import httpx
import pytest

from pytest_aistack.chaos.client import ToxiproxyClient
from pytest_aistack.chaos.faults import toxic_connection_counts
from pytest_aistack.runtime.waiting import wait_until

from .netutil import (
    TcpServer,
    Upstream,
    connect,
    echo_round_trip,
    is_listening,
    read_to_end,
)


def test_persistent_connections(api: ToxiproxyClient, upstream: Upstream) -> None:
    """toxic_test.go TestPersistentConnections: toxics added and reset around one open
    connection leave it working."""
    proxy = api.create_proxy("test", upstream.address)
    with connect(proxy.listen) as client, upstream.accept() as server:
        api.add_toxic("test", "noop", name="noop_up", stream="upstream")
        api.add_toxic("test", "noop", name="noop_down", stream="downstream")
        echo_round_trip(client, server, b"hello world\n")
        api.reset()
        echo_round_trip(client, server, b"hello world\n")
        api.reset()
        echo_round_trip(client, server, b"hello world\n")


def test_toxic_add_remove_while_traffic_flows(api: ToxiproxyClient, upstream: Upstream) -> None:
    """toxic_test.go TestToxicAddRemove: toxics toggled on both streams while 100 echo
    round trips run lose and reorder nothing."""
    proxy = api.create_proxy("test", upstream.address)
    running = threading.Event()
    running.set()
    errors: list[BaseException] = []

    def toggle() -> None:
        with ToxiproxyClient(api.base_url) as other:
            enabled = False
            while running.is_set():
                try:
                    if enabled:
                        other.add_toxic("test", "noop", name="noop_up", stream="upstream")
                        other.remove_toxic("test", "noop_down")
                    else:
                        other.remove_toxic("test", "noop_up")
                        other.add_toxic("test", "noop", name="noop_down")
                except Exception as exc:  # a 404 on the very first removal is expected
                    if "not found" not in str(exc):
                        errors.append(exc)
                        return
                enabled = not enabled

    with connect(proxy.listen) as client, upstream.accept() as server:
        toggler = threading.Thread(target=toggle, daemon=True)
        toggler.start()
        try:
            for index in range(100):
                echo_round_trip(client, server, f"hello world {index}\n".encode())
        finally:
            running.clear()
            toggler.join(timeout=10)
    assert errors == []


def test_disable_closes_listener_and_connections_toxics_survive(
    api: ToxiproxyClient, upstream: Upstream
) -> None:
    """proxy.go stop: the listener closes, open connections close, toxics stay; enabling
    again listens on the same address."""
    proxy = api.create_proxy("test", upstream.address)
    api.add_toxic("test", "latency", {"latency": 5})
    with connect(proxy.listen) as client, upstream.accept() as server:
        echo_round_trip(client, server, b"ping")
        disabled = api.disable("test")
        assert not disabled.enabled
        assert read_to_end(client, timeout=2)[1] in ("eof", "reset")
        assert read_to_end(server, timeout=2)[1] in ("eof", "reset")
    assert not is_listening(proxy.listen)
    assert [toxic.type for toxic in api.toxics("test")] == ["latency"]
    enabled = api.enable("test")
    assert enabled.listen == proxy.listen
    with connect(proxy.listen) as client, upstream.accept() as server:
        echo_round_trip(client, server, b"again")


def test_unreachable_upstream_accepts_then_closes(api: ToxiproxyClient) -> None:
    """proxy.go accept: the client is accepted, the upstream dial fails, the client is
    closed."""
    with _NoServer() as address:
        proxy = api.create_proxy("test", address)
        with connect(proxy.listen) as client:
            client.sendall(b"hello")
            data, ending = read_to_end(client, timeout=5)
            assert data == b""
            assert ending in ("eof", "reset")


class _NoServer:
    """An address where nothing listens (a port bound, never listened on)."""

    def __enter__(self) -> str:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{self._sock.getsockname()[1]}"

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


def test_update_listen_moves_the_listener(api: ToxiproxyClient, echo: TcpServer) -> None:
    """proxy.go Update: a new listen address stops the old listener and starts a new one."""
    old = api.create_proxy("test", echo.address)
    new = api.update_proxy("test", listen="127.0.0.1:0")
    assert new.listen != old.listen
    assert not is_listening(old.listen)
    with connect(new.listen) as client:
        client.sendall(b"moved")
        assert client.recv(5) == b"moved"


def test_delete_closes_open_connections(api: ToxiproxyClient, upstream: Upstream) -> None:
    """proxy_collection.go Remove stops the proxy, which closes its connections."""
    proxy = api.create_proxy("test", upstream.address)
    with connect(proxy.listen) as client, upstream.accept() as server:
        echo_round_trip(client, server, b"ping")
        api.delete_proxy("test")
        assert read_to_end(client, timeout=2)[1] in ("eof", "reset")


def test_metrics_count_bytes_per_direction(
    api: ToxiproxyClient, http: httpx.Client, echo: TcpServer
) -> None:
    """link.go read/write add to toxiproxy_proxy_{received,sent}_bytes_total labelled
    direction, listener, proxy, upstream (upstream adds them when a link ends, so the
    connection is closed before reading them)."""
    proxy = api.create_proxy("metered", echo.address)
    with connect(proxy.listen) as client:
        client.sendall(b"x" * 1000)
        assert len(client.recv(2000)) > 0
    labels = f'listener="{proxy.listen}",proxy="metered",upstream="{echo.address}"'

    def counted() -> bool:
        text = http.get("/metrics").text
        return all(
            re.search(rf'{family}\{{direction="{direction}",{re.escape(labels)}\}} 1000\b', text)
            for family in (
                "toxiproxy_proxy_received_bytes_total",
                "toxiproxy_proxy_sent_bytes_total",
            )
            for direction in ("upstream", "downstream")
        )

    wait_until(counted, timeout=5, what="byte counters of 1000 in each direction")


@pytest.mark.usefixtures("embedded_only")
def test_extension_counters_show_connections_through_toxics(
    api: ToxiproxyClient, http: httpx.Client, echo: TcpServer
) -> None:
    """Our documented /metrics extension: connections accepted and open per proxy, and
    connections that carried data through each toxic."""
    proxy = api.create_proxy("ext", echo.address)
    api.add_toxic("ext", "latency", {"latency": 1}, name="used", stream="upstream")
    # Nothing reaches a toxic behind a blackhole: it carries no connection.
    api.add_toxic("ext", "timeout", {"timeout": 0}, name="blackhole")
    api.add_toxic("ext", "latency", {"latency": 1}, name="idle")
    with connect(proxy.listen) as client:
        client.sendall(b"ping")
        assert read_to_end(client, timeout=0.3) == (b"", "timeout")
        text = http.get("/metrics").text
        assert 'aistack_proxy_connections_active{proxy="ext"} 1' in text
    counts = toxic_connection_counts(api)
    assert counts is not None
    assert counts[("ext", "used")] == 1
    assert counts[("ext", "blackhole")] == 1
    assert ("ext", "idle") not in counts
    text = http.get("/metrics").text
    assert 'aistack_proxy_connections_accepted_total{proxy="ext"} 1' in text
    # The 1 ms latency toxic held the ping once and reports how late it released it.
    count = re.search(r"^aistack_latency_toxic_lateness_seconds_count (\d+)$", text, re.M)
    assert count is not None
    assert int(count.group(1)) >= 1
    wait_until(
        lambda: 'aistack_proxy_connections_active{proxy="ext"} 0' in http.get("/metrics").text,
        timeout=5,
        what="the closed connection to leave the active gauge",
    )


@pytest.mark.usefixtures("embedded_only")
def test_closed_connections_are_released(
    api: ToxiproxyClient, http: httpx.Client, echo: TcpServer
) -> None:
    """Connections closed by either side, with toxics on both streams, leave nothing
    behind: the active-connection gauge returns to 0."""
    proxy = api.create_proxy("churn", echo.address)
    api.add_toxic("churn", "latency", {"latency": 2}, stream="upstream")
    api.add_toxic("churn", "slicer", {"average_size": 2, "size_variation": 1})
    for index in range(40):
        with connect(proxy.listen) as client:
            client.sendall(b"ping")
            if index % 2:
                assert read_to_end(client, timeout=0.05)[1] in ("timeout", "eof")
    wait_until(
        lambda: 'aistack_proxy_connections_active{proxy="churn"} 0' in http.get("/metrics").text,
        timeout=10,
        what="all 40 connections to be released",
    )
    assert 'aistack_proxy_connections_accepted_total{proxy="churn"} 40' in http.get("/metrics").text
