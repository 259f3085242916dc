"""What a stack is made of, independent of how it is run.

``stack.yaml`` declares the services of a stack; :func:`load_stack_spec` parses it
into a :class:`StackSpec`. A backend
(:class:`~pytest_aistack.stack.backend.StackBackend`) turns a spec into running
services; nothing here knows about processes or containers.

The ``stack.yaml`` format (every key except ``command`` optional)::

    gateway: gateway            # the service clients talk to
    gateway_replicas: [gateway-2]   # more instances of the same gateway (shared state)
    toxiproxy: toxiproxy        # the service that hosts the proxies
    services:
      vllm-a:
        command: ["${python}", "-m", "pytest_aistack.cli", "mock-llm",
                  "--host", "${host}", "--port", "${port}"]
        port: announce          # announce (binds ${port} 0, prints AISTACK_READY) | pick
        health: {http: /health} # {http: PATH} | {tcp: true} | {redis: true}
        proxy: vllm-a           # a Toxiproxy proxy of that name fronts this service
        depends_on: [toxiproxy]
        env: {KEY: value}
        config_template: gateway/litellm.yaml   # rendered to ${config} per run
        startup_timeout: 20     # seconds until healthy

Placeholders in ``command``, ``env`` values and the config template are written
``${name}`` or ``${name:SERVICE}`` (:mod:`pytest_aistack.stack.placeholders` lists
them); a service listens on ``${host}`` and ``${port}``, which each backend fills in
for its world. An unknown one is an error when the file is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from pytest_aistack.errors import ConfigError
from pytest_aistack.runtime.text_files import read_utf8
from pytest_aistack.stack import placeholders
from pytest_aistack.stack.placeholders import Placeholder

PortMode = Literal["announce", "pick"]
HealthKind = Literal["http", "tcp", "redis"]

DEFAULT_STARTUP_TIMEOUT = 20.0


class StackSpecError(ConfigError):
    """stack.yaml is malformed; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class HealthCheck:
    """How to tell a service is ready: an HTTP 2xx on ``path``, a TCP accept, a redis PONG."""

    kind: HealthKind
    path: str = "/"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    command: tuple[str, ...]
    port: PortMode = "announce"
    health: HealthCheck = HealthCheck("tcp")
    proxy: str | None = None
    depends_on: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    config_template: Path | None = None
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT

    @property
    def scheme(self) -> str:
        """The scheme of its URL: ``redis`` for a redis health check, else ``http``."""
        return "redis" if self.health.kind == "redis" else "http"

    def read_config_template(self, spec_path: Path) -> str | None:
        """The text of ``config_template`` (``None`` without one); an error names the key."""
        if self.config_template is None:
            return None
        try:
            return self.config_template.read_text()
        except OSError as exc:
            raise StackSpecError(
                f"{spec_path}: services.{self.name}.config_template: {exc}"
            ) from None


@dataclass(frozen=True)
class StackSpec:
    path: Path
    services: Mapping[str, ServiceSpec]
    gateway: str | None = None
    toxiproxy: str | None = None
    # More instances of the gateway, sharing its state (e.g. its cooldowns in Redis).
    gateway_replicas: tuple[str, ...] = ()

    def startup_waves(self) -> list[list[ServiceSpec]]:
        """Services grouped so that each wave only depends on earlier waves.

        Services of one wave are independent and may start in parallel.
        """
        done: set[str] = set()
        waves: list[list[ServiceSpec]] = []
        remaining = dict(self.services)
        while remaining:
            wave = [s for s in remaining.values() if set(s.depends_on) <= done]
            if not wave:
                cycle = ", ".join(sorted(remaining))
                raise StackSpecError(
                    f"{self.path}: services {cycle} depend on each other in a cycle; "
                    "remove one depends_on edge"
                )
            waves.append(wave)
            for service in wave:
                done.add(service.name)
                del remaining[service.name]
        return waves

    @property
    def proxied(self) -> dict[str, ServiceSpec]:
        """Services the gateway reaches only through a Toxiproxy proxy, by proxy name."""
        return {s.proxy: s for s in self.services.values() if s.proxy is not None}


# ---------------------------------------------------------------------------------------
# parsing

_SERVICE_KEYS = {
    "command",
    "port",
    "health",
    "proxy",
    "depends_on",
    "env",
    "config_template",
    "startup_timeout",
}


STACK_FILE_FIX = (
    "point stack_file (--aistack-stack-file, AISTACK_STACK_FILE) at a stack.yaml, or save "
    'this one as UTF-8 (docs/configuration.md, "Stack files")'
)


def load_stack_spec(path: Path) -> StackSpec:
    try:
        text = read_utf8(path, what="a stack file", fix=STACK_FILE_FIX, error=StackSpecError)
        raw = yaml.safe_load(text)
    except FileNotFoundError:
        raise StackSpecError(f"{path}: no such stack file") from None
    except OSError as exc:  # a directory, no permission
        raise StackSpecError(
            f"{path}: cannot read the stack file ({exc.strerror or exc}); {STACK_FILE_FIX}"
        ) from None
    except yaml.YAMLError as exc:
        raise StackSpecError(f"{path}: not valid YAML: {exc}") from None
    return parse_stack_spec(raw, path)


def parse_stack_spec(raw: object, path: Path) -> StackSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("services"), dict):
        raise StackSpecError(f"{path}: expected a mapping with a 'services:' mapping at the top")
    services: dict[str, ServiceSpec] = {}
    for name, body in raw["services"].items():
        services[str(name)] = _parse_service(str(name), body, path)
    for service in services.values():
        for dep in service.depends_on:
            if dep not in services:
                raise StackSpecError(
                    f"{path}: services.{service.name}.depends_on names {dep!r}, "
                    f"which is not a service; known: {', '.join(sorted(services))}"
                )
    proxies = [s.proxy for s in services.values() if s.proxy is not None]
    duplicates = sorted({p for p in proxies if proxies.count(p) > 1})
    if duplicates:
        raise StackSpecError(
            f"{path}: proxy name(s) {', '.join(duplicates)} used by more than one service"
        )
    roles: dict[str, str | None] = {}
    for role in ("gateway", "toxiproxy"):
        value = raw.get(role)
        if value is not None and value not in services:
            raise StackSpecError(
                f"{path}: {role}: {value!r} is not a service; known: {', '.join(sorted(services))}"
            )
        roles[role] = value
    replicas = _parse_gateway_replicas(
        raw.get("gateway_replicas"), roles["gateway"], services, path
    )
    unknown = set(raw) - {"services", "gateway", "gateway_replicas", "toxiproxy"}
    if unknown:
        raise StackSpecError(
            f"{path}: unknown top-level key(s) {', '.join(sorted(map(str, unknown)))}; "
            "allowed: services, gateway, gateway_replicas, toxiproxy"
        )
    if proxies and roles["toxiproxy"] is None:
        raise StackSpecError(
            f"{path}: services declare proxies but no 'toxiproxy: <service>' names the proxy host"
        )
    spec = StackSpec(
        path=path,
        services=services,
        gateway=roles["gateway"],
        toxiproxy=roles["toxiproxy"],
        gateway_replicas=replicas,
    )
    _check_placeholders(spec)  # also rejects cycles (startup_waves) now, not at start-up
    return spec


def _parse_gateway_replicas(
    raw: object, gateway: str | None, services: Mapping[str, ServiceSpec], path: Path
) -> tuple[str, ...]:
    if raw is None:
        return ()
    where = f"{path}: gateway_replicas"
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise StackSpecError(f"{where}: expected a list of service names, got {raw!r}")
    if gateway is None:
        raise StackSpecError(f"{where}: needs 'gateway: <service>', the instance they replicate")
    for name in raw:
        if name not in services:
            raise StackSpecError(
                f"{where}: {name!r} is not a service; known: {', '.join(sorted(services))}"
            )
        if name == gateway or raw.count(name) > 1:
            raise StackSpecError(f"{where}: {name!r} is named twice (the gateway is {gateway!r})")
    return tuple(raw)


def _parse_service(name: str, body: object, path: Path) -> ServiceSpec:
    where = f"{path}: services.{name}"
    if not isinstance(body, dict):
        raise StackSpecError(f"{where}: expected a mapping, got {type(body).__name__}")
    unknown = set(body) - _SERVICE_KEYS
    if unknown:
        raise StackSpecError(
            f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            f"allowed: {', '.join(sorted(_SERVICE_KEYS))}"
        )
    command = body.get("command")
    if (
        not isinstance(command, list)
        or not command
        or not all(isinstance(a, str | int | float) for a in command)
    ):
        raise StackSpecError(f"{where}.command: expected a non-empty list of strings")
    port = body.get("port", "announce")
    if port not in ("announce", "pick"):
        raise StackSpecError(f"{where}.port: expected 'announce' or 'pick', got {port!r}")
    depends_on = body.get("depends_on", [])
    if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
        raise StackSpecError(f"{where}.depends_on: expected a list of service names")
    env = body.get("env", {})
    if not isinstance(env, dict):
        raise StackSpecError(f"{where}.env: expected a mapping of NAME: value")
    proxy = body.get("proxy")
    if proxy is not None and not isinstance(proxy, str):
        raise StackSpecError(f"{where}.proxy: expected a proxy name (string), got {proxy!r}")
    timeout = body.get("startup_timeout", DEFAULT_STARTUP_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise StackSpecError(f"{where}.startup_timeout: expected seconds > 0, got {timeout!r}")
    template = body.get("config_template")
    return ServiceSpec(
        name=name,
        command=tuple(str(a) for a in command),
        port=port,
        health=_parse_health(body.get("health", {"tcp": True}), where),
        proxy=proxy,
        depends_on=tuple(depends_on),
        env={str(k): str(v) for k, v in env.items()},
        config_template=(path.parent / str(template)) if template is not None else None,
        startup_timeout=float(timeout),
    )


def _parse_health(raw: object, where: str) -> HealthCheck:
    if isinstance(raw, dict) and len(raw) == 1:
        ((kind, value),) = raw.items()
        if kind == "http" and isinstance(value, str) and value.startswith("/"):
            return HealthCheck("http", value)
        if kind in ("tcp", "redis") and value is True:
            return HealthCheck(kind)
    raise StackSpecError(
        f"{where}.health: expected one of {{http: /path}}, {{tcp: true}}, {{redis: true}}, "
        f"got {raw!r}"
    )


# ---------------------------------------------------------------------------------------
# placeholders


def _check_placeholders(spec: StackSpec) -> None:
    """Every placeholder of every service is one a backend can fill in."""
    earlier: set[str] = set()
    for wave in spec.startup_waves():
        for service in wave:
            where = f"{spec.path}: services.{service.name}"
            texts = [(f"{where}.command", arg) for arg in service.command]
            texts += [(f"{where}.env.{key}", value) for key, value in service.env.items()]
            template = service.read_config_template(spec.path)
            if template is not None:
                texts.append((f"{where}.config_template ({service.config_template})", template))
            for key, text in texts:
                for placeholder in placeholders.find(text):
                    problem = _placeholder_problem(spec, service, placeholder, earlier)
                    if problem is not None:
                        raise StackSpecError(f"{key}: {placeholder} {problem}")
        earlier.update(service.name for service in wave)


def _placeholder_problem(
    spec: StackSpec, service: ServiceSpec, placeholder: Placeholder, earlier: set[str]
) -> str | None:
    name, other = placeholder.name, placeholder.service
    if other is None:
        if name not in placeholders.OWN_NAMES:
            return f"is not a placeholder; allowed: {placeholders.allowed()}"
        if name == "config" and service.config_template is None:
            return "needs a config_template: to render"
        return None
    if name not in placeholders.SERVICE_NAMES:
        return f"is not a placeholder; allowed: {placeholders.allowed()}"
    if other not in spec.services:
        return f"names no service; known: {', '.join(sorted(spec.services))}"
    if other not in earlier:
        return (
            f"names {other}, which must start first: add it to services.{service.name}.depends_on"
        )
    if name in placeholders.PROXY_NAMES and spec.services[other].proxy is None:
        return f"needs a proxy in front of {other}: give services.{other} a proxy: name"
    return None


def render_placeholders(text: str, values: Mapping[str, str], where: str) -> str:
    """Replace ``${name}`` / ``${name:service}`` from ``values`` (keys ``name`` / ``name:service``).

    An unknown placeholder is an error naming ``where`` and the names that are known,
    rather than a config silently pointing at nothing.
    """
    try:
        return placeholders.substitute(text, values)
    except placeholders.MissingValue as exc:
        known = ", ".join(sorted(values))
        raise StackSpecError(
            f"{where}: unknown placeholder {exc.placeholder}; known here: {known}"
        ) from None
