"""The Toxiproxy benchmark's upstream server, in its own process pinned to CLIENT_CPU.

``bench_toxiproxy.py --upstream`` runs it: echo by default, a byte-counting sink, and
just enough HTTP/1.1 for the request-ledger rows. It announces its address with
``announce_ready`` and serves until it is stopped.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct

from benchmarks.toxiproxy_workload import (
    BULK_BYTES,
    CLIENT_CPU,
    HTTP_CHUNK,
    HTTP_DOWNLOAD_HEAD,
    HTTP_RR_RESPONSE,
    HTTP_UPLOAD_RESPONSE,
)
from pytest_aistack.runtime.process import announce_ready


async def serve_upstream() -> None:
    """Echo by default; a connection opening with ``S`` + 8-byte length is a sink that
    answers ``ok`` once it read that many bytes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            first = await reader.read(65536)
            if first[:4] in (b"POST", b"GET "):
                await _serve_http(first, reader, writer)
                return
            if first[:1] == b"S":
                (total,) = struct.unpack("!Q", first[1:9])
                received = len(first) - 9
                while received < total:
                    data = await reader.read(1 << 20)
                    if not data:
                        return
                    received += len(data)
                writer.write(b"ok")
                await writer.drain()
                return
            data = first
            while data:
                writer.write(data)
                data = await reader.read(65536)
        except ConnectionError:
            return
        finally:
            writer.close()

    async def _serve_http(
        buffer: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Just enough HTTP/1.1 for the ledger rows: keep-alive, Content-Length bodies."""
        while True:
            while b"\r\n\r\n" not in buffer:
                more = await reader.read(65536)
                if not more:
                    return
                buffer += more
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            path = head.split(b" ", 2)[1]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            received = min(len(buffer), length)
            buffer = buffer[received:]
            while received < length:
                more = await reader.read(min(1 << 20, length - received))
                if not more:
                    return
                received += len(more)
            if path == b"/upload":
                writer.write(HTTP_UPLOAD_RESPONSE)
            elif path.startswith(b"/download"):
                writer.write(HTTP_DOWNLOAD_HEAD)
                chunk = b"%x\r\n%s\r\n" % (HTTP_CHUNK, b"d" * HTTP_CHUNK)
                for _ in range(BULK_BYTES // HTTP_CHUNK):
                    writer.write(chunk)
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            else:
                writer.write(HTTP_RR_RESPONSE)
            await writer.drain()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
    port = server.sockets[0].getsockname()[1]
    announce_ready("bench-upstream", address=f"127.0.0.1:{port}")
    await asyncio.Event().wait()


def run_upstream() -> None:
    os.sched_setaffinity(0, {CLIENT_CPU})
    try:
        import uvloop

        uvloop.run(serve_upstream())
    except ImportError:
        asyncio.run(serve_upstream())
