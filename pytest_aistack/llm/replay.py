"""A small HTTP/1.1 server replaying recorded streams (fixtures/streams/ by default).

Used by the classifier tests, and handy for checking a client against byte-exact
captures of a real server. ``GET/POST /<name>/...`` serves recording ``<name>`` of
the directory's streams.json: each SSE event
is one HTTP chunk, ``gap_s`` apart; ``ending`` decides how the response ends:
``complete`` (terminating chunk), ``cut`` (socket closed mid-chunk), ``pings``
(``: ping`` comments every 20 ms, never content). ``/silent/...`` accepts and never
answers. Runs its own event loop in a thread, so sync and async tests can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from pathlib import Path
from typing import Any

STREAMS_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "streams"
Entry = dict[str, Any]
_EVENT_END = re.compile(rb"(?<=\r\n\r\n)|(?<=\n\n)")
_HOLD_S = 30.0  # upper bound for 'pings' and 'silent' responses


def load_manifest(directory: Path = STREAMS_DIR) -> dict[str, Entry]:
    data = json.loads((directory / "streams.json").read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


def split_events(body: bytes) -> list[bytes]:
    return [part for part in _EVENT_END.split(body) if part]


class ReplayServer:
    def __init__(self, directory: Path = STREAMS_DIR, gap_s: float = 0.005) -> None:
        self.directory = directory
        self.gap_s = gap_s
        self.manifest = load_manifest(directory)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(timeout=10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if length:
                await asyncio.wait_for(reader.readexactly(int(length[1])), 10)
            name = head.split(b" ", 2)[1].decode().split("/")[1]
            await self._respond(name, reader, writer)
        writer.close()

    async def _respond(
        self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if name == "silent":
            await asyncio.wait_for(reader.read(), _HOLD_S)
            return
        entry = self.manifest[name]
        body = (self.directory / entry["file"]).read_bytes()
        writer.write(
            f"HTTP/1.1 {entry['status']} Recorded\r\nContent-Type: {entry['content_type']}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
        )
        parts = split_events(body) if entry["content_type"].startswith("text/") else [body]
        for part in parts:
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
            await asyncio.sleep(self.gap_s)
        if entry["ending"] == "cut":
            return  # closed without the terminating chunk
        if entry["ending"] == "pings":
            loop = asyncio.get_running_loop()
            deadline = loop.time() + _HOLD_S
            while loop.time() < deadline:
                writer.write(b"8\r\n: ping\n\n\r\n")
                await writer.drain()
                await asyncio.sleep(0.02)
            return
        writer.write(b"0\r\n\r\n")
        await writer.drain()
