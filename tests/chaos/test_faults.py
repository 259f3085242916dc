"""The fault API against the embedded server: each fault's effect, cleanup on exit
(also when the body raises), sync and async context managers, and exercise tracking."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pytest_aistack.chaos.client import ToxiproxyClient
from pytest_aistack.chaos.faults import Chaos, unexercised
from pytest_aistack.chaos.toxiproxy import EmbeddedToxiproxy

from .netutil import TcpServer, connect, is_listening, read_to_end, recv_exactly


@pytest.fixture(scope="module")
def embedded_url() -> Iterator[str]:
    with EmbeddedToxiproxy() as server:
        yield server.url


@pytest.fixture
def client(embedded_url: str) -> Iterator[ToxiproxyClient]:
    with ToxiproxyClient(embedded_url) as toxiproxy:
        yield toxiproxy
        for name in toxiproxy.proxies():
            toxiproxy.delete_proxy(name)


def _ping(listen: str) -> bool:
    """One echo round trip through the proxy."""
    with connect(listen) as sock:
        sock.sendall(b"ping")
        return recv_exactly(sock, 4, timeout=2.0) == b"ping"


def test_each_fault_applies_and_is_removed(client: ToxiproxyClient, echo: TcpServer) -> None:
    proxy = client.create_proxy("svc", echo.address)
    chaos = Chaos(client)
    with chaos.latency("svc", ms=120) as fault:
        start = time.monotonic()
        assert _ping(proxy.listen)
        assert time.monotonic() - start == pytest.approx(0.12, abs=0.05)
        assert fault.active
    assert client.toxics("svc") == []
    with chaos.down(proxy):
        assert not is_listening(proxy.listen)
    assert is_listening(proxy.listen)
    with chaos.blackhole("svc"), connect(proxy.listen) as sock:
        sock.sendall(b"ping")
        assert read_to_end(sock, timeout=0.3) == (b"", "timeout")
    with chaos.reset_peer("svc", after_ms=0), connect(proxy.listen) as sock:
        sock.sendall(b"ping")
        assert read_to_end(sock, timeout=2)[1] == "reset"
    with chaos.cut_after_bytes("svc", 2), connect(proxy.listen) as sock:
        sock.sendall(b"ping")
        assert read_to_end(sock, timeout=2) == (b"pi", "eof")
    with chaos.timeout("svc", 100), connect(proxy.listen) as sock:
        sock.sendall(b"ping")
        assert read_to_end(sock, timeout=2) == (b"", "eof")
    with chaos.bandwidth("svc", kb_s=100), connect(proxy.listen) as sock:
        payload = b"x" * 20_000
        start = time.monotonic()
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload), timeout=5) == payload
        assert time.monotonic() - start > 0.15
    with chaos.slice("svc", average_size=10, size_variation=5, delay_us=100):
        assert _ping(proxy.listen)
    with chaos.slow_close("svc", 50):
        assert _ping(proxy.listen)
    with chaos.flaky("svc", toxicity=1.0), connect(proxy.listen) as sock:
        sock.sendall(b"ping")
        assert read_to_end(sock, timeout=2)[1] == "reset"
    assert client.toxics("svc") == []
    assert client.proxy("svc").enabled


def test_fault_removed_when_body_raises(client: ToxiproxyClient, echo: TcpServer) -> None:
    client.create_proxy("svc", echo.address)
    chaos = Chaos(client)
    with pytest.raises(RuntimeError, match="boom"), chaos.latency("svc", ms=10):
        raise RuntimeError("boom")
    assert client.toxics("svc") == []
    with pytest.raises(RuntimeError, match="boom"), chaos.down("svc"):
        raise RuntimeError("boom")
    assert client.proxy("svc").enabled


@pytest.mark.asyncio
async def test_async_context_manager(client: ToxiproxyClient, echo: TcpServer) -> None:
    client.create_proxy("svc", echo.address)
    chaos = Chaos(client)
    async with chaos.latency("svc", ms=10) as fault:
        assert [t.name for t in client.toxics("svc")] == [fault.toxic_name]
    assert client.toxics("svc") == []
    with pytest.raises(ValueError, match="inner"):
        async with chaos.down("svc"):
            raise ValueError("inner")
    assert client.proxy("svc").enabled


def test_exercised_tracking(client: ToxiproxyClient, echo: TcpServer) -> None:
    proxy = client.create_proxy("svc", echo.address)
    chaos = Chaos(client)
    with chaos.latency("svc", ms=1) as used:
        assert _ping(proxy.listen)
    with chaos.latency("svc", ms=1) as unused:
        pass
    with chaos.down("svc") as down:
        pass
    assert used.exercised() is True
    assert unused.exercised() is False
    assert down.exercised() is None  # a refused connection never reaches the server
    assert unexercised(chaos.faults) == [unused]
    assert unused.description == 'latency on proxy "svc"'


def test_two_faults_of_one_kind_coexist(client: ToxiproxyClient, echo: TcpServer) -> None:
    client.create_proxy("svc", echo.address)
    chaos = Chaos(client)
    with chaos.latency("svc", ms=5), chaos.latency("svc", ms=5):
        assert len(client.toxics("svc")) == 2
    assert client.toxics("svc") == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda c: c.latency("svc", ms=-1), "ms must be >= 0"),
        (lambda c: c.bandwidth("svc", kb_s=0), "kb_s must be > 0"),
        (lambda c: c.slice("svc", average_size=10, size_variation=10), "size_variation"),
        (lambda c: c.flaky("svc", toxicity=1.5), "toxicity must be between 0 and 1"),
    ],
)
def test_bad_fault_arguments(client: ToxiproxyClient, make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(Chaos(client))  # type: ignore[operator]


def test_fault_on_missing_proxy_raises_not_found(client: ToxiproxyClient) -> None:
    from pytest_aistack.chaos.client import NotFound

    with pytest.raises(NotFound, match="proxy not found"), Chaos(client).latency("nope", ms=1):
        pass
