"""The mock as an ASGI app: the same Engine and Plans as the raw server.

For in-process tests (``pytest_aistack.asgi``) and for serving under any ASGI server.
Timing is the event loop's (one sleep per step until its absolute deadline), so it is
exact enough for tests but not the high-concurrency path; the CLI uses ``server.py``.

ASGI has no way to close a connection mid-body except failing the app: a ``cut``
fault raises :class:`StreamCutError` after the partial body (uvicorn then drops the
connection; httpx's ASGITransport re-raises it in the client).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .config import MockConfig
from .engine import Engine
from .plan import CUT, DATA, Plan, Request

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class StreamCutError(ConnectionError):
    """Raised by the ASGI app to drop the connection (the ``cut`` fault)."""


class MockLLMApp:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError(f"mock LLM app: unsupported ASGI scope type {scope['type']!r}")
        await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.engine.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.engine.begin_drain()
                await self.engine.wait_idle(self.engine.config.drain_timeout_s)
                if self.engine.dependency is not None:
                    self.engine.dependency.stop()  # its start probe must not outlive the app
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method = str(scope["method"])
        path = str(scope["path"])
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        limit = self.engine.config.max_body_bytes
        body = bytearray()
        oversized = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            if len(body) + len(chunk) > limit:
                oversized = len(body) + len(chunk)
                body.clear()
            elif not oversized:
                body += chunk
            else:
                oversized += len(chunk)
            if not message.get("more_body", False):
                break
        req = Request(method, path, query, headers, bytes(body))
        plan = (
            self.engine.reject_oversized(req, oversized)
            if oversized
            else await self.engine.handle(req)
        )
        try:
            await self._send_plan(plan, receive, send, head_only=method == "HEAD")
        except asyncio.CancelledError:
            plan.finish("client_disconnected")
            raise
        except StreamCutError:
            raise
        except OSError:
            plan.finish("client_disconnected")

    async def _send_plan(self, plan: Plan, receive: Receive, send: Send, head_only: bool) -> None:
        delay = plan.headers_at - time.monotonic()
        if delay > 0:
            if plan.hangs_before_headers:
                await _until_disconnect(receive)
                plan.finish("client_disconnected")
                return
            await asyncio.sleep(delay)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in plan.headers]
        if plan.content_length is not None:
            headers.append((b"content-length", str(plan.content_length).encode()))
        await send({"type": "http.response.start", "status": plan.status, "headers": headers})
        plan.headers_sent()
        if plan.body is not None:
            await send({"type": "http.response.body", "body": b"" if head_only else plan.body})
            plan.finish()
            return
        assert plan.steps is not None
        lateness = self.engine.lateness
        for deadline, payload, tokens, action in plan.steps:
            delay = deadline - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            lateness.record(time.monotonic() - deadline)
            if action == DATA:
                if tokens:
                    plan.tokens_sent(tokens)  # stamped as the send is issued, not after
                await send({"type": "http.response.body", "body": payload, "more_body": True})
            elif action == CUT:
                plan.finish()
                raise StreamCutError("mock LLM: injected cut, connection dropped mid-response")
            else:  # HANG
                await _until_disconnect(receive)
                plan.finish("client_disconnected")
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        plan.finish()


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def create_app(config: MockConfig | None = None) -> MockLLMApp:
    """The mock as an ASGI app; ``app.engine`` gives its stats and admin state."""
    return MockLLMApp(Engine(config or MockConfig()))
