from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pytest_aistack.stack.health import HealthTarget, HealthTimeout, probe, wait_until_healthy
from pytest_aistack.stack.spec import HealthCheck


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ok" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there any more


def test_http_check_needs_a_2xx(http_port: int) -> None:
    assert probe(HealthTarget("127.0.0.1", http_port, HealthCheck("http", "/ok"))) is None
    why = probe(HealthTarget("127.0.0.1", http_port, HealthCheck("http", "/loading")))
    assert why is not None
    assert "answered 503" in why


def test_tcp_check_and_refusal(http_port: int, closed_port: int) -> None:
    assert probe(HealthTarget("127.0.0.1", http_port, HealthCheck("tcp"))) is None
    why = probe(HealthTarget("127.0.0.1", closed_port, HealthCheck("tcp")))
    assert why is not None
    assert "ConnectionRefusedError" in why


def test_timeout_lists_each_unhealthy_service(http_port: int, closed_port: int) -> None:
    targets = {
        "good": HealthTarget("127.0.0.1", http_port, HealthCheck("http", "/ok")),
        "loading": HealthTarget("127.0.0.1", http_port, HealthCheck("http", "/loading")),
        "gone": HealthTarget("127.0.0.1", closed_port, HealthCheck("tcp")),
    }
    with pytest.raises(HealthTimeout) as excinfo:
        wait_until_healthy(targets, timeout=0.5)
    assert set(excinfo.value.failures) == {"loading", "gone"}
    assert "- loading: GET" in str(excinfo.value)


def test_a_dead_service_fails_at_once(closed_port: int) -> None:
    targets = {"svc": HealthTarget("127.0.0.1", closed_port, HealthCheck("tcp"))}
    with pytest.raises(HealthTimeout, match="svc: exited with code 3"):
        wait_until_healthy(targets, timeout=30, exited=lambda name: "exited with code 3")


def test_real_redis_answers_ping(tmp_path: Path) -> None:
    from pytest_aistack.runtime.process import ManagedProcess
    from pytest_aistack.stack.local import free_port, redis_server_binary

    port = free_port()
    argv = [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    log = tmp_path / "redis.log"
    with ManagedProcess("redis", argv, log_path=log):
        took = wait_until_healthy(
            {"redis": HealthTarget("127.0.0.1", port, HealthCheck("redis"))}, timeout=10
        )
    assert set(took) == {"redis"}
