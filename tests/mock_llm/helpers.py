"""Shared helpers of the mock-llm tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from pytest_aistack.runtime.process import ManagedProcess

CHAT = {"model": "qwen", "messages": [{"role": "user", "content": "one two three"}]}


@dataclass
class MockServer:
    process: ManagedProcess
    url: str
    admin_token: str
    name: str

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"authorization": f"Bearer {self.admin_token}"},
            timeout=5.0,
        )

    def stats(self) -> dict[str, Any]:
        with self.admin() as client:
            response = client.get("/admin/stats")
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data

    def reset(self) -> None:
        with self.admin() as client:
            client.post("/admin/reset").raise_for_status()


@dataclass
class RawResponse:
    """A response read off a plain socket, chunk by chunk, with arrival times."""

    status: int
    headers: dict[str, str]
    headers_after_s: float
    chunks: list[tuple[float, bytes]]  # (seconds since send, chunk payload)
    complete: bool  # the terminating chunk (or the whole Content-Length) arrived
    closed: bool  # the server closed the connection
    timed_out: bool  # the read deadline passed first

    @property
    def body(self) -> bytes:
        return b"".join(payload for _, payload in self.chunks)

    def data_lines(self) -> list[str]:
        text = self.body.decode()
        return [line[len("data: ") :] for line in text.split("\n") if line.startswith("data: ")]

    def content_times(self) -> list[float]:
        """Arrival time of each chunk that carries a content token."""
        return [t for t, payload in self.chunks if b'"content":"' in payload and b"tok" in payload]


def raw_request(
    url: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    method: str = "POST",
    read_for_s: float = 10.0,
    raw_body: bytes | None = None,
) -> RawResponse:
    """One HTTP/1.1 request over a socket; reads until complete, closed or ``read_for_s``."""
    import json as _json
    import socket
    import time

    host, port = url.removeprefix("http://").rsplit(":", 1)
    payload = raw_body if raw_body is not None else (_json.dumps(body).encode() if body else b"")
    head = f"{method} {path} HTTP/1.1\r\nhost: {host}\r\ncontent-length: {len(payload)}\r\n"
    head += "content-type: application/json\r\n"
    for name, value in (headers or {}).items():
        head += f"{name}: {value}\r\n"
    deadline_at = time.monotonic() + read_for_s
    with socket.create_connection((host, int(port)), timeout=5.0) as sock:
        start = time.monotonic()
        sock.sendall(head.encode() + b"\r\n" + payload)
        buffer = b""
        status, resp_headers, headers_after = 0, {}, float("nan")
        chunks: list[tuple[float, bytes]] = []
        complete = closed = timed_out = False
        content_length: int | None = None
        body_bytes = 0
        while True:
            remaining = deadline_at - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            sock.settimeout(remaining)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                timed_out = True
                break
            except ConnectionResetError:
                closed = True
                break
            now = time.monotonic() - start
            if not data:
                closed = True
                break
            buffer += data
            if not status:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    continue
                lines = buffer[:end].decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ")[1])
                resp_headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (ln.partition(":") for ln in lines[1:])
                }
                headers_after = now
                buffer = buffer[end + 4 :]
                if "content-length" in resp_headers:
                    content_length = int(resp_headers["content-length"])
            if content_length is not None:
                if buffer:
                    chunks.append((now, buffer))
                    body_bytes += len(buffer)
                    buffer = b""
                if body_bytes >= content_length:
                    complete = True
                    break
                continue
            while True:  # chunked
                line_end = buffer.find(b"\r\n")
                if line_end < 0:
                    break
                size = int(buffer[:line_end], 16)
                if len(buffer) < line_end + 2 + size + 2:
                    break
                if size == 0:
                    complete = True
                    break
                chunks.append((now, buffer[line_end + 2 : line_end + 2 + size]))
                buffer = buffer[line_end + 2 + size + 2 :]
            if complete:
                break
    return RawResponse(status, resp_headers, headers_after, chunks, complete, closed, timed_out)
