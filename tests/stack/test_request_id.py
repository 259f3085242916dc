"""AIStack.chat's x-request-id is a UUID: llama-cpp-python's server refuses any other."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pytest_aistack.stack.backend import Secret, Stack
from pytest_aistack.stack.factory import REFERENCE_PROFILE
from pytest_aistack.stack.handle import AIStack
from pytest_aistack.stack.profile import load_profile


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str | None] = []  # noqa: RUF012 (one server per test, reset by the fixture)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        _Recorder.seen.append(self.headers.get("x-request-id"))
        body = json.dumps({"choices": [{"message": {"content": "ok"}}]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def gateway_url() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_chat_sends_a_uuid_request_id(gateway_url: str) -> None:
    stack = Stack(
        backend="external",
        gateway_url=gateway_url,
        gateway_key=Secret("sk-test"),
        toxiproxy_url=None,
        endpoints={},
    )
    aistack = AIStack(stack, load_profile(REFERENCE_PROFILE))
    results = [aistack.chat(deadline=5.0) for _ in range(2)]
    assert [r.status for r in results] == [200, 200]
    assert _Recorder.seen == [r.request_id for r in results]
    # What starlette-context's RequestIdPlugin does before llama_cpp.server sees a request.
    for request_id in _Recorder.seen:
        assert request_id is not None
        uuid.UUID(request_id, version=4)
    assert len(set(_Recorder.seen)) == 2
