"""``POST /populate`` and ``PATCH /proxies/{name}`` around proxies that already exist.

Upstream's promise (README "Populating Toxiproxy"): populate is safe to call again and
again, since proxies are untouched as long as their fields are consistent with the new
data (proxy_collection.go AddOrReplace). Untouched means the same proxy: its toxics
and its open connections survive. A listen of ``localhost:PORT`` for a proxy bound to
``127.0.0.1:PORT`` is the same address (toxiproxy issue #131, fixed by PR #631's
``Differs``). A request with a bad entry anywhere changes nothing.
"""

from __future__ import annotations

import socket

import httpx
import pytest

from pytest_aistack.chaos.client import BadRequest, ProxySpec, ServerError, ToxiproxyClient

from .netutil import TcpServer, Upstream, connect, echo_round_trip, is_listening, read_to_end


def _localhost(listen: str) -> str:
    """The same address written with the name (``127.0.0.1:8080`` -> ``localhost:8080``)."""
    host, port = listen.rsplit(":", 1)
    assert host == "127.0.0.1", listen
    return f"localhost:{port}"


@pytest.mark.parametrize("spelling", ["as reported", "localhost"])
def test_unchanged_proxy_keeps_toxics_and_live_connections(
    api: ToxiproxyClient, upstream: Upstream, spelling: str
) -> None:
    proxy = api.create_proxy("db", upstream.address)
    api.add_toxic("db", "latency", attributes={"latency": 1})
    listen = proxy.listen if spelling == "as reported" else _localhost(proxy.listen)
    with connect(proxy.listen) as client, upstream.accept() as server:
        echo_round_trip(client, server, b"before\n")

        (kept,) = api.populate([ProxySpec("db", upstream.address, listen=listen)])

        assert kept.listen == proxy.listen
        assert kept.enabled
        assert [toxic.type for toxic in kept.toxics] == ["latency"]
        # The connection opened before the populate still carries bytes both ways.
        echo_round_trip(client, server, b"after\n")
    assert api.proxy("db").listen == proxy.listen


def test_patch_with_localhost_for_the_bound_address_does_not_restart(
    api: ToxiproxyClient, upstream: Upstream
) -> None:
    proxy = api.create_proxy("db", upstream.address)
    with connect(proxy.listen) as client, upstream.accept() as server:
        updated = api.update_proxy("db", listen=_localhost(proxy.listen))
        assert (updated.listen, updated.enabled) == (proxy.listen, True)
        echo_round_trip(client, server, b"still here\n")


def test_patch_with_another_listen_restarts(
    api: ToxiproxyClient, upstream: Upstream, echo: TcpServer
) -> None:
    """The check above is not blind: a really different address does restart."""
    proxy = api.create_proxy("db", upstream.address)
    with connect(proxy.listen) as client, upstream.accept():
        moved = api.update_proxy("db", listen="127.0.0.1:0")
        assert moved.listen != proxy.listen
        assert read_to_end(client)[1] in ("eof", "reset")
    assert is_listening(moved.listen)
    assert not is_listening(proxy.listen)


def test_changed_upstream_replaces_the_proxy(api: ToxiproxyClient, upstream: Upstream) -> None:
    """AddOrReplace: a different upstream is another proxy (connections and toxics go)."""
    proxy = api.create_proxy("db", upstream.address)
    api.add_toxic("db", "latency", attributes={"latency": 1})
    with connect(proxy.listen) as client, upstream.accept():
        (replaced,) = api.populate([ProxySpec("db", "127.0.0.1:1", listen=proxy.listen)])
        assert read_to_end(client)[1] in ("eof", "reset")
    assert replaced.upstream == "127.0.0.1:1"
    assert replaced.toxics == ()


def _existing(api: ToxiproxyClient, upstream: Upstream) -> tuple[str, socket.socket]:
    proxy = api.create_proxy("kept", upstream.address)
    api.add_toxic("kept", "latency", attributes={"latency": 1})
    return proxy.listen, connect(proxy.listen)


def _assert_untouched(
    api: ToxiproxyClient, upstream: Upstream, listen: str, client: socket.socket
) -> None:
    proxies = api.proxies()
    assert list(proxies) == ["kept"]
    kept = proxies["kept"]
    assert (kept.listen, kept.upstream, kept.enabled) == (listen, upstream.address, True)
    assert [toxic.type for toxic in kept.toxics] == ["latency"]
    with upstream.accept() as server:
        echo_round_trip(client, server, b"untouched\n")


@pytest.mark.parametrize(
    ("bad", "status", "error"),
    [
        ({"name": "", "upstream": "127.0.0.1:1"}, 400, "missing required field: name at proxy 3"),
        ({"name": "x", "upstream": ""}, 400, "missing required field: upstream at proxy 3"),
        (
            {"name": "x", "upstream": "127.0.0.1:1", "listen": "local373"},
            500,
            "listen tcp: address local373: missing port in address",
        ),
        (
            {"name": "x", "upstream": "127.0.0.1:1", "listen": "127.0.0.1:http-ish"},
            500,
            "listen tcp: lookup tcp/http-ish: unknown port",
        ),
    ],
    ids=["no name", "no upstream", "listen without port", "listen with bad port"],
)
def test_a_bad_entry_anywhere_changes_nothing(
    api: ToxiproxyClient,
    upstream: Upstream,
    http: httpx.Client,
    bad: dict[str, str],
    status: int,
    error: str,
) -> None:
    listen, client = _existing(api, upstream)
    with client:
        body = [
            # Would replace "kept" (another upstream) and create "new", were it applied.
            {"name": "kept", "upstream": "127.0.0.1:1", "listen": listen},
            {"name": "new", "upstream": "127.0.0.1:1", "listen": "127.0.0.1:0"},
            bad,
        ]
        response = http.post("/populate", json=body)
        assert response.status_code == status, response.text
        assert response.json() == {"error": error, "status": status, "proxies": None}
        _assert_untouched(api, upstream, listen, client)


def test_a_disabled_entry_may_keep_an_address_it_cannot_bind(api: ToxiproxyClient) -> None:
    """Only entries to be enabled need a listen that binds (a disabled one binds nothing)."""
    (proxy,) = api.populate([ProxySpec("off", "127.0.0.1:1", listen="local373", enabled=False)])
    assert (proxy.listen, proxy.enabled) == ("local373", False)


def test_a_port_taken_meanwhile_undoes_the_whole_request(
    api: ToxiproxyClient, upstream: Upstream, echo: TcpServer
) -> None:
    """A listen that is well-formed but cannot bind fails only when bound; the entries
    before it are undone, and the proxy they replaced is back on its address."""
    listen, client = _existing(api, upstream)
    # A replaced proxy's connections cannot come back: close this one on both ends.
    client.close()
    upstream.accept().close()
    with pytest.raises(ServerError) as info:
        api.populate(
            [
                ProxySpec("kept", "127.0.0.1:1", listen=listen),
                ProxySpec("new", "127.0.0.1:1", listen="127.0.0.1:0"),
                ProxySpec("clash", "127.0.0.1:1", listen=echo.address),
            ]
        )
    assert info.value.status == 500
    assert info.value.message == f"listen tcp {echo.address}: bind: address already in use"
    with connect(listen) as again:
        _assert_untouched(api, upstream, listen, again)


def test_missing_name_still_answers_before_a_bad_listen(api: ToxiproxyClient) -> None:
    """Fields first for every entry (upstream's loop order), then the addresses."""
    with pytest.raises(BadRequest) as info:
        api.populate(
            [
                ProxySpec("one", "127.0.0.1:1", listen="local373"),
                ProxySpec("", "127.0.0.1:1"),
            ]
        )
    assert info.value.message == "missing required field: name at proxy 2"
    assert api.proxies() == {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_populate_existing_proxy_named_by_localhost(
    api: ToxiproxyClient, upstream: Upstream
) -> None:
    """api_test.go TestPopulateExistingProxy as upstream writes it: the same body twice,
    listen given as ``localhost:PORT``; the second populate keeps the proxy's toxics."""
    specs = [
        ProxySpec("one", upstream.address, listen=f"localhost:{_free_port()}"),
        ProxySpec("two", "localhost:7474", listen=f"localhost:{_free_port()}"),
    ]
    first = api.populate(specs)
    api.add_toxic("one", "latency", attributes={"latency": 1})
    with connect(first[0].listen) as client, upstream.accept() as server:
        again = api.populate(specs)
        assert [proxy.listen for proxy in again] == [proxy.listen for proxy in first]
        assert [toxic.type for toxic in again[0].toxics] == ["latency"]
        echo_round_trip(client, server, b"kept\n")
    for proxy in again:
        assert is_listening(proxy.listen)
