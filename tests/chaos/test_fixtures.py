"""The ``chaos`` and ``aistack_toxiproxy`` fixtures, run in a pytester session."""

from __future__ import annotations

import os

import pytest

ECHO_CONFTEST = """
import socket
import threading

import pytest


@pytest.fixture(scope="session")
def echo_address():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            def echo(conn=conn):
                conn.settimeout(10)
                with conn:
                    while data := conn.recv(4096):
                        conn.sendall(data)
            threading.Thread(target=echo, daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield "127.0.0.1:%d" % server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()


@pytest.fixture
def svc(aistack_toxiproxy, echo_address):
    proxy = aistack_toxiproxy.create_proxy("svc", echo_address)
    yield proxy
    aistack_toxiproxy.delete_proxy("svc")


def ping(proxy):
    with socket.create_connection((proxy.listen_host, proxy.listen_port), timeout=5) as sock:
        sock.sendall(b"ping")
        return sock.recv(4)
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for name in list(os.environ):
        if name.startswith("AISTACK_"):
            monkeypatch.delenv(name)
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        "addopts = -p no:hypothesispytest -p no:cacheprovider\n"
    )
    pytester.makeconftest(ECHO_CONFTEST)
    return pytester


def test_exercised_fault_passes_and_proxies_are_reset(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        from conftest import ping

        def test_fault(chaos, svc):
            with chaos.latency(svc, ms=20):
                assert ping(svc) == b"ping"
            chaos.latency(svc, ms=5).apply()  # left active: the fixture removes it
            assert ping(svc) == b"ping"

        def test_clean_afterwards(aistack_toxiproxy, svc):
            assert aistack_toxiproxy.toxics("svc") == []
        """
    )
    inner.runpytest().assert_outcomes(passed=2)


def test_unexercised_fault_is_reported_at_teardown(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        def test_never_connects(chaos, svc):
            with chaos.latency(svc, ms=20):
                pass
            with chaos.blackhole("svc"):
                pass
        """
    )
    result = inner.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*chaos: 2 fault(s) never carried a connection:",
            '*- latency on proxy "svc" saw no connection: the test did not exercise it',
            '*- blackhole on proxy "svc" saw no connection: the test did not exercise it',
            "*@pytest.mark.chaos(assert_all_faults_exercised=False)*",
        ]
    )


def test_marker_opts_out(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.chaos(assert_all_faults_exercised=False)
        def test_never_connects(chaos, svc):
            with chaos.latency(svc, ms=20):
                pass
        """
    )
    inner.runpytest("--strict-markers").assert_outcomes(passed=1)


def test_bad_marker_arguments_are_a_clear_error(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.chaos(assert_all=False)
        def test_typo(chaos):
            pass
        """
    )
    result = inner.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.chaos got unexpected keyword argument(s) assert_all; accepted: "
            "assert_all_faults_exercised=*"
        ]
    )


def test_fault_removed_when_test_fails(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        from conftest import ping

        def test_fails(chaos, svc):
            with chaos.down(svc):
                raise AssertionError("the stack did not cope")

        def test_proxy_back(aistack_toxiproxy, svc):
            assert aistack_toxiproxy.proxy("svc").enabled
            assert ping(svc) == b"ping"
        """
    )
    inner.runpytest().assert_outcomes(passed=1, failed=1)


def test_async_test_with_async_fault(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.asyncio
        async def test_async(chaos, svc):
            async with chaos.latency(svc, ms=50):
                reader, writer = await asyncio.open_connection(svc.listen_host, svc.listen_port)
                writer.write(b"ping")
                assert await asyncio.wait_for(reader.readexactly(4), 5) == b"ping"
                writer.close()
        """
    )
    inner.runpytest().assert_outcomes(passed=1)


def test_stack_overrides_aistack_toxiproxy(inner: pytest.Pytester) -> None:
    inner.makeconftest(
        ECHO_CONFTEST
        + """

from pytest_aistack.chaos.client import ToxiproxyClient
from pytest_aistack.chaos.toxiproxy import EmbeddedToxiproxy

STARTED = []


@pytest.fixture(scope="session")
def aistack_toxiproxy():
    with EmbeddedToxiproxy() as server, ToxiproxyClient(server.url) as client:
        STARTED.append(server.url)
        yield client
"""
    )
    inner.makepyfile(
        """
        from conftest import STARTED, ping

        def test_uses_override(chaos, svc):
            assert chaos.client.base_url == STARTED[0]
            with chaos.latency(svc, ms=5):
                assert ping(svc) == b"ping"
        """
    )
    inner.runpytest().assert_outcomes(passed=1)
