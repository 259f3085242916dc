"""Fixtures of the chaos tests: the Toxiproxy under test, a client and real upstreams.

The suite runs against the embedded server, and unchanged against a real
``toxiproxy-server`` when ``AISTACK_TOXIPROXY_BIN`` points at one (the ``binary``
parameter is skipped with the reason otherwise).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pytest_aistack.chaos.client import ToxiproxyClient

from .netutil import TcpServer, Upstream, echo_handler

ENGINES = ("embedded", "binary")


@pytest.fixture(scope="session", params=ENGINES)
def toxiproxy_engine(request: pytest.FixtureRequest) -> str:
    engine: str = request.param
    if engine == "binary" and not os.environ.get("AISTACK_TOXIPROXY_BIN"):
        pytest.skip(
            "no real toxiproxy-server: set AISTACK_TOXIPROXY_BIN=/path/to/toxiproxy-server "
            "to run this suite against it"
        )
    return engine


@pytest.fixture(scope="session")
def toxiproxy_url(toxiproxy_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from pytest_aistack.chaos.engine import start_toxiproxy

    class _Settings:
        chaos_engine = toxiproxy_engine
        toxiproxy_bin = os.environ.get("AISTACK_TOXIPROXY_BIN")

    log_dir: Path = tmp_path_factory.mktemp("toxiproxy-logs")
    running = start_toxiproxy(_Settings(), log_dir=log_dir)
    try:
        yield running.url
    finally:
        running.stop()


@pytest.fixture
def embedded_only(toxiproxy_engine: str) -> None:
    """For tests of our documented extensions (aistack_* metrics, bug fixes)."""
    if toxiproxy_engine != "embedded":
        pytest.skip("tests an extension of the embedded server that toxiproxy-server lacks")


@pytest.fixture
def api(toxiproxy_url: str) -> Iterator[ToxiproxyClient]:
    """A client; every proxy is deleted after the test (upstream's Collection.Clear)."""
    with ToxiproxyClient(toxiproxy_url, timeout=10.0) as client:
        try:
            yield client
        finally:
            for name in client.proxies():
                client.delete_proxy(name)


@pytest.fixture
def http(toxiproxy_url: str) -> Iterator[httpx.Client]:
    """Raw HTTP to the API, for status codes and bodies."""
    with httpx.Client(
        base_url=toxiproxy_url, timeout=10.0, headers={"User-Agent": "aistack-tests"}
    ) as client:
        yield client


@pytest.fixture
def echo() -> Iterator[TcpServer]:
    server = TcpServer(echo_handler)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def fresh_ledger(api: ToxiproxyClient) -> None:
    """The server lives for the session and its ledger outlives deleted proxies."""
    api.clear_ledger()
