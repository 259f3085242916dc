"""reference_stack/docker/compose.yaml: generated from stack.yaml, current, and it runs."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
import yaml

from pytest_aistack.stack.docker.compose import OUT_DIR, main, render
from pytest_aistack.stack.docker.engine import DockerImages
from pytest_aistack.stack.spec import load_stack_spec

COMPOSE_FILE = OUT_DIR / "compose.yaml"


def test_compose_files_are_generated_from_the_current_stack_yaml() -> None:
    assert main(["--check"]) == 0, "run: python -m pytest_aistack.stack.docker.compose"


def test_gateway_reaches_every_backend_through_a_toxiproxy_proxy() -> None:
    files = render(load_stack_spec(OUT_DIR.parent / "stack.yaml"))
    gateway = files["gateway.config.yaml"]
    for port in ("20000", "20001", "20003", "20004"):  # cloud, ollama, vllm-a, vllm-b
        assert f"api_base: http://toxiproxy:{port}/v1" in gateway
    assert "redis_host: toxiproxy" in gateway
    config_lines = [line for line in gateway.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in config_lines if "${" in line]  # every placeholder filled


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    probe = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, timeout=30, check=False
    )
    return ["docker", "compose"] if probe.returncode == 0 else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def compose_up(docker_images: DockerImages) -> Iterator[tuple[dict[str, str], list[str]]]:
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    services = ("gateway", "toxiproxy", "redis", "vllm_a", "vllm_b", "ollama", "cloud")
    env = {
        **os.environ,
        "AISTACK_DOCKER_SERVICES_IMAGE": docker_images.services,
        "AISTACK_DOCKER_REDIS_IMAGE": docker_images.redis,
        **{f"AISTACK_COMPOSE_{s.upper()}_PORT": str(_free_port()) for s in services},
    }
    project = f"aistack-test-{os.getpid()}"
    base = [*command, "-f", str(COMPOSE_FILE), "-p", project]
    try:
        subprocess.run([*base, "up", "-d"], env=env, check=True, timeout=120, capture_output=True)
        yield env, base
    finally:
        subprocess.run([*base, "down", "-t", "5"], env=env, timeout=120, capture_output=True)


@pytest.mark.requires_docker
def test_compose_stack_answers_through_the_gateway(
    compose_up: tuple[dict[str, str], list[str]],
) -> None:
    env, _ = compose_up
    url = f"http://127.0.0.1:{env['AISTACK_COMPOSE_GATEWAY_PORT']}"
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        try:
            status = httpx.get(f"{url}/health/readiness", timeout=2).status_code
        except httpx.HTTPError:
            status = None
        if status == 200:
            break
        time.sleep(0.25)  # ok: polling interval under the deadline above
    assert status == 200, "the compose gateway never became ready"
    response = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4},
        headers={"Authorization": "Bearer sk-aistack-compose"},
        timeout=20,
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-litellm-model-id"] in ("vllm-a", "vllm-b")


def test_compose_file_publishes_on_loopback_only() -> None:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    ports = {name: body.get("ports", []) for name, body in services.items()}
    assert all(len(p) == 1 for p in ports.values()), ports
    assert all(p[0].startswith("127.0.0.1:") for p in ports.values()), ports
