"""DockerBackend: the same :class:`StackSpec` as the local backend, one container per service.

Containers come from testcontainers-python 4.x and share a private bridge network
where each is reachable by its service name (a network alias). Only each service's
own port — gateway, Toxiproxy API, mock admin/stats, redis — and the Toxiproxy proxy
listeners are published, on 127.0.0.1 only; testcontainers is told to reach them
there (host override 127.0.0.1, connection mode ``docker_host``) rather than guess a
gateway address. Start-up follows ``StackSpec.startup_waves`` like the local backend,
with the same health module; a wave's containers start in parallel.

Which image runs a service:

=========================  ===========================================================
health ``redis``           ``images.redis`` (``redis:7-alpine``, or the local stand-in
                           scripts/docker-ci-images builds where no registry answers)
the ``toxiproxy:`` service ``images.toxiproxy`` (the official image) with chaos engine
                           ``docker``; our embedded one from ``images.services`` with
                           ``embedded``; ``auto`` takes the official image when it is
                           present or can be pulled
anything else              ``images.services`` (mock LLM, LiteLLM: our Dockerfile)
=========================  ===========================================================

Commands are the spec's, with the placeholders of the container world
(:func:`~pytest_aistack.stack.docker.engine.plan_container`): ``${host}`` is every
interface of the container (``CONTAINER_LISTEN_ADDRESS``) and ``${port}`` the fixed
container port, since a port must be known before a container starts to be
published. ``${url:NAME}`` and ``${proxy_url:NAME}`` name services by their alias on
the network.

Every container and the network carry the labels of
:mod:`~pytest_aistack.stack.docker.labels`; ``up()`` first removes what a crashed
earlier run left behind, ``down()`` removes this run's containers and network, also
after a failed start. One service's container (build, start, ports, logs) is
:mod:`~pytest_aistack.stack.docker.containers`.
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pytest_aistack.stack import runs
from pytest_aistack.stack.backend import Endpoint, Stack
from pytest_aistack.stack.docker.containers import (
    ServiceContainer,
    build_container,
    container_name,
    start_failure,
)
from pytest_aistack.stack.docker.engine import (
    CONTAINER_LISTEN_ADDRESS,
    DOCKER_API_TIMEOUT,
    HOST,
    DockerImages,
    DockerStackError,
    RyukMode,
    configure_testcontainers,
    docker_client,
    ensure_image,
    network_placeholders,
    plan_container,
    proxy_ports,
    refuse_host_paths,
    resolve_ryuk,
)
from pytest_aistack.stack.docker.labels import LeftoverRun, reap_leftovers, remove_run, run_labels
from pytest_aistack.stack.health import HealthTarget
from pytest_aistack.stack.spec import ServiceSpec, StackSpec
from pytest_aistack.stack.startup import (
    ProxyRequest,
    build_stack,
    check_dependencies_proxied,
    create_proxies,
    new_run,
    run_placeholders,
    save_run_record,
    wait_wave_healthy,
    wave_deadline,
)

if TYPE_CHECKING:
    from testcontainers.core.network import Network

    from pytest_aistack.settings import Settings

__all__ = ["ChaosEngineChoice", "DockerBackend"]

ChaosEngineChoice = Literal["auto", "embedded", "binary", "docker"]


class DockerBackend:
    """Runs a :class:`StackSpec` in containers; ``down()`` removes them all (idempotent)."""

    def __init__(
        self,
        spec: StackSpec,
        *,
        log_dir: Path,
        keep_up: bool = False,
        kind: str = "pytest",
        images: DockerImages | None = None,
        chaos_engine: ChaosEngineChoice = "auto",
        ryuk: RyukMode = "auto",
    ) -> None:
        if chaos_engine == "binary":
            raise DockerStackError(
                "chaos_engine 'binary' runs toxiproxy-server on the host and does not apply "
                "to the docker backend; use auto, docker (official image) or embedded"
            )
        refuse_host_paths(spec)
        self.spec = spec
        self.keep_up = keep_up
        self.kind = kind
        self.images = images or DockerImages()
        self.chaos_engine = chaos_engine
        self.ryuk_mode = ryuk
        self.run = new_run(log_dir)
        self.run_id, self.log_dir, self.master_key, self.admin_token = self.run
        self.timings: dict[str, float] = {}
        self.reaped: list[LeftoverRun] = []
        self._proxy_ports = proxy_ports(spec)
        self._proxies_created: set[str] = set()
        self._running: dict[str, ServiceContainer] = {}
        self._network: Network | None = None
        self._client: Any = None
        self._record: runs.RunRecord | None = None
        self._labels: dict[str, str] = {}
        self._toxiproxy_image = self.images.services
        self._stack: Stack | None = None

    @classmethod
    def from_settings(
        cls, spec: StackSpec, settings: Settings, *, kind: str = "pytest"
    ) -> DockerBackend:
        return cls(
            spec,
            log_dir=settings.report_dir,
            keep_up=settings.keep_up,
            kind=kind,
            images=DockerImages(
                services=settings.docker_services_image,
                redis=settings.docker_redis_image,
                toxiproxy=settings.docker_toxiproxy_image,
            ),
            chaos_engine=settings.chaos_engine,
            ryuk=settings.docker_ryuk,
        )

    # -- lifecycle ---------------------------------------------------------------------

    def up(self) -> Stack:
        started = time.monotonic()
        self._client = docker_client()
        # Before anything of ours exists: leftovers of a run whose owner died go first.
        self.reaped = reap_leftovers(self._client)
        for leftover in self.reaped:  # their run records (aistack status) go with them
            (runs.runs_dir() / f"{leftover.run_id}.json").unlink(missing_ok=True)
        self.timings["reap"] = time.monotonic() - started
        try:
            configure_testcontainers(resolve_ryuk(self._client, self.ryuk_mode))
            self._check_images()
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._labels = run_labels(self.run_id, kind=self.kind, kept=self.keep_up)
            # The same run record as the local backend's: `aistack status` lists this run
            # and `aistack down` stops it (remove_run removes its containers).
            self._record = save_run_record(self.run, kind=self.kind, kept=self.keep_up)
            self._create_network()
            for wave in self.spec.startup_waves():
                self._start_wave(wave)
            self._stack = self._build_stack()
        except BaseException:
            self._teardown()
            raise
        self.timings["total"] = time.monotonic() - started
        self._record.urls = {name: e.url for name, e in self._stack.endpoints.items()}
        self._record.services = {
            name: {"container": container_name(self.run_id, name)} for name in self._running
        }
        self._record.save()
        return self._stack

    def down(self) -> None:
        if self.keep_up and self._stack is not None:
            # Left running on purpose (labelled kept); `aistack down` removes it.
            self._release_clients()
            return
        self._teardown()

    def __enter__(self) -> Stack:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()

    def _teardown(self) -> None:
        import docker.errors

        for running in reversed(list(self._running.values())):
            running.save_logs(self.log_dir)
            # stop() removes the container and closes the client testcontainers opened
            # for it; NotFound: it was never created, or is gone already.
            with contextlib.suppress(docker.errors.NotFound):
                running.container.stop()
        self._running.clear()
        if self._client is not None:
            # One sweep by label removes anything left of this run (a container whose
            # start failed half-way, the network).
            remove_run(self._client, self.run_id)
        if self._record is not None:
            self._record.remove()
            self._record = None
        self._release_clients()
        self._stack = None

    def _release_clients(self) -> None:
        for running in self._running.values():
            running.container.get_docker_client().client.close()
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._network is not None:
            # testcontainers' Network keeps its own engine client open; nothing public
            # closes it, and an unclosed socket is a ResourceWarning at exit.
            with contextlib.suppress(AttributeError):
                self._network._docker.client.close()
            self._network = None

    # -- start-up ----------------------------------------------------------------------

    def _check_images(self) -> None:
        ensure_image(self._client, self.images.services, "docker_services_image")
        if any(s.health.kind == "redis" for s in self.spec.services.values()):
            ensure_image(self._client, self.images.redis, "docker_redis_image")
        if self.spec.toxiproxy is None or self.chaos_engine == "embedded":
            return
        if self.chaos_engine == "docker":
            ensure_image(self._client, self.images.toxiproxy, "docker_toxiproxy_image")
            self._toxiproxy_image = self.images.toxiproxy
            return
        with contextlib.suppress(DockerStackError):  # auto: the embedded one otherwise
            ensure_image(self._client, self.images.toxiproxy, "docker_toxiproxy_image")
            self._toxiproxy_image = self.images.toxiproxy

    def _create_network(self) -> None:
        from testcontainers.core.network import Network

        network = Network(
            docker_client_kw={"timeout": DOCKER_API_TIMEOUT},
            docker_network_kw={"labels": self._labels, "driver": "bridge"},
        )
        network.name = f"aistack-{self.run_id}"
        self._network = network.create()

    def _start_wave(self, wave: list[ServiceSpec]) -> None:
        wave_start = time.monotonic()
        for service in wave:
            check_dependencies_proxied(self.spec, service, self._proxies_created)
        prepared = [self._prepare(service) for service in wave]
        for running in prepared:
            self._running[running.spec.name] = running
        # Creating and starting a container is a few engine round trips each; a wave's
        # containers are independent, so they start side by side.
        with ThreadPoolExecutor(max_workers=len(prepared)) as pool:
            errors = list(pool.map(ServiceContainer.start, prepared))
        for running, error in zip(prepared, errors, strict=True):
            if error is not None:
                raise self._failure(running.spec.name, error)
        wait_wave_healthy(
            {
                r.spec.name: HealthTarget(HOST, r.host_ports[r.port], r.spec.health)
                for r in prepared
            },
            wave_start=wave_start,
            deadline=wave_deadline(wave, wave_start),
            exited=self._exit_reason,
            failure=self._failure,
            timings=self.timings,
        )
        self._create_proxies()

    def _prepare(self, service: ServiceSpec) -> ServiceContainer:
        plan = plan_container(
            self.spec,
            service,
            self._placeholders(),
            images=self.images,
            official_toxiproxy=self._toxiproxy_image != self.images.services,
        )
        assert self._network is not None
        return build_container(
            service,
            plan,
            run_id=self.run_id,
            network=self._network,
            run_labels=self._labels,
            log_dir=self.log_dir,
        )

    def _placeholders(self) -> dict[str, str]:
        ports = {name: running.port for name, running in self._running.items()}
        return {
            **run_placeholders(self.run),
            **network_placeholders(self.spec, ports, self._proxies_created),
        }

    def _create_proxies(self) -> None:
        toxiproxy = self.spec.toxiproxy
        if toxiproxy is None or toxiproxy not in self._running:
            return
        requests = [
            ProxyRequest(
                name,
                r.spec.proxy,
                f"{name}:{r.port}",
                f"{CONTAINER_LISTEN_ADDRESS}:{self._proxy_ports[name]}",
            )
            for name, r in self._running.items()
            if r.spec.proxy is not None and name not in self._proxies_created
        ]
        created = create_proxies(toxiproxy, self._url(toxiproxy), requests, self._failure)
        self._proxies_created.update(created)

    # -- results and errors -------------------------------------------------------------

    def _url(self, name: str) -> str:
        return self._running[name].url()

    def _exit_reason(self, name: str) -> str | None:
        return self._running[name].exit_reason()

    def _failure(self, name: str, why: str) -> DockerStackError:
        return start_failure(name, self._running.get(name), why, self.log_dir)

    def _build_stack(self) -> Stack:
        toxiproxy = self.spec.toxiproxy
        endpoints: dict[str, Endpoint] = {}
        internal: dict[str, str] = {}
        for name, running in self._running.items():
            proxy_listen = None
            if name in self._proxies_created and toxiproxy is not None:
                toxi = self._running[toxiproxy]
                proxy_port = self._proxy_ports[name]
                proxy_listen = f"{HOST}:{toxi.host_ports[proxy_port]}"
                internal[f"proxy:{name}"] = f"{toxiproxy}:{proxy_port}"
            internal[name] = f"{name}:{running.port}"
            endpoints[name] = Endpoint(
                name=name, url=self._url(name), proxy=running.spec.proxy, proxy_listen=proxy_listen
            )
        extra = {
            "run_id": self.run_id,
            "timings": dict(self.timings),
            "network": self._network.name if self._network is not None else None,
            "containers": {n: container_name(self.run_id, n) for n in self._running},
            "images": {n: r.image for n, r in self._running.items()},
            "internal_addresses": internal,
            "reaped_runs": [r.run_id for r in self.reaped],
        }
        return build_stack("docker", self.spec, self.run, endpoints, extra)
