"""toxiproxy-python 0.1.1 (unmaintained) works against our server for its common calls:
create, get_proxy, add_toxic, destroy, reset. Its known bugs are in docs/chaos.md."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from pytest_aistack.chaos.client import ToxiproxyClient

from .netutil import TcpServer, connect, recv_exactly

toxiproxy = pytest.importorskip("toxiproxy")


@pytest.fixture
def legacy(toxiproxy_url: str) -> Iterator[object]:
    from toxiproxy.api import APIConsumer

    parts = urlsplit(toxiproxy_url)
    saved = (APIConsumer.host, APIConsumer.port)
    # The library keeps host and port in class attributes shared by every instance.
    server = toxiproxy.Toxiproxy()
    server.update_api_consumer(parts.hostname, parts.port)
    try:
        yield server
    finally:
        APIConsumer.host, APIConsumer.port = saved


def test_common_calls(legacy: object, api: ToxiproxyClient, echo: TcpServer) -> None:
    server = legacy
    assert server.running()  # type: ignore[attr-defined]
    proxy = server.create(upstream=echo.address, name="legacy")  # type: ignore[attr-defined]
    assert proxy.name == "legacy"
    assert proxy.enabled is True
    assert proxy.listen.startswith("127.0.0.1:")
    got = server.get_proxy("legacy")  # type: ignore[attr-defined]
    assert (got.name, got.listen, got.upstream) == ("legacy", proxy.listen, echo.address)

    proxy.add_toxic(type="latency", attributes={"latency": 100})
    toxics = proxy.toxics()
    assert list(toxics) == ["latency_downstream"]
    assert toxics["latency_downstream"].attributes == {"latency": 100, "jitter": 0}
    assert api.toxic("legacy", "latency_downstream").attributes["latency"] == 100

    with connect(proxy.listen) as client:
        client.sendall(b"ping")
        assert recv_exactly(client, 4) == b"ping"

    with proxy.down():
        assert api.proxy("legacy").enabled is False
    assert api.proxy("legacy").enabled is True

    assert server.reset() is True  # type: ignore[attr-defined]
    assert api.toxics("legacy") == []

    assert proxy.destroy() is True
    assert server.get_proxy("legacy") is None  # type: ignore[attr-defined]
    assert api.proxies() == {}


def test_version_and_errors(legacy: object, api: ToxiproxyClient) -> None:
    from toxiproxy.exceptions import NotFound, ProxyExists

    server = legacy
    assert b'"version"' in server.version()  # type: ignore[attr-defined]
    server.create(upstream="127.0.0.1:1", name="dup")  # type: ignore[attr-defined]
    with pytest.raises(ProxyExists):
        server.create(upstream="127.0.0.1:1", name="dup")  # type: ignore[attr-defined]
    proxy = server.get_proxy("dup")  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        proxy.destroy_toxic("missing")
