"""A small HTTP/1.1 server for the control API: keep-alive, Content-Length and chunked
bodies, and a deadline on every read (upstream's API server reads with a 15 s timeout
and closes idle connections after 60 s: ``api.go`` Listen).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import unquote

READ_TIMEOUT = 15.0
IDLE_TIMEOUT = 60.0
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: str = ""  # the raw query string, without "?"


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Awaitable[Response]]


class _BadRequest(Exception):
    pass


async def _read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, first_line: bytes
) -> Request:
    try:
        method, target, version = first_line.decode("latin-1").rstrip("\r\n").split(" ")
    except ValueError:
        raise _BadRequest("malformed request line") from None
    if not version.startswith("HTTP/1."):
        raise _BadRequest("unsupported HTTP version")
    headers: dict[str, str] = {}
    size = len(first_line)
    while True:
        line = await reader.readline()
        size += len(line)
        if size > MAX_HEADER_BYTES:
            raise _BadRequest("headers too large")
        if line in (b"\r\n", b"\n"):
            break
        if not line:
            raise _BadRequest("connection closed in headers")
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise _BadRequest("malformed header")
        headers[name.strip().lower()] = value.strip()
    if version == "HTTP/1.0" and headers.get("connection", "").lower() != "keep-alive":
        headers.setdefault("connection", "close")
    body = b""
    if headers.get("expect", "").lower() == "100-continue":
        # curl sends this for bodies over 1 KiB and waits a second for the go-ahead.
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts: list[bytes] = []
        total = 0
        while True:
            size_line = await reader.readline()
            try:
                chunk_size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                raise _BadRequest("malformed chunk size") from None
            if chunk_size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                break
            total += chunk_size
            if total > MAX_BODY_BYTES:
                raise _BadRequest("body too large")
            parts.append(await reader.readexactly(chunk_size))
            await reader.readline()
        body = b"".join(parts)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise _BadRequest("malformed Content-Length") from None
        if length < 0 or length > MAX_BODY_BYTES:
            raise _BadRequest("body too large")
        body = await reader.readexactly(length)
    path, _, query = target.partition("?")
    return Request(method=method, path=unquote(path), headers=headers, body=body, query=query)


def _encode(response: Response, keep_alive: bool) -> bytes:
    reason = (
        HTTPStatus(response.status).phrase
        if response.status in HTTPStatus._value2member_map_
        else ""
    )
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    if response.content_type is not None:
        lines.append(f"Content-Type: {response.content_type}")
    for name, value in response.headers.items():
        lines.append(f"{name}: {value}")
    lines.append(f"Date: {formatdate(usegmt=True)}")
    if response.status != 204:
        lines.append(f"Content-Length: {len(response.body)}")
    if not keep_alive:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if response.status == 204 else head + response.body


async def serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler
) -> None:
    try:
        while True:
            try:
                async with asyncio.timeout(IDLE_TIMEOUT):
                    first_line = await reader.readline()
            except TimeoutError:
                return
            if not first_line:
                return
            if first_line in (b"\r\n", b"\n"):
                continue
            try:
                async with asyncio.timeout(READ_TIMEOUT):
                    request = await _read_request(reader, writer, first_line)
            except (_BadRequest, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                text = f"400 Bad Request: {exc}\n".encode()
                writer.write(
                    _encode(Response(400, text, "text/plain; charset=utf-8"), keep_alive=False)
                )
                await writer.drain()
                return
            response = await handler(request)
            keep_alive = request.headers.get("connection", "").lower() != "close"
            writer.write(_encode(response, keep_alive))
            await writer.drain()
            if not keep_alive:
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        with contextlib.suppress(Exception):
            writer.close()
