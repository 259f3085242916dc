"""In-process ASGI testing: lifespan, an httpx client, and OpenAI SSE parsing.

For testing your own FastAPI/Starlette service (or the bundled mock LLM) without a
socket::

    from pytest_aistack.asgi import asgi_lifespan_client, collect_openai_stream

    async with asgi_lifespan_client(app) as client:
        stream = await collect_openai_stream(
            client, "/v1/chat/completions", json={"model": "m", "messages": [], "stream": True}
        )
        assert stream.done and stream.finish_reason == "stop"

The stream is judged by the same classifier as the scenarios and the load generator
(:class:`pytest_aistack.llm.StreamRecorder`, docs/metrics.md "Outcomes"):
``stream.outcome`` is ``ok`` only for a complete answer, and ``stream.record`` is the
:class:`~pytest_aistack.metrics.RequestRecord` a load run would have written. The
events (``stream.events``) come from the classifier's own SSE parser.

``asgi_lifespan_client`` runs the app's lifespan (asgi-lifespan ``LifespanManager``:
startup before the first request, shutdown after the last) and yields an
``httpx.AsyncClient`` on ``httpx.ASGITransport``. Two things differ from a real
server, both from httpx's ASGITransport: the response body is collected before the
client sees it (so timing is not observable; use a real server for that), and an app
that never finishes its response would block forever, so every request here runs
under a deadline (``request_timeout``) and fails with ``httpx.ReadTimeout`` instead.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from asgi_lifespan import LifespanManager
from httpx_sse import ServerSentEvent

from pytest_aistack.llm.sse import SSEParser
from pytest_aistack.llm.stream import StreamRecorder, StreamTimeouts
from pytest_aistack.metrics.record import Outcome, RequestRecord

__all__ = [  # re-exported by pytest_aistack.asgi
    "DeadlineASGITransport",
    "OpenAIEvent",
    "OpenAIStream",
    "aiter_openai_events",
    "asgi_lifespan_client",
    "collect_openai_stream",
    "parse_openai_event",
]

EventKind = Literal["chunk", "done", "error", "malformed"]


class DeadlineASGITransport(httpx.ASGITransport):
    """``httpx.ASGITransport`` whose requests fail with ReadTimeout after ``deadline_s``."""

    def __init__(self, app: Any, *, deadline_s: float, **kwargs: Any) -> None:
        super().__init__(app=app, **kwargs)
        self.deadline_s = deadline_s

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            async with asyncio.timeout(self.deadline_s):
                return await super().handle_async_request(request)
        except TimeoutError:
            raise httpx.ReadTimeout(
                f"the ASGI app did not finish {request.method} {request.url.path} within "
                f"{self.deadline_s:g} s (request_timeout); an in-process response is only "
                "delivered once complete",
                request=request,
            ) from None


@asynccontextmanager
async def asgi_lifespan_client(
    app: Any,
    *,
    base_url: str = "http://testserver",
    request_timeout: float = 30.0,
    startup_timeout: float = 10.0,
    shutdown_timeout: float = 10.0,
    raise_app_exceptions: bool = True,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and yield an ``httpx.AsyncClient`` talking to it in-process."""
    async with LifespanManager(
        app, startup_timeout=startup_timeout, shutdown_timeout=shutdown_timeout
    ) as manager:
        transport = DeadlineASGITransport(
            manager.app, deadline_s=request_timeout, raise_app_exceptions=raise_app_exceptions
        )
        async with httpx.AsyncClient(
            transport=transport, base_url=base_url, headers=headers
        ) as client:
            yield client


@dataclass(frozen=True, slots=True)
class OpenAIEvent:
    """One SSE event of an OpenAI-style stream.

    ``kind``: ``chunk`` (a JSON chunk), ``done`` (``data: [DONE]``), ``error`` (an
    in-band ``{"error": ...}`` event), ``malformed`` (data that is not JSON).
    """

    kind: EventKind
    data: Any
    raw: str

    @property
    def content(self) -> str:
        """The text this event adds (chat ``delta.content`` or completions ``text``)."""
        if self.kind != "chunk" or not isinstance(self.data, dict):
            return ""
        choices = self.data.get("choices") or []
        if not choices:
            return ""
        choice = choices[0]
        delta = choice.get("delta")
        if isinstance(delta, dict):
            return delta.get("content") or ""
        return choice.get("text") or ""

    @property
    def finish_reason(self) -> str | None:
        if self.kind != "chunk" or not isinstance(self.data, dict):
            return None
        choices = self.data.get("choices") or []
        return choices[0].get("finish_reason") if choices else None

    @property
    def usage(self) -> dict[str, Any] | None:
        if self.kind != "chunk" or not isinstance(self.data, dict):
            return None
        usage = self.data.get("usage")
        return usage if isinstance(usage, dict) else None


def parse_openai_event(sse: ServerSentEvent) -> OpenAIEvent:
    data = sse.data
    if data.strip() == "[DONE]":
        return OpenAIEvent("done", None, data)
    try:
        parsed = json.loads(data)
    except json.JSONDecodeError:
        return OpenAIEvent("malformed", None, data)
    if isinstance(parsed, dict) and "error" in parsed:
        return OpenAIEvent("error", parsed["error"], data)
    return OpenAIEvent("chunk", parsed, data)


async def aiter_openai_events(response: httpx.Response) -> AsyncIterator[OpenAIEvent]:
    """Events of an OpenAI SSE response (opened with ``client.stream(...)``)."""
    from httpx_sse import EventSource

    async for sse in EventSource(response).aiter_sse():
        yield parse_openai_event(sse)


@dataclass(slots=True)
class OpenAIStream:
    """A whole OpenAI stream, read to its end."""

    status_code: int
    headers: httpx.Headers
    events: list[OpenAIEvent] = field(default_factory=list)
    # The classifier's verdict; None only for an OpenAIStream built by hand.
    record: RequestRecord | None = None

    @property
    def outcome(self) -> Outcome | None:
        return self.record.outcome if self.record is not None else None

    @property
    def succeeded(self) -> bool:
        """A complete answer: the classifier's ``ok`` (finish_reason and ``[DONE]``)."""
        return self.outcome is Outcome.OK

    @property
    def content(self) -> str:
        return "".join(event.content for event in self.events)

    @property
    def content_events(self) -> list[OpenAIEvent]:
        return [event for event in self.events if event.content]

    @property
    def done(self) -> bool:
        """True when the stream ended with ``data: [DONE]``."""
        return bool(self.events) and self.events[-1].kind == "done"

    @property
    def finish_reason(self) -> str | None:
        reasons = [e.finish_reason for e in self.events if e.finish_reason is not None]
        return reasons[-1] if reasons else None

    @property
    def usage(self) -> dict[str, Any] | None:
        usages = [e.usage for e in self.events if e.usage is not None]
        return usages[-1] if usages else None

    @property
    def errors(self) -> list[Any]:
        return [event.data for event in self.events if event.kind == "error"]

    @property
    def malformed(self) -> list[str]:
        return [event.raw for event in self.events if event.kind == "malformed"]


_request_ids = itertools.count(1)


async def collect_openai_stream(
    client: httpx.AsyncClient,
    url: str,
    *,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    method: str = "POST",
    timeouts: StreamTimeouts | None = None,
) -> OpenAIStream:
    """Send one streaming request, read every event and judge the stream.

    A non-2xx answer has no events (its outcome is ``http_error``). ``timeouts`` bound
    each read as in a load run (default :class:`StreamTimeouts`); over the in-process
    transport the body arrives whole, so only the client's ``request_timeout`` applies.
    """
    request = client.build_request(
        method,
        url,
        json=json,
        headers={"accept": "text/event-stream", "cache-control": "no-store", **(headers or {})},
    )
    recorder = StreamRecorder(
        f"asgi-{next(_request_ids)}", time.monotonic_ns(), timeouts=timeouts or StreamTimeouts()
    )
    response = await client.send(request, stream=True)
    try:
        recorder.on_headers(
            response.status_code, response.headers.get("content-type", ""), time.monotonic_ns()
        )
        result = OpenAIStream(response.status_code, response.headers)
        parser = SSEParser() if response.status_code < 300 else None
        async for chunk in response.aiter_raw():
            recorder.on_bytes(chunk, time.monotonic_ns())
            for sse in parser.feed(chunk) if parser is not None else ():
                event = ServerSentEvent(
                    event=sse.event.decode("utf-8", "replace"),
                    data=sse.data.decode("utf-8", "replace"),
                )
                result.events.append(parse_openai_event(event))
    finally:
        await response.aclose()
    result.record = recorder.finish(time.monotonic_ns())
    return result
