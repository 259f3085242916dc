"""Asyncio streaming client for OpenAI-compatible servers (httpx) -> RequestRecord.

Used by the resilience scenarios and tests; the load generator has its own gevent
transport (``pytest_aistack.load.transport``) feeding the same classifier. Every
await is bounded: httpx bounds connecting and writing, and each read of the body
waits at most until the recorder's read deadline (first token, idle gap or total).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from pytest_aistack.metrics.record import Outcome, RequestRecord

from .request import Kind, auth_headers, build_body, endpoint_path
from .stream import StreamRecorder, StreamTimeouts

_ids = itertools.count(1)


def new_request_id() -> str:
    return f"{os.getpid()}-{next(_ids)}"


class LLMClient:
    """One base URL, one connection pool; ``async with LLMClient(url) as llm: ...``."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeouts: StreamTimeouts | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts or StreamTimeouts()
        self._base_path = urlsplit(self.base_url).path
        connect = self.timeouts.connect
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={**auth_headers(api_key), **(headers or {})},
            # Reads are bounded by the recorder's deadlines (see _read_body), not by
            # httpx: its read timeout restarts on every keep-alive ping.
            timeout=httpx.Timeout(connect=connect, read=None, write=connect, pool=connect),
            transport=transport,
        )

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def chat(
        self,
        messages: str | list[dict[str, Any]],
        *,
        model: str,
        max_tokens: int | None = None,
        stream: bool = True,
        include_usage: bool = True,
        extra_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> RequestRecord:
        body = build_body(
            "chat",
            messages,
            model=model,
            max_tokens=max_tokens,
            stream=stream,
            include_usage=include_usage,
            extra=extra_body,
        )
        return await self.send("chat", body, headers=headers)

    async def completion(
        self,
        prompt: str,
        *,
        model: str,
        max_tokens: int | None = None,
        stream: bool = True,
        include_usage: bool = True,
        extra_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> RequestRecord:
        body = build_body(
            "completions",
            prompt,
            model=model,
            max_tokens=max_tokens,
            stream=stream,
            include_usage=include_usage,
            extra=extra_body,
        )
        return await self.send("completions", body, headers=headers)

    async def send(
        self,
        kind: Kind,
        body: Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        scheduled_ns: int | None = None,
    ) -> RequestRecord:
        """POST ``body`` and observe the response until it ends or a deadline passes."""
        request = self._http.build_request(
            "POST", endpoint_path(self._base_path, kind), json=dict(body), headers=headers
        )
        recorder = StreamRecorder(
            request_id or new_request_id(),
            time.monotonic_ns(),
            timeouts=self.timeouts,
            scheduled_ns=scheduled_ns,
            collect_text=True,
        )
        try:
            async with asyncio.timeout(_seconds_until(recorder.read_deadline_ns())):
                response = await self._http.send(request, stream=True)
        except TimeoutError:
            recorder.deadline_passed(time.monotonic_ns())
            return recorder.finish(time.monotonic_ns())
        except httpx.ConnectTimeout as exc:
            recorder.fail(Outcome.TIMEOUT, f"connect timeout: {exc!r}")
            return recorder.finish(time.monotonic_ns())
        except httpx.ConnectError as exc:
            recorder.transport_error(
                f"connect failed: {exc!r}", time.monotonic_ns(), connected=False
            )
            return recorder.finish(time.monotonic_ns())
        except httpx.TransportError as exc:
            recorder.transport_error(repr(exc), time.monotonic_ns(), connected=True)
            return recorder.finish(time.monotonic_ns())
        try:
            recorder.on_headers(
                response.status_code, response.headers.get("content-type", ""), time.monotonic_ns()
            )
            end_ns = await _read_body(response, recorder)
        finally:
            await response.aclose()
        return recorder.finish(end_ns)


async def _read_body(response: httpx.Response, recorder: StreamRecorder) -> int:
    """Feed the body to ``recorder``; return when reading stopped (monotonic ns)."""
    # Decoded bytes: a gateway may gzip its (error) bodies, since httpx accepts gzip; an
    # identity body passes through chunk for chunk as it arrived.
    chunks = response.aiter_bytes()
    while not recorder.finished_reading:
        remaining = _seconds_until(recorder.read_deadline_ns())
        try:
            if remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            break
        except TimeoutError:
            recorder.deadline_passed(time.monotonic_ns())
            break
        except httpx.TransportError as exc:
            recorder.transport_error(repr(exc), time.monotonic_ns(), connected=True)
            break
        recorder.on_bytes(chunk, time.monotonic_ns())
    return time.monotonic_ns()


def _seconds_until(deadline_ns: int) -> float:
    return (deadline_ns - time.monotonic_ns()) / 1e9
