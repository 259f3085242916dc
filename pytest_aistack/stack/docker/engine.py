"""The engine side of the docker backend: client, images, testcontainers, commands.

Kept apart from :mod:`pytest_aistack.stack.docker.backend` so the backend reads as the
start-up sequence it is. Everything that imports ``docker`` or ``testcontainers``
does so inside a function: importing this module stays cheap.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from pytest_aistack.errors import StackError
from pytest_aistack.stack import placeholders
from pytest_aistack.stack.spec import ServiceSpec, StackSpec, StackSpecError
from pytest_aistack.stack.startup import config_file_name, render_service, service_placeholders

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer

HOST = "127.0.0.1"
SERVICE_PORT = 8000  # every service of our image listens here inside its own container
TOXIPROXY_API_PORT = 8474  # Toxiproxy's documented default API port
REDIS_PORT = 6379
PROXY_PORT_BASE = 20000  # proxy listeners inside the Toxiproxy container: 20000, 20001…
DOCKER_API_TIMEOUT = 30  # seconds for any one call to the engine
CONFIG_DIR = "/tmp"  # rendered config templates go here inside a container

RyukMode = Literal["auto", "on", "off"]


class DockerStackError(StackError):
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


# Inside a container a service must listen on every interface to be reachable over
# the private network; the host side is published on 127.0.0.1 only.
CONTAINER_LISTEN_ADDRESS = "0.0.0.0"  # ok: inside a container, published on 127.0.0.1 only


# Listen options a command written for the host alone may carry: in a container these
# would listen where nothing can reach them (see check_listens_in_container).
_HOST_OPTIONS = ("--host", "--bind")
_LOOPBACK = ("127.", "localhost", "::1", "[::1]")


def check_listens_in_container(spec: StackSpec, service: ServiceSpec) -> None:
    """Refuse a command that hard-codes a loopback listen address or ``--port 0``.

    Before ``${host}``/``${port}`` existed the docker backend rewrote those options;
    a stack file still written that way would start a container nobody can reach, so
    it fails here with the fix instead of at the health deadline. A command that uses
    either placeholder is taken as written.
    """
    command = service.command
    if any("${host}" in arg or "${port}" in arg for arg in command):
        return
    for index, arg in enumerate(command):
        name, eq, value = arg.partition("=")
        if not eq:
            name, value = arg, command[index + 1] if index + 1 < len(command) else ""
        if (name in _HOST_OPTIONS and value.startswith(_LOOPBACK)) or (
            name == "--port" and value == "0"
        ):
            raise StackSpecError(
                f"{spec.path}: services.{service.name}.command: {name} {value} is hard-coded, "
                "and in a container the service must listen on every interface at a known "
                f'port; write "{name}", "${{{"port" if name == "--port" else "host"}}}" '
                "(docs/configuration.md, placeholders)"
            )


def refuse_host_paths(spec: StackSpec) -> None:
    """Refuse, before anything starts, a stack that runs files from this host's disk.

    ``${cache_dir}`` is a host directory (the llama.cpp variant's venv and model); no
    container has it, and rendering would only fail later as an unknown placeholder.
    """
    for service in spec.services.values():
        texts = [("command", arg) for arg in service.command]
        texts += [(f"env.{key}", value) for key, value in service.env.items()]
        for key, text in texts:
            if any(p.key == "cache_dir" for p in placeholders.find(text)):
                raise DockerStackError(
                    f"{spec.path}: services.{service.name}.{key} uses ${{cache_dir}}, a "
                    "directory on this host (pytest-aistack's cache: the llama.cpp venv "
                    "and model), which containers do not have; run this stack with "
                    "--aistack-backend local"
                )


def proxy_ports(spec: StackSpec) -> dict[str, int]:
    """Service name -> its proxy's listen port inside the Toxiproxy container (fixed, so
    it can be published before the container starts)."""
    names = sorted(s.name for s in spec.services.values() if s.proxy is not None)
    return {name: PROXY_PORT_BASE + index for index, name in enumerate(names)}


@dataclass(frozen=True)
class ContainerPlan:
    """What one service's container runs; shared by the backend and the compose file."""

    image: str
    argv: list[str]
    env: dict[str, str]
    port: int  # the service's own port inside the container
    config_path: str | None = None  # where the rendered config template goes
    config_text: str | None = None
    toxiproxy: bool = False
    official_toxiproxy: bool = False
    extra_ports: list[int] = field(default_factory=list)  # the proxy listeners


def plan_container(
    spec: StackSpec,
    service: ServiceSpec,
    values: Mapping[str, str],
    *,
    images: DockerImages,
    official_toxiproxy: bool,
) -> ContainerPlan:
    """Image, command, environment and port of ``service`` in a container.

    ``values`` are the run's placeholders (keys, ``${url:NAME}`` by network alias and
    so on, :func:`network_placeholders`); those of the container itself —
    ``python``, ``host``, ``port``, ``log_dir``, ``redis_server``, ``config`` — are
    filled in here.
    """
    is_toxiproxy = service.name == spec.toxiproxy
    official = is_toxiproxy and official_toxiproxy
    extra_ports = sorted(proxy_ports(spec).values()) if is_toxiproxy else []
    if service.health.kind == "redis":
        image, port = images.redis, REDIS_PORT
    elif official:
        image, port = images.toxiproxy, TOXIPROXY_API_PORT
    else:
        image = images.services
        port = TOXIPROXY_API_PORT if is_toxiproxy else SERVICE_PORT
    values = {
        **values,
        "python": "python",
        "host": CONTAINER_LISTEN_ADDRESS,
        "port": str(port),
        "log_dir": CONFIG_DIR,
        "redis_server": "redis-server",
    }
    config_path = f"{CONFIG_DIR}/{config_file_name(service)}"
    rendered = render_service(spec, service, values, config_path=config_path)
    if official:
        # The image's entrypoint is /toxiproxy; these are its flags (cmd/toxiproxy).
        argv = [f"-host={CONTAINER_LISTEN_ADDRESS}", f"-port={port}"]
    else:
        check_listens_in_container(spec, service)
        argv = rendered.argv
        if service.health.kind == "redis" and "--protected-mode" not in argv:
            # Listening on every interface without a password switches protected mode on in a
            # stock redis-server (the official image compiles it off); the port is
            # published on 127.0.0.1 only and the network is private.
            argv = [*argv, "--protected-mode", "no"]
    return ContainerPlan(
        image=image,
        argv=argv,
        env=rendered.env,
        port=port,
        config_path=config_path if rendered.config_text is not None else None,
        config_text=rendered.config_text,
        toxiproxy=is_toxiproxy,
        official_toxiproxy=official,
        extra_ports=extra_ports,
    )


def network_placeholders(
    spec: StackSpec, ports: dict[str, int], proxied: set[str]
) -> dict[str, str]:
    """``${url:NAME}``, ``${proxy_url:NAME}``… of services reachable on the network.

    ``ports``: service -> its port inside its container (those already planned);
    ``proxied``: services whose Toxiproxy proxy exists.
    """
    values: dict[str, str] = {}
    listen = proxy_ports(spec)
    for name, port in ports.items():
        url = f"{spec.services[name].scheme}://{name}:{port}"
        proxy = None
        if name in proxied and spec.toxiproxy is not None:
            proxy = (spec.toxiproxy, listen[name])
        values.update(service_placeholders(name, url, port, proxy))
    return values
