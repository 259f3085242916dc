"""ExternalBackend with gateway replicas: each is probed, and the Stack lists them in order."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_aistack.stack.external import ExternalBackend, ExternalStackError
from pytest_aistack.stack.handle import AIStack
from pytest_aistack.stack.profile import load_profile

POLICY = (
    "policy: {allowed_fails: 1, cooldown_s: 1, num_retries: 0, timeout_s: 1, stream_timeout_s: 1}\n"
)


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def gateways() -> Iterator[list[str]]:
    """Two HTTP servers on 127.0.0.1 answering 200, standing in for gateway instances."""
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
    finally:
        for server, thread in zip(servers, threads, strict=True):
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def _profile(tmp_path: Path, url: str, replicas: list[str]) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(
        f"gateway: {{url: '{url}', key_env: MY_GATEWAY_KEY, replicas: {replicas}}}\n"
        "backends: {a: {model_group: g}}\n"
        "model_groups: {g: {deployments: [a]}}\n" + POLICY
    )
    return path


def test_replicas_reach_the_stack_in_order(
    tmp_path: Path, gateways: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_GATEWAY_KEY", "sk-test")
    profile = load_profile(_profile(tmp_path, gateways[0], [f"{gateways[1]}/"]))
    stack = ExternalBackend(profile).up()
    assert stack.gateway_replica_urls == (gateways[1],)
    assert AIStack(stack, profile).gateway_urls == (gateways[0], gateways[1])


def test_an_unreachable_or_empty_replica_is_named(
    tmp_path: Path, gateways: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_GATEWAY_KEY", "sk-test")
    path = _profile(tmp_path, gateways[0], ["http://127.0.0.1:9", ""])
    with pytest.raises(ExternalStackError) as excinfo:
        ExternalBackend(load_profile(path)).up()
    text = str(excinfo.value)
    assert "gateway replica http://127.0.0.1:9 (gateway.replicas.0): ConnectError" in text
    assert f"gateway.replicas.1 is empty in {path}; set it to that instance's URL" in text
