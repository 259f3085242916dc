"""How the request ledger says an exchange ended: the client or the upstream closing or
resetting mid-stream, a toxic cutting the response, the proxy disabled, a request that
never reached the backend (raw sockets on both sides, as in test_ledger.py).
"""

from __future__ import annotations

import pytest

from pytest_aistack.chaos.client import ToxiproxyClient

from .ledgerutil import ended_records, http_request, reset_socket, stream_started
from .netutil import Upstream, connect, read_to_end, recv_exactly

pytestmark = pytest.mark.usefixtures("embedded_only", "fresh_ledger")


def test_client_closing_mid_stream(api: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = api.create_proxy("test", upstream.address)
    client = connect(proxy.listen)
    server = upstream.accept()
    stream_started(client, server, "gone-1")
    client.close()
    (record,) = ended_records(api, 1)
    assert (record.request_id, record.status, record.outcome) == ("gone-1", 200, "client_closed")


def test_upstream_reset_mid_stream(api: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = api.create_proxy("test", upstream.address)
    with connect(proxy.listen) as client:
        server = upstream.accept()
        stream_started(client, server, "rst-1")
        reset_socket(server)
        (record,) = ended_records(api, 1)
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
        request = http_request(request_id="cut-1")
        client.sendall(request)
        recv_exactly(server, len(request))
        api.add_toxic("test", toxic, attributes, stream="downstream")
        server.sendall(head + b"x" * 100)
        read_to_end(client, timeout=3)
        (record,) = ended_records(api, 1)
    assert (record.request_id, record.outcome) == ("cut-1", "toxic_cut")
    if toxic == "limit_data":
        assert (record.status, record.bytes_down) == (200, 60)


def test_disabling_the_proxy_mid_stream(api: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = api.create_proxy("test", upstream.address)
    with connect(proxy.listen) as client:
        server = upstream.accept()
        stream_started(client, server, "off-1")
        api.disable("test")
        (record,) = ended_records(api, 1)
    assert (record.request_id, record.outcome) == ("off-1", "proxy_disabled")


def test_client_reset_mid_stream(api: ToxiproxyClient, upstream: Upstream) -> None:
    proxy = api.create_proxy("test", upstream.address)
    client = connect(proxy.listen)
    server = upstream.accept()
    stream_started(client, server, "crst-1")
    reset_socket(client)
    (record,) = ended_records(api, 1)
    assert (record.request_id, record.outcome) == ("crst-1", "client_reset")


def test_a_request_held_by_an_upstream_toxic_never_reached_the_backend(
    api: ToxiproxyClient, upstream: Upstream
) -> None:
    """The ledger records what was written upstream: a blackholed request is not there."""
    proxy = api.create_proxy("test", upstream.address)
    api.add_toxic("test", "timeout", {"timeout": 0}, stream="upstream")
    with connect(proxy.listen) as client:
        server = upstream.accept()
        client.sendall(http_request(request_id="held"))
        server.settimeout(0.3)
        with pytest.raises(TimeoutError):
            server.recv(1)
    page = api.proxy_ledger("test")
    assert page.records == ()
    assert page.connections["total"] == 1
