"""What the local and the docker backend share while they start a stack.

Both run the same :class:`StackSpec` wave by wave; they differ in where a service
runs (a process, a container) and so in its addresses. Everything that does not
depend on that is here: the run's identity and keys, rendering a service's command,
environment and config, the check that a dependency's proxy exists, the health wait
of a wave, creating the Toxiproxy proxies and the :class:`Stack` that ``up()`` returns.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from pytest_aistack.chaos.client import ToxiproxyClient, ToxiproxyError
from pytest_aistack.stack import runs
from pytest_aistack.stack.backend import Endpoint, Secret, Stack
from pytest_aistack.stack.health import HealthTarget, HealthTimeout, wait_until_healthy
from pytest_aistack.stack.spec import (
    ServiceSpec,
    StackSpec,
    StackSpecError,
    render_placeholders,
)

# name, why -> the error to raise: each backend's carries its own logs.
Failure = Callable[[str, str], Exception]


class RunIdentity(NamedTuple):
    run_id: str
    log_dir: Path  # <report dir>/stack-<run id>
    master_key: Secret
    admin_token: Secret


def new_run(report_dir: Path) -> RunIdentity:
    """A fresh run id, its log directory and its per-run keys."""
    run_id = secrets.token_hex(6)
    return RunIdentity(
        run_id=run_id,
        log_dir=report_dir / f"stack-{run_id}",
        master_key=Secret("sk-aistack-" + secrets.token_urlsafe(24)),
        admin_token=Secret(secrets.token_urlsafe(24)),
    )


def save_run_record(run: RunIdentity, *, kind: str, kept: bool = False) -> runs.RunRecord:
    """The run's record (``aistack status``/``down``), saved before any service starts:
    a crash half-way is found and cleaned up as well."""
    record = runs.RunRecord(
        run_id=run.run_id,
        owner_pid=os.getpid(),
        owner_start=runs.own_start_time(),
        kind=kind,
        kept=kept,
        log_dir=str(run.log_dir),
    )
    record.save()
    return record


def run_placeholders(run: RunIdentity) -> dict[str, str]:
    """The placeholders that are the same for every service of a run, in any backend."""
    return {"admin_token": run.admin_token.value, "master_key": run.master_key.value}


def service_placeholders(
    name: str, url: str, port: int, proxy: tuple[str, int] | None
) -> dict[str, str]:
    """``${url:NAME}``, ``${port:NAME}`` and, with a proxy (host, port), ``${proxy_*:NAME}``."""
    values = {f"url:{name}": url, f"port:{name}": str(port)}
    if proxy is not None:
        host, proxy_port = proxy
        values[f"proxy_url:{name}"] = f"http://{host}:{proxy_port}"
        values[f"proxy_host:{name}"] = host
        values[f"proxy_port:{name}"] = str(proxy_port)
    return values


def config_file_name(service: ServiceSpec) -> str:
    """Where the rendered config_template goes, in whichever directory: ``NAME.config.yaml``."""
    suffix = service.config_template.suffix if service.config_template is not None else ""
    return f"{service.name}.config{suffix}"


@dataclass(frozen=True)
class RenderedService:
    argv: list[str]
    env: dict[str, str]
    config_text: str | None  # the rendered config_template, for ${config} to point at


def render_service(
    spec: StackSpec, service: ServiceSpec, values: Mapping[str, str], *, config_path: str
) -> RenderedService:
    """``service``'s command, env and config with ``values`` filled in.

    ``config_path`` is where the caller puts the rendered config (``${config}``).
    """
    where = f"{spec.path}: services.{service.name}"
    values = dict(values)
    config_text = None
    template = service.read_config_template(spec.path)
    if template is not None:
        config_text = render_placeholders(template, values, str(service.config_template))
        values["config"] = config_path
    argv = [render_placeholders(a, values, f"{where}.command") for a in service.command]
    env = {k: render_placeholders(v, values, f"{where}.env.{k}") for k, v in service.env.items()}
    return RenderedService(argv=argv, env=env, config_text=config_text)


def check_dependencies_proxied(
    spec: StackSpec, service: ServiceSpec, proxied: Collection[str]
) -> None:
    """Every dependency of ``service`` that sits behind a proxy has it (``proxied``) by now."""
    for dep in service.depends_on:
        if spec.services[dep].proxy is not None and dep not in proxied:
            raise StackSpecError(
                f"{spec.path}: services.{service.name} depends on {dep}, which is "
                f"reached through a proxy, but the proxy host {spec.toxiproxy!r} "
                f"starts later; add it to services.{service.name}.depends_on"
            )


def wave_deadline(wave: Iterable[ServiceSpec], wave_start: float) -> float:
    return wave_start + max(s.startup_timeout for s in wave)


def wait_wave_healthy(
    targets: Mapping[str, HealthTarget],
    *,
    wave_start: float,
    deadline: float,
    exited: Callable[[str], str | None],
    failure: Failure,
    timings: dict[str, float],
) -> None:
    """Wait for the wave's health checks; record each service's seconds since the wave began."""
    health_start = time.monotonic()
    try:
        took = wait_until_healthy(targets, max(0.1, deadline - time.monotonic()), exited=exited)
    except HealthTimeout as exc:
        name = sorted(exc.failures)[0]
        raise failure(name, str(exc)) from None
    for name, seconds in took.items():
        timings[name] = health_start - wave_start + seconds


class ProxyRequest(NamedTuple):
    service: str
    proxy: str  # the proxy's name
    upstream: str  # host:port Toxiproxy connects to
    listen: str  # host:port it listens on (port 0: any free one)


def create_proxies(
    toxiproxy: str, api_url: str, requests: Iterable[ProxyRequest], failure: Failure
) -> dict[str, str]:
    """Create each proxy on the Toxiproxy service ``toxiproxy``; service -> listen address.

    The address is the one Toxiproxy reports, so a port 0 comes back as the port it bound.
    """
    created: dict[str, str] = {}
    with ToxiproxyClient(api_url, timeout=5.0) as client:
        for request in requests:
            try:
                proxy = client.create_proxy(request.proxy, request.upstream, listen=request.listen)
            except ToxiproxyError as exc:
                raise failure(
                    toxiproxy, f"creating proxy {request.proxy!r} -> {request.upstream}: {exc}"
                ) from None
            created[request.service] = proxy.listen
    return created


def build_stack(
    backend: str,
    spec: StackSpec,
    run: RunIdentity,
    endpoints: dict[str, Endpoint],
    extra: Mapping[str, Any],
) -> Stack:
    gateway = spec.gateway
    toxiproxy = spec.toxiproxy
    return Stack(
        backend=backend,
        gateway_url=endpoints[gateway].url if gateway else "",
        gateway_key=run.master_key,
        toxiproxy_url=endpoints[toxiproxy].url if toxiproxy else None,
        endpoints=endpoints,
        gateway_replica_urls=tuple(endpoints[name].url for name in spec.gateway_replicas),
        admin_token=run.admin_token,
        log_dir=run.log_dir,
        extra=dict(extra),
    )
