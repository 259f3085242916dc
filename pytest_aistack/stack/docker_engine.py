"""The engine side of the docker backend: client, images, testcontainers, commands.

Kept apart from :mod:`pytest_aistack.stack.docker` so the backend reads as the
start-up sequence it is. Everything that imports ``docker`` or ``testcontainers``
does so inside a function: importing this module stays cheap.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from pytest_aistack.stack.spec import StackSpec

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer

HOST = "127.0.0.1"
SERVICE_PORT = 8000  # every service of our image listens here inside its own container
TOXIPROXY_API_PORT = 8474  # Toxiproxy's documented default API port
REDIS_PORT = 6379
PROXY_PORT_BASE = 20000  # proxy listeners inside the Toxiproxy container: 20000, 20001…
DOCKER_API_TIMEOUT = 30  # seconds for any one call to the engine

RyukMode = Literal["auto", "on", "off"]


class DockerStackError(RuntimeError):
    """The docker stack could not start; the message says which service and why."""


@dataclass(frozen=True)
class DockerImages:
    """Image names; each is a setting (``docker_services_image`` and so on)."""

    services: str = "pytest-aistack:local"
    redis: str = "redis:7-alpine"
    toxiproxy: str = "ghcr.io/shopify/toxiproxy:2.12.0"


# ---------------------------------------------------------------------------------------
# testcontainers: modules, configuration


def redis_container(image: str, timeout: float) -> DockerContainer:
    """testcontainers' RedisContainer: ``community`` path first, the older one quietly.

    4.x keeps ``testcontainers.redis`` as a shim that emits a DeprecationWarning on
    import — an error under ``filterwarnings = error``, hence the guard. Without the
    ``redis`` client package neither imports; the generic container then does (our
    health check pings redis either way).
    """
    from testcontainers.core.container import DockerContainer

    for module_name in ("testcontainers.community.redis", "testcontainers.redis"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
        container = cast("DockerContainer", module.RedisContainer(image))
        # Its PING wait polls once a second for up to 120 s by default; redis answers
        # within milliseconds, and our deadline is the service's startup_timeout.
        strategy = module.PingWaitStrategy().with_poll_interval(0.05)
        return container.waiting_for(strategy.with_startup_timeout(int(timeout) or 1))
    return DockerContainer(image)


def configure_testcontainers(ryuk: bool) -> None:
    """Reach published ports on 127.0.0.1 and decide about Ryuk, for this process."""
    from testcontainers.core.config import ConnectionMode, testcontainers_config

    # What TESTCONTAINERS_HOST_OVERRIDE / TESTCONTAINERS_CONNECTION_MODE would set, but
    # those are read once at import; setting the values keeps us independent of when
    # testcontainers was first imported.
    testcontainers_config.tc_host_override = HOST
    testcontainers_config.connection_mode_override = ConnectionMode.docker_host
    testcontainers_config.ryuk_disabled = not ryuk


def docker_client() -> Any:
    import docker

    return docker.from_env(timeout=DOCKER_API_TIMEOUT)


def image_present(client: Any, image: str) -> bool:
    import docker.errors

    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    return True


def ensure_image(client: Any, image: str, setting: str) -> None:
    """The image is here, or pulled now; else an error naming the setting and the fix."""
    import docker.errors

    if image_present(client, image):
        return
    try:
        client.images.pull(image)
    except docker.errors.APIError as exc:
        raise DockerStackError(
            f"image {image!r} ({setting}) is not present and cannot be pulled: "
            f"{exc.explanation or exc}. Build the images with scripts/docker-ci-images and "
            f"use the names it prints (source .aistack/docker-images.env), or set "
            f"AISTACK_{setting.upper()} to an image you have"
        ) from None


def resolve_ryuk(client: Any, mode: RyukMode) -> bool:
    """Ryuk removes a dead session's containers too, but only where its image exists."""
    if mode != "auto":
        return mode == "on"
    from testcontainers.core.config import testcontainers_config

    return image_present(client, testcontainers_config.ryuk_image)


# ---------------------------------------------------------------------------------------
# commands


def container_argv(argv: Sequence[str], port: int) -> list[str]:
    """A local command rewritten to listen on every interface of the container.

    ``--host X``/``--bind X`` (or ``=X``) -> ``0.0.0.0``; ``--port 0`` -> ``port``.
    """
    out: list[str] = []
    rewrite_next: str | None = None
    for arg in argv:
        if rewrite_next == "addr":
            out.append("0.0.0.0")
        elif rewrite_next == "port":
            out.append(str(port) if arg == "0" else arg)
        else:
            name, eq, value = arg.partition("=")
            if eq and name in ("--host", "--bind"):
                out.append(f"{name}=0.0.0.0")
            elif eq and name == "--port" and value == "0":
                out.append(f"--port={port}")
            else:
                out.append(arg)
        rewrite_next = {"--host": "addr", "--bind": "addr", "--port": "port"}.get(arg)
    return out


def proxy_ports(spec: StackSpec) -> dict[str, int]:
    """Service name -> its proxy's listen port inside the Toxiproxy container (fixed, so
    it can be published before the container starts)."""
    names = sorted(s.name for s in spec.services.values() if s.proxy is not None)
    return {name: PROXY_PORT_BASE + index for index, name in enumerate(names)}
