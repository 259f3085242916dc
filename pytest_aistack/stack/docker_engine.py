"""The engine side of the docker backend: client, images, testcontainers, commands.

Kept apart from :mod:`pytest_aistack.stack.docker` so the backend reads as the
start-up sequence it is. Everything that imports ``docker`` or ``testcontainers``
does so inside a function: importing this module stays cheap.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from pytest_aistack.stack.spec import ServiceSpec, StackSpec, StackSpecError, render_placeholders

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


# Inside a container a service must listen on every interface to be reachable over
# the private network; the host side is published on 127.0.0.1 only.
CONTAINER_LISTEN_ADDRESS = "0.0.0.0"  # ok: inside a container, published on 127.0.0.1 only


def container_argv(argv: Sequence[str], port: int) -> list[str]:
    """A local command rewritten to listen on every interface of the container.

    ``--host X``/``--bind X`` (or ``=X``) -> ``CONTAINER_LISTEN_ADDRESS``; ``--port 0`` -> ``port``.
    """
    out: list[str] = []
    rewrite_next: str | None = None
    for arg in argv:
        if rewrite_next == "addr":
            out.append(CONTAINER_LISTEN_ADDRESS)
        elif rewrite_next == "port":
            out.append(str(port) if arg == "0" else arg)
        else:
            name, eq, value = arg.partition("=")
            if eq and name in ("--host", "--bind"):
                out.append(f"{name}={CONTAINER_LISTEN_ADDRESS}")
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
    values: dict[str, str],
    *,
    images: DockerImages,
    official_toxiproxy: bool,
) -> ContainerPlan:
    """Image, command, environment and port of ``service`` in a container.

    ``values`` are the placeholders of the container world (``${url:NAME}`` by network
    alias and so on); ``port``, ``redis_server`` and ``config`` are filled in here.
    """
    where = f"{spec.path}: services.{service.name}"
    values = dict(values)
    is_toxiproxy = service.name == spec.toxiproxy
    official = is_toxiproxy and official_toxiproxy
    extra_ports = sorted(proxy_ports(spec).values()) if is_toxiproxy else []
    if service.health.kind == "redis":
        image, port = images.redis, REDIS_PORT
        values["redis_server"] = "redis-server"
    elif official:
        image, port = images.toxiproxy, TOXIPROXY_API_PORT
    else:
        image = images.services
        port = TOXIPROXY_API_PORT if is_toxiproxy else SERVICE_PORT
    values["port"] = str(port)
    config_path = config_text = None
    if official:
        # The image's entrypoint is /toxiproxy; these are its flags (cmd/toxiproxy).
        argv = [f"-host={CONTAINER_LISTEN_ADDRESS}", f"-port={port}"]
    else:
        if service.config_template is not None:
            config_path = f"{CONFIG_DIR}/{service.name}.config{service.config_template.suffix}"
            try:
                template = service.config_template.read_text()
            except OSError as exc:
                raise StackSpecError(f"{where}.config_template: {exc}") from None
            config_text = render_placeholders(template, values, str(service.config_template))
            values["config"] = config_path
        rendered = [render_placeholders(a, values, f"{where}.command") for a in service.command]
        argv = container_argv(rendered, port)
        if service.health.kind == "redis" and "--protected-mode" not in argv:
            # Listening on every interface without a password switches protected mode on in a
            # stock redis-server (the official image compiles it off); the port is
            # published on 127.0.0.1 only and the network is private.
            argv += ["--protected-mode", "no"]
    env = {k: render_placeholders(v, values, f"{where}.env.{k}") for k, v in service.env.items()}
    return ContainerPlan(
        image=image,
        argv=argv,
        env=env,
        port=port,
        config_path=config_path,
        config_text=config_text,
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
        scheme = "redis" if spec.services[name].health.kind == "redis" else "http"
        values[f"url:{name}"] = f"{scheme}://{name}:{port}"
        values[f"port:{name}"] = str(port)
        if name in proxied and spec.toxiproxy is not None:
            values[f"proxy_url:{name}"] = f"http://{spec.toxiproxy}:{listen[name]}"
            values[f"proxy_host:{name}"] = spec.toxiproxy
            values[f"proxy_port:{name}"] = str(listen[name])
    return values
