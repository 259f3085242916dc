"""AIStack.chat's answers are judged by the stream classifier (StreamRecorder), over a
real socket: each way a gateway can answer gives the outcome the load generator and
``pytest_aistack.asgi`` would report, and the fields the scenarios read."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pytest_aistack.metrics.record import Outcome
from pytest_aistack.stack.gateway_call import ChatResult, call_gateway

ROLE = {"id": "c1", "model": "m", "choices": [{"delta": {"role": "assistant"}}]}
TOKEN = {"id": "c1", "model": "m", "choices": [{"delta": {"content": "hi"}}]}
STOP = {"id": "c1", "model": "m", "choices": [{"delta": {}, "finish_reason": "stop"}]}
ERROR = {"error": {"message": "litellm.APIConnectionError: upstream went away"}}


def _sse(*payloads: object) -> bytes:
    return b"".join(
        b"data: " + (p if isinstance(p, bytes) else json.dumps(p).encode()) + b"\n\n"
        for p in payloads
    )


class _Gateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        answer = getattr(self, "answer_" + self.path.strip("/").replace("-", "_"))
        answer()

    def _send(self, status: int, content_type: str, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.send_header("x-litellm-model-id", "vllm-a")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def answer_complete(self) -> None:
        self._send(200, "text/event-stream", _sse(ROLE, TOKEN, STOP, b"[DONE]"))

    def answer_no_done(self) -> None:
        self._send(200, "text/event-stream", _sse(ROLE, TOKEN, STOP))

    def answer_no_finish_reason(self) -> None:
        self._send(200, "text/event-stream", _sse(ROLE, TOKEN, b"[DONE]"))

    def answer_spliced(self) -> None:
        other = {**STOP, "id": "c2"}
        self._send(200, "text/event-stream", _sse(ROLE, TOKEN, other, b"[DONE]"))

    def answer_spliced_then_error(self) -> None:
        # LiteLLM's mid-stream fallback after a cut: the next group's stream, then its error.
        self._send(200, "text/event-stream", _sse(ROLE, {**ROLE, "id": "c2"}, ERROR))

    def answer_inband_error(self) -> None:
        self._send(200, "text/event-stream", _sse(ROLE, TOKEN, ERROR))

    def answer_cut(self) -> None:
        # Promise more than is sent, then close: a body cut mid-stream.
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", "100000")
        self.end_headers()
        self.wfile.write(_sse(ROLE, TOKEN))
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def answer_stall(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        self.wfile.write(_sse(ROLE, TOKEN))
        self.wfile.flush()
        for _ in range(40):  # keep-alive pings, no content, for up to 4 s
            try:
                self.wfile.write(b": ping\n\n")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(0.1)  # ok: the pace of a server that pings while it stalls

    def answer_rate_limited(self) -> None:
        body = json.dumps({"error": {"message": "all deployments cooling down"}}).encode()
        self._send(429, "application/json", body, retry_after="4")

    def answer_gzipped_error(self) -> None:
        # LiteLLM's proxy gzips its JSON error bodies for clients that accept gzip.
        body = gzip.compress(json.dumps({"error": {"message": "no healthy deployment"}}).encode())
        self._send(500, "application/json", body, content_encoding="gzip")

    def answer_json(self) -> None:
        body = {"id": "c1", "model": "m", "choices": [{"message": {"content": "hi"}}]}
        self._send(200, "application/json", json.dumps(body).encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _call(url: str, deadline: float = 5.0, stream: bool = True) -> ChatResult:
    body = {"model": "m", "messages": [], "stream": stream}
    return call_gateway(url, body, {}, request_id="r1", deadline=deadline)


def test_a_complete_stream_is_ok(gateway: str) -> None:
    r = _call(f"{gateway}/complete")
    assert (r.outcome, r.status, r.saw_done, r.error) == (Outcome.OK, 200, True, None)
    assert r.ok
    assert r.clean_success
    assert [json.loads(e) for e in r.events] == [ROLE, TOKEN, STOP]
    assert r.content == "hi"
    assert r.served_by == "vllm-a"
    assert r.record.request_id == r.request_id == "r1"
    assert r.describe().startswith("200 via vllm-a in ")
    assert r.describe().endswith("s ok")


def test_a_stream_without_done_is_truncated_clean(gateway: str) -> None:
    r = _call(f"{gateway}/no-done")
    assert (r.outcome, r.saw_done, len(r.events)) == (Outcome.TRUNCATED_CLEAN, False, 3)
    assert r.error == "stream ended without [DONE]"
    assert not r.ok
    assert not r.clean_success  # a client waiting for [DONE] sees it is missing


@pytest.mark.parametrize(
    ("path", "outcome"),
    [("no-finish-reason", Outcome.TRUNCATED_CLEAN), ("spliced", Outcome.SPLICED)],
)
def test_failures_a_client_cannot_see_still_look_clean(
    gateway: str, path: str, outcome: Outcome
) -> None:
    """The classifier fails them; a client trusting 200 and [DONE] would not notice, so
    a scenario asserting "never a clean-looking answer" must count them as clean."""
    r = _call(f"{gateway}/{path}")
    assert (r.outcome, r.saw_done) == (outcome, True)
    assert not r.ok
    assert r.clean_success


def test_a_spliced_stream_that_fails_visibly_does_not_look_clean(gateway: str) -> None:
    r = _call(f"{gateway}/spliced-then-error")
    assert (r.outcome, r.status, r.saw_done) == (Outcome.SPLICED, 200, False)
    assert not r.clean_success


def test_an_inband_error_is_named(gateway: str) -> None:
    r = _call(f"{gateway}/inband-error")
    assert (r.outcome, r.status, r.saw_done) == (Outcome.INBAND_ERROR, 200, False)
    assert r.error is not None
    assert r.error.startswith("in-band error: ")
    assert "litellm.APIConnectionError" in r.error
    assert not r.clean_success
    assert "inband_error: in-band error" in r.describe()


def test_a_cut_body_is_truncated_abrupt(gateway: str) -> None:
    r = _call(f"{gateway}/cut")
    assert (r.outcome, r.status, len(r.events)) == (Outcome.TRUNCATED_ABRUPT, 200, 2)
    assert not r.clean_success


def test_pings_without_content_end_at_the_deadline(gateway: str) -> None:
    """Pings are not progress: the call ends at its deadline, not when the pings stop."""
    r = _call(f"{gateway}/stall", deadline=1.0)
    assert r.outcome is Outcome.TIMEOUT, r.describe()
    assert r.error == "no end of response within 1 s"
    assert not r.clean_success
    # Pings keep every read short, so the call ends one ping after the deadline.
    assert 1.0 <= r.elapsed < 2.5, r.describe()


def test_a_429_keeps_status_headers_and_body(gateway: str) -> None:
    r = _call(f"{gateway}/rate-limited", stream=False)
    assert (r.outcome, r.status) == (Outcome.HTTP_ERROR, 429)
    assert r.headers["retry-after"] == "4"
    assert r.body == {"error": {"message": "all deployments cooling down"}}
    assert r.error is not None
    assert r.error.startswith("HTTP 429: ")
    assert not r.clean_success


def test_a_gzipped_error_body_is_read_decoded(gateway: str) -> None:
    r = _call(f"{gateway}/gzipped-error", stream=False)
    assert (r.outcome, r.status) == (Outcome.HTTP_ERROR, 500)
    assert r.body == {"error": {"message": "no healthy deployment"}}
    assert r.error is not None
    assert "no healthy deployment" in r.error


def test_a_json_completion_is_ok(gateway: str) -> None:
    r = _call(f"{gateway}/json", stream=False)
    assert (r.outcome, r.status, r.events, r.saw_done) == (Outcome.OK, 200, [], False)
    assert r.body is not None
    assert r.body["choices"][0]["message"]["content"] == "hi"
    assert r.content == "hi"
    assert r.clean_success


def test_a_closed_port_is_refused_without_status() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    r = _call(f"http://127.0.0.1:{port}/v1/chat/completions")
    assert (r.outcome, r.status, r.headers) == (Outcome.REFUSED, None, {})
    assert r.error is not None
    assert r.error.startswith("connect failed: ")
    assert r.describe().startswith("None in ")
