"""DockerBackend against a real engine: a small stack up, reachable, labelled, removed."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_aistack.cli import main
from pytest_aistack.stack import runs
from pytest_aistack.stack.docker import DockerBackend, DockerImages, DockerStackError
from pytest_aistack.stack.docker import labels as docker_labels
from pytest_aistack.stack.spec import load_stack_spec

pytestmark = pytest.mark.requires_docker


def _redis_ping(listen: str) -> bytes:
    host, _, port = listen.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.settimeout(5)
        sock.sendall(b"PING\r\n")
        return sock.recv(64)


def _run_members(client: Any, run_id: str) -> tuple[list[Any], list[Any]]:
    selector = {"label": f"{docker_labels.RUN_ID}={run_id}"}
    return (
        client.containers.list(all=True, filters=selector),
        client.networks.list(filters=selector),
    )


def test_small_stack_up_reachable_labelled_and_removed(
    small_stack_yaml: Path, docker_images: DockerImages, docker_client_: Any, tmp_path: Path
) -> None:
    backend = DockerBackend(
        load_stack_spec(small_stack_yaml), log_dir=tmp_path, images=docker_images
    )
    try:
        stack = backend.up()
        assert stack.backend == "docker"
        assert httpx.get(stack.endpoint("web").url + "/", timeout=5).status_code == 200
        # redis through its Toxiproxy proxy, from the host: the proxy listener is published.
        redis = stack.endpoint("redis")
        assert redis.proxy == "redis"
        assert redis.proxy_listen is not None
        assert _redis_ping(redis.proxy_listen) == b"+PONG\r\n"
        proxies = httpx.get(f"{stack.toxiproxy_url}/proxies", timeout=5).json()
        assert proxies["redis"]["upstream"] == "redis:6379"

        containers, networks = _run_members(docker_client_, backend.run_id)
        assert sorted(c.labels[docker_labels.SERVICE] for c in containers) == [
            "redis",
            "toxiproxy",
            "web",
        ]
        assert [n.name for n in networks] == [f"aistack-{backend.run_id}"]
        for container in containers:
            container.reload()
            bindings = container.attrs["NetworkSettings"]["Ports"]
            host_ips = {b["HostIp"] for v in bindings.values() if v for b in v}
            assert host_ips == {"127.0.0.1"}, (container.name, bindings)
    finally:
        backend.down()
    assert _run_members(docker_client_, backend.run_id) == ([], [])
    # The container logs are kept after the containers are gone.
    assert (backend.log_dir / "toxiproxy.log").read_text()


def test_failed_start_names_the_service_and_leaves_nothing(
    tmp_path: Path, docker_images: DockerImages, docker_client_: Any
) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(
        "services:\n"
        "  broken:\n"
        "    command: ['${python}', '-c', 'import sys; print(\"boom\"); sys.exit(3)']\n"
        "    port: pick\n"
        "    health: {http: /}\n"
        "    startup_timeout: 20\n"
    )
    backend = DockerBackend(load_stack_spec(path), log_dir=tmp_path, images=docker_images)
    with pytest.raises(DockerStackError) as caught:
        backend.up()
    message = str(caught.value)
    assert "broken" in message
    assert "exited with code 3" in message
    assert "boom" in message
    assert _run_members(docker_client_, backend.run_id) == ([], [])


def test_missing_image_names_the_setting_and_the_fix(
    small_stack_yaml: Path, docker_images: DockerImages, tmp_path: Path
) -> None:
    images = DockerImages(
        services="aistack-test-no-such-image:never",
        redis=docker_images.redis,
        toxiproxy=docker_images.toxiproxy,
    )
    backend = DockerBackend(load_stack_spec(small_stack_yaml), log_dir=tmp_path, images=images)
    with pytest.raises(DockerStackError) as caught:
        backend.up()
    assert "docker_services_image" in str(caught.value)
    assert "scripts/docker-ci-images" in str(caught.value)


def test_kept_run_survives_down_and_aistack_down_removes_it(
    small_stack_yaml: Path,
    docker_images: DockerImages,
    docker_client_: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    backend = DockerBackend(
        load_stack_spec(small_stack_yaml), log_dir=tmp_path, images=docker_images, keep_up=True
    )
    try:
        backend.up()
        backend.down()
        containers, _ = _run_members(docker_client_, backend.run_id)
        assert len(containers) == 3
        assert (runs.runs_dir() / f"{backend.run_id}.json").exists()

        assert main(["down"]) == 0
        assert f"removed docker run {backend.run_id}" in capsys.readouterr().out
        assert _run_members(docker_client_, backend.run_id) == ([], [])
        assert not (runs.runs_dir() / f"{backend.run_id}.json").exists()
    finally:
        docker_labels.remove_run(docker_client_, backend.run_id)
