"""Fixtures for the docker backend's tests: a small stack spec, the images, a client.

No ``__init__.py`` in this folder on purpose: a package named ``docker`` would shadow
docker-py; the test modules carry a ``test_docker_`` prefix to stay unique instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_aistack.settings import Settings
from pytest_aistack.stack.docker import DockerImages

# A small stack with the same shapes as the reference one: a Toxiproxy host that
# announces its port, redis behind a proxy, and an HTTP service given ${port}; each
# listens on ${host}:${port}.
SMALL_STACK = """\
toxiproxy: toxiproxy
services:
  toxiproxy:
    command: ["${python}", "-m", "pytest_aistack.cli", "toxiproxy", "--host", "${host}",
              "--port", "${port}"]
    port: announce
    health: {http: /version}
  redis:
    command: ["${redis_server}", "--bind", "${host}", "--port", "${port}", "--save", ""]
    port: pick
    health: {redis: true}
    proxy: redis
  web:
    command: ["${python}", "-m", "http.server", "${port}", "--bind", "${host}"]
    port: pick
    health: {http: /}
    depends_on: [toxiproxy, redis]
"""


@pytest.fixture
def small_stack_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "stack.yaml"
    path.write_text(SMALL_STACK)
    return path


@pytest.fixture(scope="session")
def docker_images(aistack_settings: Settings) -> DockerImages:
    """The configured images; skip (naming the fix) where they have not been built."""
    from pytest_aistack.stack.docker.engine import docker_client, image_present

    images = DockerImages(
        services=aistack_settings.docker_services_image,
        redis=aistack_settings.docker_redis_image,
        toxiproxy=aistack_settings.docker_toxiproxy_image,
    )
    client = docker_client()
    try:
        missing = [i for i in (images.services, images.redis) if not image_present(client, i)]
    finally:
        client.close()
    if missing:
        pytest.skip(
            f"image(s) {', '.join(missing)} not built; run scripts/docker-ci-images and "
            "source .aistack/docker-images.env (make test-docker does both)"
        )
    return images


@pytest.fixture
def docker_client_() -> Iterator[object]:
    from pytest_aistack.stack.docker.engine import docker_client

    client = docker_client()
    try:
        yield client
    finally:
        client.close()
