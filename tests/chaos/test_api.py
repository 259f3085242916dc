"""The control API, ported from toxiproxy ``api_test.go`` (each test names its source).

Upstream's tests use fixed ports (3310, 7070…); these use port 0 and the address the
proxy reports, which is the behaviour they check (``listen`` shows the bound address).
"""

from __future__ import annotations

import httpx
import pytest

from pytest_aistack.chaos.client import (
    BadRequest,
    Conflict,
    NotFound,
    ProxySpec,
    ServerError,
    ToxiproxyClient,
)

from .netutil import TcpServer, is_listening

UNUSED_UPSTREAM = "localhost:20001"


def test_browser_gets_403(http: httpx.Client) -> None:
    """api_test.go TestBrowserGets403."""
    agent = "Mozilla/5.0 (Linux; Android 4.4.2); Nexus 5 Build/KOT49H) AppleWebKit/537.36"
    response = http.get("/proxies", headers={"User-Agent": agent})
    assert response.status_code == 403
    assert response.text == "User agent not allowed\n"


def test_non_browser_gets_200(http: httpx.Client) -> None:
    """api_test.go TestNonBrowserGets200."""
    assert http.get("/proxies", headers={"User-Agent": "Wget/2.1"}).status_code == 200


def test_request_id_header(http: httpx.Client) -> None:
    """api_test.go TestRequestId."""
    response = http.get("/version", headers={"User-Agent": "curl"})
    assert response.headers.get("X-Toxiproxy-Request-Id")


def test_index_with_no_proxies(api: ToxiproxyClient) -> None:
    """api_test.go TestIndexWithNoProxies."""
    assert api.proxies() == {}


def test_create_proxy_blank_name(api: ToxiproxyClient) -> None:
    """api_test.go TestCreateProxyBlankName."""
    with pytest.raises(BadRequest) as info:
        api.create_proxy("", "")
    assert (info.value.status, info.value.message) == (400, "missing required field: name")


def test_create_proxy_blank_upstream(api: ToxiproxyClient) -> None:
    """api_test.go TestCreateProxyBlankUpstream."""
    with pytest.raises(BadRequest) as info:
        api.create_proxy("test", "")
    assert info.value.message == "missing required field: upstream"


def test_populate_proxy(api: ToxiproxyClient) -> None:
    """api_test.go TestPopulateProxy."""
    proxies = api.populate(
        [
            ProxySpec("one", "localhost:7171", listen="localhost:0"),
            ProxySpec("two", "localhost:7474", listen="localhost:0"),
        ]
    )
    assert [proxy.name for proxy in proxies] == ["one", "two"]
    for proxy in proxies:
        assert proxy.listen.startswith("127.0.0.1:")
        assert proxy.listen_port != 0
        assert is_listening(proxy.listen)


def test_populate_default_enabled(api: ToxiproxyClient, http: httpx.Client) -> None:
    """api_test.go TestPopulateDefaultEnabled."""
    body = b'[{"name": "test", "listen": "localhost:0", "upstream": "localhost:7171"}]'
    response = http.post("/populate", content=body)
    assert response.status_code == 201, response.text
    proxies = api.proxies()
    assert list(proxies) == ["test"]
    assert proxies["test"].enabled
    assert is_listening(proxies["test"].listen)


def test_populate_disabled_proxy(api: ToxiproxyClient) -> None:
    """api_test.go TestPopulateDisabledProxy."""
    one, two = api.populate(
        [
            ProxySpec("one", "localhost:7171", listen="localhost:0", enabled=False),
            ProxySpec("two", "localhost:7474", listen="localhost:0"),
        ]
    )
    assert (one.name, one.enabled, two.name, two.enabled) == ("one", False, "two", True)
    assert one.listen == "localhost:0"
    assert is_listening(two.listen)


def test_populate_existing_proxy(api: ToxiproxyClient) -> None:
    """api_test.go TestPopulateExistingProxy: unchanged proxies keep their toxics."""
    one = api.create_proxy("one", "localhost:7171", listen="localhost:0")
    api.create_proxy("two", "localhost:7474", listen="localhost:0")
    api.add_toxic("one", "latency")
    result = api.populate(
        [
            ProxySpec("one", "localhost:7171", listen=one.listen),
            ProxySpec("two", "localhost:7676", listen="127.0.0.1:0"),
        ]
    )
    assert [proxy.name for proxy in result] == ["one", "two"]
    assert result[0].listen == one.listen
    assert result[1].upstream == "localhost:7676"
    toxics = api.toxics("one")
    assert [toxic.type for toxic in toxics] == ["latency"]
    for proxy in result:
        assert is_listening(proxy.listen)


def test_populate_with_bad_name(api: ToxiproxyClient) -> None:
    """api_test.go TestPopulateWithBadName: nothing is created when one item is invalid."""
    with pytest.raises(BadRequest) as info:
        api.populate(
            [
                ProxySpec("one", "localhost:7171", listen="localhost:0"),
                ProxySpec("", "", listen=""),
            ]
        )
    assert info.value.message == "missing required field: name at proxy 2"
    assert api.proxies() == {}


def test_populate_with_bad_data_returns_error(api: ToxiproxyClient, http: httpx.Client) -> None:
    """api_test.go TestPopulateProxyWithBadDataShouldReturnError, with the whole request
    checked first (listen addresses included): a bad listen in item 2 creates nothing,
    not even item 1 (see test_populate.py for the cases around existing proxies).
    """
    body = [
        {"name": "one", "listen": "localhost:0", "upstream": "localhost:7171"},
        {"name": "two", "listen": "local373", "upstream": "localhost:7474"},
        {"name": "three", "listen": "localhost:0", "upstream": "localhost:7676"},
    ]
    response = http.post("/populate", json=body)
    assert response.status_code == 500
    assert response.json() == {
        "error": "listen tcp: address local373: missing port in address",
        "status": 500,
        "proxies": None,
    }
    assert api.proxies() == {}


def test_populate_add_toxic(api: ToxiproxyClient) -> None:
    """api_test.go TestPopulateAddToxic."""
    (proxy,) = api.populate([ProxySpec("one", "localhost:7171", listen="localhost:0")])
    assert proxy.name == "one"
    assert api.add_toxic("one", "latency").name == "latency_downstream"


def test_listing_proxies(api: ToxiproxyClient) -> None:
    """api_test.go TestListingProxies: listen is normalised to the bound address."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM, listen="localhost:0")
    proxies = api.proxies()
    proxy = proxies["mysql_master"]
    assert proxy.listen.startswith("127.0.0.1:")
    assert proxy.listen_port > 0
    assert proxy.upstream == UNUSED_UPSTREAM
    assert proxy.toxics == ()


def test_create_and_get_proxy(api: ToxiproxyClient) -> None:
    """api_test.go TestCreateAndGetProxy."""
    created = api.create_proxy("mysql_master", UNUSED_UPSTREAM, listen="localhost:0")
    proxy = api.proxy("mysql_master")
    assert proxy == created
    assert proxy.enabled
    assert proxy.listen.startswith("127.0.0.1:")


def test_create_proxy_answers_201_with_shape(http: httpx.Client, api: ToxiproxyClient) -> None:
    """api.go ProxyCreate: 201 and the proxy with an empty toxics list."""
    body = {"name": "p", "listen": "127.0.0.1:0", "upstream": UNUSED_UPSTREAM}
    response = http.post("/proxies", json=body)
    assert response.status_code == 201
    payload = response.json()
    assert set(payload) == {"name", "listen", "upstream", "enabled", "toxics"}
    assert payload["toxics"] == []
    assert payload["enabled"] is True


def test_create_disabled_proxy(api: ToxiproxyClient) -> None:
    """api_test.go TestCreateDisabledProxy: a disabled proxy keeps listen as given."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM, listen="localhost:0", enabled=False)
    proxy = api.proxy("mysql_master")
    assert (proxy.listen, proxy.enabled) == ("localhost:0", False)


def test_create_disabled_proxy_and_enable(api: ToxiproxyClient) -> None:
    """api_test.go TestCreateDisabledProxyAndEnable."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM, listen="127.0.0.1:0", enabled=False)
    proxy = api.enable("mysql_master")
    assert proxy.enabled
    assert is_listening(proxy.listen)
    proxy = api.disable("mysql_master")
    assert not proxy.enabled
    assert not is_listening(proxy.listen)


def test_delete_proxy(api: ToxiproxyClient, http: httpx.Client) -> None:
    """api_test.go TestDeleteProxy."""
    proxy = api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    assert is_listening(proxy.listen)
    response = http.delete("/proxies/mysql_master")
    assert (response.status_code, response.content) == (204, b"")
    assert not is_listening(proxy.listen)
    assert api.proxies() == {}
    with pytest.raises(NotFound) as info:
        api.delete_proxy("mysql_master")
    assert info.value.message == "proxy not found"


def test_create_proxy_port_conflict(api: ToxiproxyClient) -> None:
    """api_test.go TestCreateProxyPortConflict."""
    first = api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    with pytest.raises(ServerError) as info:
        api.create_proxy("test", UNUSED_UPSTREAM, listen=first.listen)
    assert info.value.status == 500
    assert info.value.message == f"listen tcp {first.listen}: bind: address already in use"
    assert "test" not in api.proxies()
    api.delete_proxy("mysql_master")
    assert api.create_proxy("test", UNUSED_UPSTREAM, listen=first.listen).listen == first.listen


def test_create_proxy_name_conflict(api: ToxiproxyClient) -> None:
    """api_test.go TestCreateProxyNameConflict."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    with pytest.raises(Conflict) as info:
        api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    assert (info.value.status, info.value.message) == (409, "proxy already exists")
    api.delete_proxy("mysql_master")
    api.create_proxy("mysql_master", UNUSED_UPSTREAM)


def test_reset_state(api: ToxiproxyClient, http: httpx.Client) -> None:
    """api_test.go TestResetState: reset removes toxics and re-enables proxies."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    api.add_toxic("mysql_master", "latency", {"latency": 100, "jitter": 10})
    api.create_proxy("disabled", UNUSED_UPSTREAM, enabled=False)
    response = http.post("/reset")
    assert (response.status_code, response.content) == (204, b"")
    proxies = api.proxies()
    assert all(proxy.enabled for proxy in proxies.values())
    assert all(proxy.toxics == () for proxy in proxies.values())
    for proxy in proxies.values():
        assert is_listening(proxy.listen)


def test_version_endpoint_returns_version(http: httpx.Client) -> None:
    """api_test.go TestVersionEndpointReturnsVersion: ``{"version": "..."}`` and a newline."""
    response = http.get("/version")
    assert response.status_code == 200
    assert response.text.startswith('{"version": "')
    assert response.text.endswith('"}\n')
    assert response.headers["content-type"].startswith("application/json")


def test_update_proxy_partial_merge(api: ToxiproxyClient, echo: TcpServer) -> None:
    """api.go ProxyUpdate: fields not sent keep their value; a new upstream restarts."""
    proxy = api.create_proxy("p", UNUSED_UPSTREAM)
    updated = api.update_proxy("p", upstream=echo.address)
    assert (updated.listen, updated.upstream, updated.enabled) == (
        proxy.listen,
        echo.address,
        True,
    )
    assert is_listening(updated.listen)


def test_proxy_and_toxic_not_found(api: ToxiproxyClient, http: httpx.Client) -> None:
    """api.go: 404 ``proxy not found`` / ``toxic not found`` on every proxy/toxic route."""
    for method, path in [
        ("GET", "/proxies/nope"),
        ("PATCH", "/proxies/nope"),
        ("DELETE", "/proxies/nope"),
        ("GET", "/proxies/nope/toxics"),
        ("POST", "/proxies/nope/toxics"),
        ("GET", "/proxies/nope/toxics/t"),
    ]:
        response = http.request(method, path, json={})
        assert response.status_code == 404, (method, path)
        assert response.json() == {"error": "proxy not found", "status": 404}
    api.create_proxy("p", UNUSED_UPSTREAM)
    for method in ("GET", "PATCH", "DELETE"):
        response = http.request(method, "/proxies/p/toxics/nope", json={})
        assert response.json() == {"error": "toxic not found", "status": 404}


def test_wrong_method_is_405_unknown_path_404(http: httpx.Client) -> None:
    """gorilla/mux behind api.go: 405 for a known path, 404 page not found otherwise."""
    assert http.delete("/version").status_code == 405
    assert http.put("/proxies").status_code == 405
    response = http.get("/nothing-here")
    assert (response.status_code, response.text) == (404, "404 page not found\n")


def test_expect_100_continue_is_answered(toxiproxy_url: str, api: ToxiproxyClient) -> None:
    """Go's net/http answers ``Expect: 100-continue`` (curl sends it for bodies > 1 KiB)."""
    from .netutil import connect, read_to_end

    body = b'{"name": "p", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}'
    head = (
        "POST /proxies HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
    )
    with connect(toxiproxy_url.removeprefix("http://")) as sock:
        sock.sendall(head.encode())
        sock.settimeout(2)
        assert sock.recv(64).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        data, _ending = read_to_end(sock, timeout=5)
    assert b"HTTP/1.1 201" in data
    assert api.proxy("p").enabled
