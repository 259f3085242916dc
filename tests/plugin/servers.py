"""Real servers for the plugin tests: HTTP on a free 127.0.0.1 port or on a Unix socket."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Route:
    status: int = 200
    body: Any = None
    delay: float = 0.0  # seconds before answering: a slow server, not a readiness wait
    bearer: str | None = None  # answer 401 unless "Authorization: Bearer <bearer>"


@dataclass
class HttpServer:
    url: str
    routes: dict[str, Route]
    hits: Counter[str] = field(default_factory=Counter)


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def do_GET(self) -> None:
        state: HttpServer = self.server.state
        state.hits[self.path] += 1
        route = state.routes.get(self.path, Route(404, {"detail": "Not Found"}))
        if route.delay:
            self.server.release.wait(route.delay)
        status = route.status
        if route.bearer is not None and self.headers.get("Authorization") != (
            f"Bearer {route.bearer}"
        ):
            status = 401
        body = {"error": "invalid api key"} if status == 401 else route.body
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the probe gave up on a slow route: that is the point of the route

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _TcpServer(ThreadingHTTPServer):
    daemon_threads = True


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self) -> tuple[socket.socket, Any]:
        request, _ = super().get_request()
        return request, ("unix", 0)  # BaseHTTPRequestHandler expects a (host, port) pair


class ServerPool:
    """Servers started for one test; ``close`` stops them all, slow handlers included."""

    def __init__(self) -> None:
        self._started: list[tuple[Any, threading.Thread]] = []

    def start(self, routes: dict[str, Route], unix_path: Path | None = None) -> HttpServer:
        server: Any
        if unix_path is None:
            server = _TcpServer(("127.0.0.1", 0), _Handler)
            url = f"http://127.0.0.1:{server.server_address[1]}"
        else:
            server = _UnixServer(str(unix_path), _Handler)
            url = f"unix://{unix_path}"
        state = HttpServer(url, routes)
        server.state = state
        server.release = threading.Event()
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        self._started.append((server, thread))
        return state

    def close(self) -> None:
        for server, thread in self._started:
            server.release.set()  # let slow handlers answer now
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


@dataclass(frozen=True)
class RedisServer:
    port: int
    password: str
