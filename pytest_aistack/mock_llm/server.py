"""The raw asyncio HTTP/1.1 server the CLI runs: keep-alive, chunked streaming.

Why not uvicorn + an ASGI response per token: at 1,000 concurrent streams the
per-token coroutine wake-ups, ASGI messages and per-stream timers cost more CPU than
one core has. Each connection parses its requests, asks the Engine for a Plan and
writes it; a stream's steps are written when the one shared timer (``scheduler.py``)
says they are due, several due steps in one write.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Coroutine
from http import HTTPStatus
from typing import Any, cast

from .engine import Engine
from .plan import CUT, DATA, Plan, Request, Step
from .scheduler import Scheduler

MAX_HEAD_BYTES = 64 * 1024
_REASONS = {s.value: s.phrase for s in HTTPStatus}
_TERMINATOR = b"0\r\n\r\n"


class HttpConnection(asyncio.Protocol):
    def __init__(self, server: MockHttpServer) -> None:
        self.server = server
        self.engine = server.engine
        self.scheduler = server.scheduler
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.busy = False
        self.closed = False
        self.keep_alive = True
        self.head_only = False
        self.http11 = True
        self.plan: Plan | None = None
        self.task: asyncio.Task[None] | None = None
        self.steps: Any = None
        self.pending: Step | None = None
        self.first_sent = False  # this response's first content token has been written
        self.chunked = False
        self.cut_by_shutdown = False
        self.sent_continue = False
        self.received_at = 0.0

    # asyncio.Protocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport implements but does not subclass asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Each token must leave at once: without TCP_NODELAY, Nagle holds a small write
            # until the previous one is acknowledged, and the client delays its ACK (~40 ms).
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connections.add(self)

    def data_received(self, data: bytes) -> None:
        if not self.buffer:
            # A new request's first bytes: the mock's "received" stamp (ground truth for
            # TTFT), taken before parsing so parse and planning time count as the mock's.
            self.received_at = time.time()
        self.buffer += data
        if not self.busy:
            self._next_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        if self.task is not None and not self.task.done():
            self.task.cancel()
        elif self.plan is not None:
            self.plan.finish("cut_by_shutdown" if self.cut_by_shutdown else "client_disconnected")
            self.plan = None

    # requests -------------------------------------------------------------------

    def _next_request(self) -> None:
        buf = self.buffer
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD_BYTES:
                self._reply_and_close(431, b'{"error":{"message":"request head too large"}}')
            return
        try:
            head = bytes(buf[:end]).decode("latin-1")
            request_line, *header_lines = head.split("\r\n")
            method, target, version = request_line.split(" ")
            headers: dict[str, str] = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if length < 0:
                raise ValueError(length)
        except ValueError:
            self._reply_and_close(400, b'{"error":{"message":"malformed HTTP request"}}')
            return
        path, _, query = target.partition("?")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            try:
                decoded = _decode_chunked(buf, end + 4, self.engine.config.max_body_bytes)
            except ValueError:
                self._reply_and_close(400, b'{"error":{"message":"malformed chunked body"}}')
                return
            if decoded is None:
                return  # incomplete
            body, consumed = decoded
            if body is None:
                req = Request(method, path, query, headers, b"")
                self._start(self.engine.reject_oversized(req, consumed), close=True)
                return
        else:
            if length > self.engine.config.max_body_bytes:
                # Do not read a body we will refuse; answer and close (RFC 9110 15.5.14).
                req = Request(method, path, query, headers, b"")
                self._start(self.engine.reject_oversized(req, length), close=True)
                return
            if len(buf) < end + 4 + length:
                if (
                    not self.sent_continue
                    and headers.get("expect", "").lower() == "100-continue"
                    and self.transport is not None
                ):
                    self.sent_continue = True
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                return
            body = bytes(buf[end + 4 : end + 4 + length])
            consumed = end + 4 + length
        del buf[:consumed]
        self.sent_continue = False
        connection = headers.get("connection", "").lower()
        self.keep_alive = (
            "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        )
        self.head_only = method == "HEAD"
        self.http11 = version == "HTTP/1.1"
        self.busy = True
        answer = self.engine.dispatch(Request(method, path, query, headers, body, self.received_at))
        if isinstance(answer, Plan) and answer.headers_at <= time.monotonic():
            # The common case, answered in this callback: no task, no extra loop turn.
            self.plan = answer
            self._send_head_and_body()
        else:
            self.task = self.server.loop.create_task(self._serve(answer))

    def _reply_and_close(self, status: int, body: bytes) -> None:
        self.busy = True
        self.keep_alive = False
        plan = Plan(status, [("content-type", "application/json")], body=body)
        self._start(plan, close=True)

    def _start(self, plan: Plan, close: bool = False) -> None:
        """Send a plan whose headers are due now (no awaiting needed)."""
        self.busy = True
        if close:
            self.keep_alive = False
        self.plan = plan
        self._send_head_and_body()

    async def _serve(self, answer: Plan | Coroutine[Any, Any, Plan]) -> None:
        """Wait for a queue slot and/or the headers' time, then send."""
        plan: Plan | None = None
        try:
            plan = answer if isinstance(answer, Plan) else await answer
            self.plan = plan
            delay = plan.headers_at - time.monotonic()
            if delay > 0:
                if plan.hangs_before_headers:
                    await asyncio.get_running_loop().create_future()  # until cancelled
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            if plan is not None:
                plan.finish("cut_by_shutdown" if self.cut_by_shutdown else "client_disconnected")
            self.plan = None
            return
        finally:
            self.task = None
        if self.closed:
            plan.finish("client_disconnected")
            self.plan = None
            return
        self._send_head_and_body()

    def _send_head_and_body(self) -> None:
        plan = self.plan
        transport = self.transport
        assert plan is not None
        assert transport is not None
        lines = [f"HTTP/1.1 {plan.status} {_REASONS.get(plan.status, 'Unknown')}"]
        lines += [f"{name}: {value}" for name, value in plan.headers]
        # HTTP/1.0 has no chunked encoding: a stream then ends by closing the connection.
        self.chunked = plan.content_length is None and self.http11
        if plan.content_length is None and not self.http11:
            self.keep_alive = False
        if self.chunked:
            lines.append("transfer-encoding: chunked")
        elif plan.content_length is not None:
            lines.append(f"content-length: {plan.content_length}")
        if not self.keep_alive:
            lines.append("connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if plan.body is not None:
            transport.write(head if self.head_only else head + plan.body)
            plan.headers_sent()
            self._response_done()
            return
        plan.headers_sent()
        self.steps = plan.steps
        self.pending = None
        self.first_sent = False
        # The head goes out in the same write as whatever is already due (TTFT 0, a
        # fault at token 0): one send instead of two.
        self.advance(time.monotonic() + self.scheduler.early, head)

    def advance(self, horizon: float, head: bytes = b"") -> None:
        """Write every step due by ``horizon`` in one write; schedule the next one.

        Token counts (and so the mock's send-time stamps) are taken just before the write
        is issued, so ``first_token_at`` is when the token left, not after the syscall.
        """
        plan = self.plan
        transport = self.transport
        if plan is None or transport is None:
            return
        chunked = self.chunked
        out: list[bytes] = [head] if head else []
        tokens = 0
        step = self.pending
        steps = self.steps
        while True:
            if step is None:
                step = next(steps, None)
                if step is None:  # the plan is complete
                    if chunked:
                        out.append(_TERMINATOR)
                    if tokens:
                        plan.tokens_sent(tokens)
                    transport.write(b"".join(out))
                    plan.finish()
                    self._response_done()
                    return
            deadline, payload, count, action = step
            if deadline > horizon:
                break
            if action == DATA:
                if chunked:
                    out.append(b"%x\r\n%b\r\n" % (len(payload), payload))
                else:
                    out.append(payload)
                tokens += count
                step = None
                continue
            if tokens:
                plan.tokens_sent(tokens)
            if out:
                transport.write(b"".join(out))
            if action == CUT:
                plan.finish()
                self.plan = None
                transport.close()  # flushes what was written, then FIN: no terminating chunk
            # HANG: nothing more is sent; the plan ends when the client leaves or at shutdown.
            self.pending = None
            return
        if tokens:
            plan.tokens_sent(tokens)
            self.first_sent = True
        if out:
            transport.write(out[0] if len(out) == 1 else b"".join(out))
        self.pending = step
        if self.first_sent or not count:
            self.scheduler.schedule(self, deadline)
        else:
            self.scheduler.schedule_first(self, deadline)

    def _response_done(self) -> None:
        self.plan = None
        self.steps = None
        self.pending = None
        self.busy = False
        if not self.keep_alive:
            if self.transport is not None:
                self.transport.close()
            return
        if self.buffer:
            self._next_request()

    def cut(self) -> None:
        """Shutdown deadline: end whatever this connection is doing, now."""
        self.cut_by_shutdown = True
        if self.transport is not None:
            self.transport.abort()


def _decode_chunked(buf: bytearray, start: int, limit: int) -> tuple[bytes | None, int] | None:
    """Decode a chunked request body: None if incomplete; (None, size) if over ``limit``."""
    pos = start
    parts: list[bytes] = []
    size_total = 0
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buf[pos:line_end]).split(b";")[0].strip() or b"0", 16)
        pos = line_end + 2
        if size == 0:
            trailer_end = buf.find(b"\r\n", pos)
            if trailer_end < 0:
                return None
            return b"".join(parts), trailer_end + 2
        size_total += size
        if size_total > limit:
            return None, size_total
        if len(buf) < pos + size + 2:
            return None
        parts.append(bytes(buf[pos : pos + size]))
        pos += size + 2


class MockHttpServer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.loop = asyncio.get_running_loop()
        self.scheduler = Scheduler(self.loop, engine.lateness, engine.config.precise_timers)
        self.connections: set[HttpConnection] = set()
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self._server = await self.loop.create_server(
            lambda: HttpConnection(self), host, port, backlog=4096, reuse_address=True
        )
        sockname = self._server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    def cut_all(self) -> None:
        for conn in list(self.connections):
            conn.cut()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self.cut_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
