"""Every recorded stream, served over a real socket, gets its one expected outcome."""

from __future__ import annotations

import gzip
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pytest_aistack.llm import LLMClient, StreamTimeouts
from pytest_aistack.llm.replay import ReplayServer, load_manifest
from pytest_aistack.metrics import Outcome, definitions

FAST = StreamTimeouts(connect=2, first_token=2, idle=0.3, total=10)
MANIFEST = load_manifest()


@pytest.mark.asyncio
@pytest.mark.parametrize("name", sorted(MANIFEST))
async def test_recorded_stream_outcome(replay: ReplayServer, name: str) -> None:
    entry = MANIFEST[name]
    async with LLMClient(replay.url(name), timeouts=FAST) as llm:
        if name.startswith("ok_completions"):
            record = await llm.completion("hi", model="mock-small")
        else:
            record = await llm.chat("hi", model="mock-small")
    assert record.outcome == Outcome(entry["outcome"]), record.error
    assert len(record.content_ns) == entry["content_events"]
    assert record.end_ns >= record.sent_ns
    if record.outcome is not Outcome.OK:
        assert record.error


@pytest.mark.asyncio
async def test_ok_stream_record_fields(replay: ReplayServer) -> None:
    async with LLMClient(replay.url("ok_chat"), timeouts=FAST) as llm:
        record = await llm.chat("hi", model="mock-small")
    assert record.text == "Hello from the recorded stream."
    assert record.usage_output_tokens == 6
    assert definitions.output_tokens(record) == (6, False)
    assert record.finish_reason == "stop"
    assert record.model == "mock-small"
    assert record.headers_ns is not None
    assert record.first_byte_ns is not None
    # The role chunk arrives a gap before the first content chunk: TTFT excludes it.
    ttft = definitions.ttft_ns(record)
    ttfb = definitions.ttfb_ns(record)
    assert ttft is not None
    assert ttfb is not None
    assert ttft >= ttfb + 3_000_000
    assert len(definitions.itl_ns(record)) == 5


@pytest.mark.asyncio
async def test_reasoning_crlf_stream_text_and_estimated_tokens(replay: ReplayServer) -> None:
    async with LLMClient(replay.url("ok_reasoning_crlf"), timeouts=FAST) as llm:
        record = await llm.chat("hi", model="mock-think")
    assert record.text == 'Let me thinkCafé "quoted" done'
    assert definitions.output_tokens(record) == (6, True)


@pytest.mark.asyncio
async def test_stall_with_pings_is_detected_at_the_idle_deadline(replay: ReplayServer) -> None:
    async with LLMClient(replay.url("stall_pings"), timeouts=FAST) as llm:
        record = await llm.chat("hi", model="mock-small")
    assert record.outcome is Outcome.STALL
    assert "keep-alive comments do not count" in record.error
    # Pings kept arriving every 20 ms; the stall is still declared ~idle after content.
    gap_s = (record.end_ns - record.content_ns[-1]) / 1e9
    assert 0.3 <= gap_s < 2.0


@pytest.mark.asyncio
async def test_no_response_is_a_timeout(replay: ReplayServer) -> None:
    timeouts = StreamTimeouts(connect=2, first_token=0.3, idle=0.3, total=10)
    async with LLMClient(replay.url("silent"), timeouts=timeouts) as llm:
        record = await llm.chat("hi", model="m")
    assert record.outcome is Outcome.TIMEOUT
    assert 0.3 <= (record.end_ns - record.sent_ns) / 1e9 < 2.0


@pytest.mark.asyncio
async def test_closed_port_is_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with LLMClient(f"http://127.0.0.1:{port}", timeouts=FAST) as llm:
        record = await llm.chat("hi", model="m")
    assert record.outcome is Outcome.REFUSED
    assert record.headers_ns is None


@pytest.mark.asyncio
async def test_non_streamed_json_answer(replay: ReplayServer) -> None:
    async with LLMClient(replay.url("ok_nonstream"), timeouts=FAST) as llm:
        record = await llm.chat("hi", model="mock-small", stream=False)
    assert record.outcome is Outcome.OK
    assert record.text == "Hello from a non-streamed answer."
    assert definitions.output_tokens(record) == (7, False)
    assert definitions.ttft_ns(record) is None


class _GzippedError(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        body = gzip.compress(b'{"error": {"message": "no healthy deployment"}}')
        self.send_response(500)
        self.send_header("content-type", "application/json")
        self.send_header("content-encoding", "gzip")  # as LiteLLM's proxy answers errors
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.asyncio
async def test_a_gzipped_error_body_is_named_decoded() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GzippedError)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        async with LLMClient(f"http://127.0.0.1:{server.server_address[1]}", timeouts=FAST) as llm:
            record = await llm.chat("hi", model="m")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert (record.outcome, record.status) == (Outcome.HTTP_ERROR, 500)
    assert record.error is not None
    assert "no healthy deployment" in record.error
