"""Bad input gets a clear OpenAI-style error and never crashes or wedges the server."""

from __future__ import annotations

import socket

import httpx
import pytest

from pytest_aistack.runtime.waiting import wait_until

from .helpers import CHAT, MockServer, raw_request


def assert_still_serving(client: httpx.Client) -> None:
    assert client.get("/healthz").status_code == 200
    body = client.post("/v1/chat/completions", json=CHAT).json()
    assert body["usage"]["completion_tokens"] == 8


def test_malformed_json_is_400(client: httpx.Client) -> None:
    response = client.post(
        "/v1/chat/completions", content=b'{"model": "qwen", "messages": [',
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "not valid JSON" in error["message"]
    assert_still_serving(client)


def test_unknown_model_is_404(client: httpx.Client) -> None:
    response = client.post("/v1/chat/completions", json={**CHAT, "model": "gpt-x"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("model_not_found", "model")
    assert "gpt-x" in error["message"]
    assert "qwen" in error["message"]
    ollama = client.post("/api/chat", json={"model": "gpt-x", "messages": []})
    assert (ollama.status_code, ollama.json()) == (404, {"error": "model 'gpt-x' not found"})
    assert_still_serving(client)


def test_oversized_body_is_413_and_the_connection_closes(
    mock: MockServer, client: httpx.Client
) -> None:
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * (1024 * 1024 + 10)}]}
    response = client.post("/v1/chat/completions", json=big)
    assert response.status_code == 413
    assert "--max-body-bytes" in response.json()["error"]["message"]
    assert_still_serving(client)
    stats = mock.stats()
    assert stats["endpoints"]["POST /v1/chat/completions"]["by_status"]["413"] == 1


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "qwen"}, "messages"),
        ({"model": "qwen", "messages": "hi"}, "messages"),
        ({"model": "qwen", "messages": [], "n": 2}, "n"),
        ({"model": "qwen", "messages": [], "max_tokens": 0}, "max_tokens"),
        ({"model": "qwen", "messages": [], "stream": "yes"}, "stream"),
        ({"model": "qwen", "messages": [], "stop": 5}, "stop"),
        ({"messages": []}, "model"),
        ([1, 2], None),
    ],
)
def test_invalid_parameters_are_400_naming_them(
    client: httpx.Client, body: object, param: str | None
) -> None:
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


@pytest.mark.parametrize(
    ("profile", "names"),
    [
        ("ttft_ms=-1", "ttft_ms"),
        ("speed=3", "unknown profile key 'speed'"),
        ("jitter=cauchy", "jitter"),
    ],
)
def test_bad_profile_is_400(client: httpx.Client, profile: str, names: str) -> None:
    response = client.post("/v1/chat/completions", json=CHAT, headers={"x-mock-profile": profile})
    assert response.status_code == 400
    assert names in response.json()["error"]["message"]


def test_wrong_method_and_unknown_path(client: httpx.Client, mock: MockServer) -> None:
    assert client.get("/v1/chat/completions").status_code == 405
    assert client.post("/v1/models").status_code == 405
    assert client.get("/nope").status_code == 404
    assert mock.stats()["endpoints"]["GET other"] == {"total": 1, "by_status": {"404": 1}}


def test_garbage_request_line_gets_400_then_the_server_goes_on(
    mock: MockServer, client: httpx.Client
) -> None:
    host, port = mock.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5.0) as sock:
        sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert_still_serving(client)


def test_client_disconnect_mid_stream_is_recorded(mock: MockServer) -> None:
    response = raw_request(
        mock.url, "/v1/chat/completions", {**CHAT, "stream": True},
        {"x-mock-profile": "itl_ms=200", "x-request-id": "gone"}, read_for_s=0.3,
    )  # fmt: skip
    assert response.timed_out

    def ended() -> bool:
        return bool(mock.stats()["requests"]["gone"]["outcome"] == "client_disconnected")

    wait_until(ended, timeout=5.0, what="the disconnect to be recorded")


def test_profile_header_and_body_field_set_the_timing(mock: MockServer) -> None:
    slow = raw_request(
        mock.url, "/v1/chat/completions", {**CHAT, "stream": True},
        {"x-mock-profile": "ttft_ms=300,itl_ms=50,output_tokens=4"},
    )  # fmt: skip
    times = slow.content_times()
    assert len(times) == 4
    assert times[0] >= 0.3
    assert times[-1] - times[0] >= 3 * 0.05 - 0.005
    body = {**CHAT, "stream": True, "mock_profile": {"output_tokens": 3, "ttft_ms": 200}}
    from_body = raw_request(mock.url, "/v1/chat/completions", body)
    assert len(from_body.content_times()) == 3
    assert from_body.content_times()[0] >= 0.2


def send_raw(mock: MockServer, data: bytes, read_s: float = 5.0) -> bytes:
    host, port = mock.url.removeprefix("http://").rsplit(":", 1)
    received = b""
    with socket.create_connection((host, int(port)), timeout=read_s) as sock:
        sock.sendall(data)
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_chunked_request_body_and_http10_stream(mock: MockServer) -> None:
    body = b'{"model": "qwen", "stream": true, "messages": []}'
    half = len(body) // 2
    chunked = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n"
        b"connection: close\r\n\r\n"
        + b"%x\r\n%b\r\n%x\r\n%b\r\n0\r\n\r\n"
        % (half, body[:half], len(body) - half, body[half:])
    )
    reply = send_raw(mock, chunked)
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert b"transfer-encoding: chunked" in reply
    assert reply.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n")
    # HTTP/1.0 knows no chunked encoding: the stream is raw and ends with the close.
    http10 = b"POST /v1/chat/completions HTTP/1.0\r\ncontent-length: %d\r\n\r\n%b" % (
        len(body),
        body,
    )
    reply10 = send_raw(mock, http10)
    head, _, rest = reply10.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head
    assert b"connection: close" in head
    assert rest.startswith(b"data: ")
    assert rest.endswith(b"data: [DONE]\n\n")


def test_malformed_chunked_body_is_400(mock: MockServer, client: httpx.Client) -> None:
    bad = b"POST /v1/chat/completions HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"
    assert send_raw(mock, bad).startswith(b"HTTP/1.1 400 ")
    assert_still_serving(client)
