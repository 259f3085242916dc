"""One service's container: built from its plan, started, its ports and logs read.

What the backend needs of a single container, apart from the start-up sequence that
orders them (:mod:`pytest_aistack.stack.docker.backend`). testcontainers is imported
inside functions, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pytest_aistack.stack.docker.engine import (
    HOST,
    ContainerPlan,
    DockerStackError,
    redis_container,
)
from pytest_aistack.stack.docker.labels import SERVICE
from pytest_aistack.stack.spec import ServiceSpec

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network

LOG_TAIL_LINES = 40


def container_name(run_id: str, service: str) -> str:
    return f"aistack-{run_id}-{service}"


@dataclass
class ServiceContainer:
    """A service's container and where its ports are published on 127.0.0.1."""

    spec: ServiceSpec
    container: DockerContainer
    image: str
    port: int  # inside the container
    host_ports: dict[int, int] = field(default_factory=dict)  # container port -> 127.0.0.1 port

    def start(self) -> str | None:
        """Start the container and read its published ports; why it failed, or None."""
        try:
            self.container.start()
            wrapped = self.container.get_wrapped_container()
            wrapped.reload()
            for key, bindings in (wrapped.attrs["NetworkSettings"]["Ports"] or {}).items():
                if bindings:
                    self.host_ports[int(key.split("/")[0])] = int(bindings[0]["HostPort"])
        except Exception as exc:  # reported per service by the caller, with the logs
            why = f"{type(exc).__name__}: {exc}"
            if exc.__cause__ is not None:  # testcontainers wraps a wait failure's cause
                why += f" (caused by {type(exc.__cause__).__name__}: {exc.__cause__})"
            return why
        if self.port not in self.host_ports:
            # An exited container has no port bindings left: say why it exited.
            return self.exit_reason() or f"port {self.port} not published"
        return None

    def url(self) -> str:
        return f"{self.spec.scheme}://{HOST}:{self.host_ports[self.port]}"

    def exit_reason(self) -> str | None:
        wrapped = self.container.get_wrapped_container()
        wrapped.reload()
        state = wrapped.attrs.get("State", {})
        if state.get("Status") in ("exited", "dead"):
            return f"container exited with code {state.get('ExitCode')}"
        return None

    def logs(self) -> str:
        try:
            raw: bytes = self.container.get_wrapped_container().logs()
        except Exception as exc:  # not created, or already gone
            return f"(no logs: {type(exc).__name__})"
        return raw.decode(errors="replace")

    def save_logs(self, log_dir: Path) -> None:
        with contextlib.suppress(OSError):
            (log_dir / f"{self.spec.name}.log").write_text(self.logs())


def build_container(
    service: ServiceSpec,
    plan: ContainerPlan,
    *,
    run_id: str,
    network: Network,
    run_labels: dict[str, str],
    log_dir: Path,
) -> ServiceContainer:
    """The (not yet started) container for ``service``, as ``plan`` describes it."""
    from testcontainers.core.container import DockerContainer

    container: DockerContainer
    if service.health.kind == "redis":
        container = redis_container(plan.image, service.startup_timeout)
    else:
        container = DockerContainer(plan.image)
    if plan.config_path is not None and plan.config_text is not None:
        container.with_copy_into_container(plan.config_text.encode(), plan.config_path)
        # Kept beside the container logs: what the service actually ran with.
        (log_dir / Path(plan.config_path).name).write_text(plan.config_text)
    container.with_command(plan.argv)
    container.with_envs(**plan.env)
    container.with_name(container_name(run_id, service.name))
    container.with_network(network).with_network_aliases(service.name)
    # testcontainers' with_bind_ports takes a host *port*; the host *address* goes
    # in as docker-py's (ip,) form, which publishes on 127.0.0.1 with a free port.
    ports = cast("dict[str, Any]", container.ports)
    for container_port in [plan.port, *plan.extra_ports]:
        ports[f"{container_port}/tcp"] = (HOST,)
    container.with_kwargs(labels={**run_labels, SERVICE: service.name})
    return ServiceContainer(spec=service, container=container, image=plan.image, port=plan.port)


def start_failure(
    name: str, running: ServiceContainer | None, why: str, log_dir: Path
) -> DockerStackError:
    """The error for a service that did not come up, with the tail of its log."""
    tail = "(not started)"
    if running is not None:
        tail = "\n".join(running.logs().splitlines()[-LOG_TAIL_LINES:]) or "(no output)"
    image = running.image if running is not None else "?"
    return DockerStackError(
        f"docker stack did not come up: {name} (image {image}): {why}\n"
        f"--- last lines of its container log (kept in {log_dir}) ---\n{tail}"
    )
