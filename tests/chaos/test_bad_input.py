"""Bad input gets upstream's status and message, and the server keeps answering.

Messages follow ``api.go`` (``bad request body: <decoder error>``, ``missing required
field: …``) and Go's ``encoding/json`` wording for the common cases.
"""

from __future__ import annotations

import httpx
import pytest

from pytest_aistack.chaos.client import ToxiproxyClient

from .netutil import TcpServer, connect, read_to_end

UPSTREAM = "127.0.0.1:20001"


def _error(response: httpx.Response) -> tuple[int, str]:
    payload = response.json()
    assert payload["status"] == response.status_code
    return response.status_code, payload["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"", "bad request body: EOF", id="empty"),
        pytest.param(b"   \n", "bad request body: EOF", id="whitespace"),
        pytest.param(
            b"{bad",
            "bad request body: invalid character",
            id="malformed",
        ),
        pytest.param(
            b"xyz",
            "bad request body: invalid character 'x' looking for beginning of value",
            id="not-json",
        ),
        pytest.param(b'{"name": "a"', "bad request body: unexpected EOF", id="truncated"),
        pytest.param(
            b'{"name": 5, "upstream": "x:1"}',
            "bad request body: json: cannot unmarshal number",
            id="name-number",
        ),
        pytest.param(
            b'{"name": "a", "upstream": "x:1", "enabled": "yes"}',
            "bad request body: json: cannot unmarshal string",
            id="enabled-string",
        ),
        pytest.param(
            b"[1, 2]",
            "bad request body: json: cannot unmarshal array",
            id="array",
        ),
        pytest.param(b"null", "missing required field: name", id="null"),
        pytest.param(b"{}", "missing required field: name", id="empty-object"),
    ],
)
def test_create_proxy_bad_bodies(
    api: ToxiproxyClient, http: httpx.Client, body: bytes, message: str
) -> None:
    """api.go ProxyCreate: ErrBadRequestBody / ErrMissingField, 400."""
    response = http.post("/proxies", content=body)
    status, error = _error(response)
    assert status == 400
    assert error.startswith(message)
    assert api.proxies() == {}
    assert api.version()


def test_field_names_match_case_insensitively(api: ToxiproxyClient, http: httpx.Client) -> None:
    """Go's encoding/json matches keys to fields ignoring case; unknown keys are ignored."""
    body = {"Name": "p", "UPSTREAM": UPSTREAM, "listen": "127.0.0.1:0", "extra": [1]}
    response = http.post("/proxies", json=body)
    assert response.status_code == 201
    assert api.proxy("p").upstream == UPSTREAM


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        pytest.param({"type": "nope"}, 400, "invalid toxic type", id="unknown-type"),
        pytest.param({}, 400, "invalid toxic type", id="no-type"),
        pytest.param(
            {"type": "latency", "stream": "sideways"},
            400,
            "stream was invalid, can be either upstream or downstream",
            id="bad-stream",
        ),
        pytest.param(
            {"type": "latency", "attributes": {"latency": "slow"}},
            400,
            "bad request body: json: cannot unmarshal string",
            id="attribute-string",
        ),
        pytest.param(
            {"type": "latency", "attributes": {"latency": 1.5}},
            400,
            "bad request body: json: cannot unmarshal number 1.5",
            id="attribute-fraction",
        ),
        pytest.param(
            {"type": "latency", "attributes": {"latency": 10**30}},
            400,
            "bad request body: json: cannot unmarshal number",
            id="attribute-overflow",
        ),
        pytest.param(
            {"type": "latency", "toxicity": "high"},
            400,
            "bad request body: json: cannot unmarshal string",
            id="toxicity-string",
        ),
        pytest.param(
            {"type": "latency", "attributes": [1]},
            400,
            "bad request body: json: cannot unmarshal array",
            id="attributes-array",
        ),
    ],
)
def test_add_toxic_bad_bodies(
    api: ToxiproxyClient, http: httpx.Client, body: dict[str, object], status: int, message: str
) -> None:
    """toxic_collection.go AddToxicJson: stream, then type, then attributes are checked."""
    api.create_proxy("p", UPSTREAM)
    response = http.post("/proxies/p/toxics", json=body)
    assert _error(response)[0] == status
    assert _error(response)[1].startswith(message)
    assert api.toxics("p") == []


def test_stream_is_case_insensitive_and_kept_as_given(
    api: ToxiproxyClient, http: httpx.Client
) -> None:
    """stream/direction.go ParseDirection lower-cases; the toxic keeps the text it got."""
    api.create_proxy("p", UPSTREAM)
    response = http.post("/proxies/p/toxics", json={"type": "latency", "stream": "UpStream"})
    assert response.status_code == 200
    assert response.json()["stream"] == "UpStream"
    assert response.json()["name"] == "latency_UpStream"


def test_huge_values_are_accepted_and_harmless(
    api: ToxiproxyClient, http: httpx.Client, echo: TcpServer
) -> None:
    """Values in range of Go's int64 are accepted, as upstream does; the server keeps
    serving (a latency of 2^62 ms just holds the data)."""
    proxy = api.create_proxy("p", echo.address)
    big = 2**62
    for body in (
        {"type": "latency", "attributes": {"latency": big, "jitter": big}},
        {"type": "slicer", "attributes": {"average_size": 0, "size_variation": 0}},
        {"type": "bandwidth", "attributes": {"rate": -5}, "stream": "upstream"},
    ):
        assert http.post("/proxies/p/toxics", json=body).status_code == 200
    with connect(proxy.listen) as client:
        client.sendall(b"ping")
        assert read_to_end(client, timeout=0.3) == (b"", "timeout")
    api.reset()
    with connect(proxy.listen) as client:
        client.sendall(b"ping")
        assert client.recv(4) == b"ping"


@pytest.mark.parametrize(
    ("listen", "fragment"),
    [
        pytest.param("local373", "missing port in address", id="no-port"),
        pytest.param("127.0.0.1:99999", "", id="port-out-of-range"),
        pytest.param("256.1.1.1:80", "", id="bad-host"),
    ],
)
def test_unusable_listen_address_is_500(
    api: ToxiproxyClient, http: httpx.Client, listen: str, fragment: str
) -> None:
    """proxy.go start: the OS/resolver error is returned as 500 with its text."""
    response = http.post("/proxies", json={"name": "p", "listen": listen, "upstream": UPSTREAM})
    status, error = _error(response)
    assert status == 500
    assert error.startswith("listen tcp")
    assert fragment in error
    assert api.proxies() == {}


def test_update_with_bad_body_changes_nothing(api: ToxiproxyClient, http: httpx.Client) -> None:
    """api.go ProxyUpdate / ToxicUpdate decode before changing anything."""
    proxy = api.create_proxy("p", UPSTREAM)
    api.add_toxic("p", "latency", {"latency": 10})
    assert http.patch("/proxies/p", json={"enabled": "no"}).status_code == 400
    assert http.patch("/proxies/p/toxics/latency_downstream", content=b"{").status_code == 400
    after = api.proxy("p")
    assert (after.listen, after.upstream, after.enabled) == (proxy.listen, proxy.upstream, True)
    assert api.toxic("p", "latency_downstream").attributes == {"latency": 10, "jitter": 0}


def test_populate_bad_bodies(api: ToxiproxyClient, http: httpx.Client) -> None:
    """api.go Populate: errors carry ``proxies: null`` beside error and status."""
    response = http.post("/populate", json={"name": "p"})
    assert response.status_code == 400
    assert response.json()["proxies"] is None
    assert response.json()["error"].startswith("bad request body: json: cannot unmarshal object")
    response = http.post("/populate", json=[{"name": "p"}])
    assert response.json() == {
        "error": "missing required field: upstream at proxy 1",
        "status": 400,
        "proxies": None,
    }
    assert api.proxies() == {}


def test_malformed_http_is_rejected_and_server_keeps_answering(toxiproxy_url: str) -> None:
    """A broken request line gets 400 and a closed connection; the next client is served."""
    with connect(toxiproxy_url.removeprefix("http://")) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        data, _ending = read_to_end(sock, timeout=5)
        assert data.startswith(b"HTTP/1.1 400")
    assert httpx.get(f"{toxiproxy_url}/version", timeout=5).status_code == 200
