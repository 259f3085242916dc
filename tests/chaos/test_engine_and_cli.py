"""Engine selection, ``aistack toxiproxy`` as a process, and the binary engine driven
through a stand-in ``toxiproxy-server`` (a script running our server with upstream's
``-host``/``-port`` flags), since the real binary is not installable here."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pytest_aistack.chaos.client import ToxiproxyClient
from pytest_aistack.chaos.engine import (
    EngineError,
    choose_engine,
    describe_engine_choice,
    start_toxiproxy,
)
from pytest_aistack.runtime.process import ManagedProcess, ProcessError


@dataclass(frozen=True)
class _Settings:
    chaos_engine: str = "auto"
    toxiproxy_bin: str | None = None


@pytest.fixture
def stand_in_binary(tmp_path: Path) -> Path:
    script = tmp_path / "bin" / "toxiproxy-server"
    script.parent.mkdir()
    script.write_text(
        f"""#!/bin/sh
# Stand-in for toxiproxy-server: same flags, our server behind them.
while [ $# -gt 0 ]; do
  case "$1" in
    -host) HOST="$2"; shift 2 ;;
    -port) PORT="$2"; shift 2 ;;
    *) shift ;;
  esac
done
exec {sys.executable} -m pytest_aistack.cli toxiproxy --host "$HOST" --port "$PORT"
"""
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def empty_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.mark.usefixtures("empty_path")
def test_auto_without_binary_is_embedded() -> None:
    choice = choose_engine(_Settings())
    assert (choice.kind, choice.binary) == ("embedded", None)
    assert describe_engine_choice(_Settings()) == (
        "chaos engine: embedded (auto: no toxiproxy-server on PATH)"
    )


def test_auto_finds_binary_on_path(stand_in_binary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(stand_in_binary.parent))
    choice = choose_engine(_Settings())
    assert (choice.kind, choice.binary) == ("binary", str(stand_in_binary))
    assert describe_engine_choice(_Settings()) == (
        f"chaos engine: binary {stand_in_binary} (auto: found on PATH)"
    )


def test_configured_binary_wins(stand_in_binary: Path) -> None:
    settings = _Settings(toxiproxy_bin=str(stand_in_binary))
    assert choose_engine(settings).describe() == f"binary {stand_in_binary} (auto: toxiproxy_bin)"


def test_missing_configured_binary_is_a_clear_error(tmp_path: Path) -> None:
    settings = _Settings(chaos_engine="binary", toxiproxy_bin=str(tmp_path / "nope"))
    with pytest.raises(EngineError, match="is not an executable file"):
        choose_engine(settings)
    assert describe_engine_choice(settings).startswith("chaos engine: unusable: toxiproxy_bin=")


@pytest.mark.usefixtures("empty_path")
def test_binary_without_binary_is_a_clear_error() -> None:
    with pytest.raises(EngineError, match="no toxiproxy-server was found on PATH"):
        choose_engine(_Settings(chaos_engine="binary"))


def test_docker_cannot_start_alone(tmp_path: Path) -> None:
    assert choose_engine(_Settings(chaos_engine="docker")).kind == "docker"
    with pytest.raises(EngineError, match="docker stack backend") as caught:
        start_toxiproxy(_Settings(chaos_engine="docker"), log_dir=tmp_path)
    # The fix it names is the real one: a conftest override, as the scenarios have.
    assert "override the aistack_toxiproxy fixture" in str(caught.value)


def test_unknown_engine_is_a_clear_error() -> None:
    with pytest.raises(EngineError, match="not one of auto, embedded, binary, docker"):
        choose_engine(_Settings(chaos_engine="podman"))


def test_binary_engine_starts_and_stops_a_process(stand_in_binary: Path, tmp_path: Path) -> None:
    running = start_toxiproxy(
        _Settings(chaos_engine="binary", toxiproxy_bin=str(stand_in_binary)), log_dir=tmp_path
    )
    try:
        with ToxiproxyClient(running.url) as client:
            assert client.version()
            proxy = client.create_proxy("p", "127.0.0.1:1")
            assert proxy.listen_port > 0
    finally:
        running.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{running.url}/version", timeout=1)


def test_binary_that_exits_before_answering_fails_fast(tmp_path: Path) -> None:
    script = tmp_path / "toxiproxy-server"
    script.write_text("#!/bin/sh\necho 'bind: address already in use'\nexit 2\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    settings = _Settings(chaos_engine="binary", toxiproxy_bin=str(script))
    started = time.monotonic()
    with pytest.raises(EngineError) as caught:
        start_toxiproxy(settings, log_dir=tmp_path)
    assert str(caught.value) == "toxiproxy-server exited with code 2 before answering"
    assert time.monotonic() - started < 10  # did not wait for the 15 s deadline
    assert "address already in use" in (tmp_path / "toxiproxy-server.log").read_text()


def test_api_that_never_answers_times_out_with_the_last_error() -> None:
    from pytest_aistack.chaos.engine import _free_port, _wait_for_api

    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    with pytest.raises(EngineError) as caught:
        _wait_for_api(url, 0.3, lambda: None)
    assert str(caught.value).startswith(
        f"toxiproxy-server at {url} did not answer within 0.3 s: ConnectError: "
    )


def test_cli_announces_readiness_and_populates(tmp_path: Path) -> None:
    config = tmp_path / "proxies.json"
    config.write_text(json.dumps([{"name": "redis", "upstream": "127.0.0.1:6379"}]))
    process = ManagedProcess(
        "toxiproxy",
        [
            sys.executable,
            "-m",
            "pytest_aistack.cli",
            "toxiproxy",
            "--port",
            "0",
            "--config",
            str(config),
        ],
        log_path=tmp_path / "toxiproxy.log",
        env={**os.environ},
    )
    with process:
        fields = process.wait_ready(timeout=20)
        assert fields["service"] == "toxiproxy"
        assert fields["url"].startswith("http://127.0.0.1:")
        with ToxiproxyClient(fields["url"]) as client:
            assert list(client.proxies()) == ["redis"]
            assert client.proxy("redis").listen.startswith("127.0.0.1:")
    assert process.stop() == 0


def test_cli_bad_config_exits_2_with_the_file_named(tmp_path: Path) -> None:
    config = tmp_path / "proxies.json"
    config.write_text('[{"name": "x"}]')
    process = ManagedProcess(
        "toxiproxy",
        [
            sys.executable,
            "-m",
            "pytest_aistack.cli",
            "toxiproxy",
            "--port",
            "0",
            "--config",
            str(config),
        ],
        log_path=tmp_path / "toxiproxy.log",
    )
    with process, pytest.raises(ProcessError, match="exited with code 2"):
        process.wait_ready(timeout=20)
    assert f"--config {config}: missing required field: upstream at proxy 1" in process.tail()


def test_embedded_stop_closes_api_listeners_and_connections(tmp_path: Path) -> None:
    """EmbeddedToxiproxy.stop leaves nothing listening and no connection open."""
    from pytest_aistack.chaos.toxiproxy import EmbeddedToxiproxy

    from .netutil import TcpServer, connect, echo_handler, is_listening, read_to_end

    echo = TcpServer(echo_handler)
    server = EmbeddedToxiproxy()
    api_address = server.start().removeprefix("http://")
    try:
        with ToxiproxyClient(server.url) as client:
            proxy = client.create_proxy("p", echo.address)
        held = connect(proxy.listen)
        held.sendall(b"ping")
        assert held.recv(4) == b"ping"
    finally:
        server.stop()
    with held:
        assert read_to_end(held, timeout=2)[1] in ("eof", "reset")
    assert not is_listening(proxy.listen)
    assert not is_listening(api_address)
    echo.close()
