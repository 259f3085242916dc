"""Real sockets for the chaos tests: upstream servers and small client helpers.

Every blocking call has a timeout; servers run on daemon threads and are closed by the
fixtures that start them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Literal

Ending = Literal["eof", "reset", "timeout"]


class TcpServer:
    """A loopback TCP server; ``handler(conn)`` runs on a thread per connection."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self._handler = handler
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.accepted = 0
        self._conns: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.settimeout(10.0)
            self._conns.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            self._handler(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._closed.set()
        self._sock.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self._thread.join(timeout=5)


def echo_handler(conn: socket.socket) -> None:
    while True:
        data = conn.recv(65536)
        if not data:
            return
        conn.sendall(data)


def connect(listen: str, timeout: float = 5.0) -> socket.socket:
    host, port = listen.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def is_listening(listen: str) -> bool:
    try:
        with connect(listen, timeout=2.0):
            return True
    except OSError:
        return False


def recv_exactly(sock: socket.socket, size: int, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    parts: list[bytes] = []
    received = 0
    while received < size:
        data = sock.recv(size - received)
        if not data:
            break
        parts.append(data)
        received += len(data)
    return b"".join(parts)


def read_to_end(sock: socket.socket, timeout: float = 5.0) -> tuple[bytes, Ending]:
    """Everything until the peer ends the stream, and how it ended."""
    deadline = time.monotonic() + timeout
    parts: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"".join(parts), "timeout"
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            return b"".join(parts), "timeout"
        except ConnectionResetError:
            return b"".join(parts), "reset"
        if not data:
            return b"".join(parts), "eof"
        parts.append(data)


class Upstream:
    """A server that hands each accepted connection to the test (upstream's testhelper)."""

    def __init__(self) -> None:
        import queue

        self.connections: queue.Queue[socket.socket] = queue.Queue()
        self._release = threading.Event()
        self._server = TcpServer(self._hold)
        self.address = self._server.address

    def _hold(self, conn: socket.socket) -> None:
        self.connections.put(conn)
        self._release.wait(30)

    def accept(self, timeout: float = 5.0) -> socket.socket:
        conn = self.connections.get(timeout=timeout)
        conn.settimeout(timeout)
        return conn

    def close(self) -> None:
        self._release.set()
        self._server.close()


def echo_round_trip(client: socket.socket, server: socket.socket, message: bytes) -> None:
    """Client -> proxy -> server, then back (upstream's AssertEchoResponse)."""
    client.sendall(message)
    assert recv_exactly(server, len(message)) == message
    server.sendall(message)
    assert recv_exactly(client, len(message)) == message
