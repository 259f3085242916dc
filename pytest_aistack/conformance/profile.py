"""The ``conformance:`` section of a profile: which servers, what they promise, the bounds.

Only this section (and ``settings:``, read by :mod:`pytest_aistack.settings`) is read, so
a conformance profile needs no gateway, model groups or policy. Format:
docs/conformance.md. Every error names the file, the line, the key, what was expected
and what was found::

    my.yaml:12: conformance.servers.llm.drain.timeout_s: expected a number >= 0.001, got 'x' (str)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_aistack.errors import ConfigError
from pytest_aistack.stack.yaml_lines import Reader, load_with_lines, show

ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
EMBEDDINGS = "/v1/embeddings"


class ConformanceProfileError(ConfigError):
    """The conformance section is invalid; the message says where and how to fix it."""


@dataclass(frozen=True)
class StartupPromise:
    ready_within_s: float  # from process start to /readyz 200
    refusal_within_s: float  # a request while loading is answered 503 within this
    dependency_proxies: tuple[str, ...] = ()  # not ready while these proxies are down
    dependency_wait_s: float = 2.0  # how long it is held down in that check


@dataclass(frozen=True)
class SaturationPromise:
    max_concurrency: int  # requests served at once
    queue_depth: int  # requests that may wait for a slot
    queue_timeout_s: float  # a queued request gets 429 after this
    retry_after_max_s: float  # Retry-After on 429/503 is an integer in (0, this]
    shed_within_s: float  # a request over the queue depth gets 503 within this


@dataclass(frozen=True)
class DrainPromise:
    timeout_s: float  # SIGTERM: in-flight work may run this long, then the process exits


@dataclass(frozen=True)
class LimitsPromise:
    max_messages: int | None = None
    max_tokens: int | None = None
    max_inputs: int | None = None
    max_input_chars: int | None = None


@dataclass(frozen=True)
class BreakerPromise:
    name: str  # the breaker's service label / /health key
    proxy: str  # Toxiproxy proxy between the server and that dependency
    failures: int  # consecutive failures that open it
    open_s: float  # open this long before half-open
    health_path: str = "/health"
    health_state: str = "circuit_breakers.{name}.state"  # dotted path in the /health JSON
    metrics_path: str = "/metrics"
    state_metric: str = "circuit_breaker_state"  # suffix match: *_circuit_breaker_state
    failures_metric: str = "circuit_breaker_failures_total"

    def health_keys(self) -> list[str]:
        return self.health_state.replace("{name}", self.name).split(".")


@dataclass(frozen=True)
class ServerProfile:
    name: str
    service: str | None  # a stack-file service the harness starts and signals
    url: str  # an external server ("" when managed)
    endpoint: str
    request: Mapping[str, Any]
    long_request: Mapping[str, Any]  # merged into request: outlasts every bound
    short_request: Mapping[str, Any]  # merged into request: a stream that ends in ~1 s
    startup: StartupPromise | None = None
    saturation: SaturationPromise | None = None
    drain: DrainPromise | None = None
    limits: LimitsPromise | None = None
    breakers: tuple[BreakerPromise, ...] = ()
    liveness_path: str = "/healthz"  # 200 whenever the process is up (Kubernetes livenessProbe)
    readiness_path: str = "/readyz"  # 200 only while it serves (readinessProbe)

    @property
    def managed(self) -> bool:
        return self.service is not None

    def body(self, variant: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {**self.request, **(variant or {})}


@dataclass(frozen=True)
class ConformanceProfile:
    path: Path
    servers: Mapping[str, ServerProfile]
    toxiproxy_url: str = ""  # for external servers' breakers; "" = the stack's own
    settings: Mapping[str, Any] = field(default_factory=dict)


def load_conformance_profile(path: Path) -> ConformanceProfile:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConformanceProfileError(
            f"{path}: cannot read the profile ({exc.strerror}); point --aistack-profile at "
            "a profile with a conformance: section"
        ) from None
    data, lines = load_with_lines(text, path, ConformanceProfileError)
    return _Parser(path, lines, ConformanceProfileError).profile(data)


_SERVER_KEYS = ("service", "url", "endpoint", "liveness_path", "readiness_path", "request",
                "long_request", "short_request", "startup", "saturation", "drain", "limits",
                "breakers")  # fmt: skip
_BREAKER_KEYS = ("proxy", "failures", "open_s", "health_path", "health_state", "metrics_path",
                 "state_metric", "failures_metric")  # fmt: skip


class _Parser(Reader):
    """The shared typed reads (:class:`~pytest_aistack.stack.yaml_lines.Reader`);
    numbers here have defaults and a 0.001 floor, so ``bound`` reads them."""

    def bound(
        self,
        data: Mapping[str, Any],
        key: str,
        where: tuple[str, ...],
        *,
        integer: bool = False,
        minimum: float = 0.001,
        default: float | None = None,
    ) -> Any:
        value = data.get(key)
        kind = "a whole number" if integer else "a number"
        if value is None:
            if default is None:
                raise self.error((*where, key), f"is required; expected {kind} >= {minimum:g}")
            return default
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok or not math.isfinite(value) or value < minimum:
            raise self.error((*where, key), f"expected {kind} >= {minimum:g}, got {show(value)}")
        return value

    def profile(self, data: object) -> ConformanceProfile:
        top = self.mapping(data, ())
        if "conformance" not in top:
            raise self.error(
                (), "no conformance: section; add one naming the servers to check "
                "(docs/conformance.md), or use "
                "pytest_aistack/reference_stack/aistack-conformance.yaml"
            )  # fmt: skip
        where = ("conformance",)
        section = self.mapping(top["conformance"], where, ("servers", "toxiproxy_url"))
        raw_servers = self.mapping(section.get("servers"), (*where, "servers"))
        if not raw_servers:
            raise self.error((*where, "servers"), "expected at least one server")
        servers = {
            name: self.server(name, body, (*where, "servers", name))
            for name, body in raw_servers.items()
        }
        return ConformanceProfile(
            path=self.path,
            servers=servers,
            toxiproxy_url=self.string(section, "toxiproxy_url", where, "").rstrip("/"),
            settings=self.mapping(top.get("settings"), ("settings",)),
        )

    def server(self, name: str, body: object, where: tuple[str, ...]) -> ServerProfile:
        s = self.mapping(body, where, _SERVER_KEYS)
        service = self.string(s, "service", where, "") or None
        url = self.string(s, "url", where, "").rstrip("/")
        if (service is None) == (not url):
            raise self.error(
                where, "give exactly one of service: (a stack-file service the harness starts) "
                "or url: (a server that is already running)"
            )  # fmt: skip
        endpoint = self.string(s, "endpoint", where, "/v1/chat/completions")
        if endpoint not in ENDPOINTS:
            raise self.error((*where, "endpoint"), f"expected one of {', '.join(ENDPOINTS)}")
        request = self.mapping(s.get("request"), (*where, "request"))
        if "model" not in request:
            raise self.error((*where, "request"), "expected a request body with a model:")
        paths = {}
        for key, default in (("liveness_path", "/healthz"), ("readiness_path", "/readyz")):
            paths[key] = self.string(s, key, where, default)
            if not paths[key].startswith("/"):
                raise self.error((*where, key), f"expected a path like {default}")
        limits = self.limits(s.get("limits"), (*where, "limits"))
        if limits is not None and limits.max_messages is not None and endpoint != ENDPOINTS[0]:
            raise self.error(
                (*where, "limits", "max_messages"), "is a chat limit; set endpoint: "
                "/v1/chat/completions"
            )  # fmt: skip
        if (
            limits is not None
            and endpoint != EMBEDDINGS
            and (limits.max_inputs is not None or limits.max_input_chars is not None)
        ):
            raise self.error(
                (*where, "limits"), "max_inputs / max_input_chars are embeddings limits; "
                "set endpoint: /v1/embeddings"
            )  # fmt: skip
        return ServerProfile(
            name=name,
            service=service,
            url=url,
            endpoint=endpoint,
            request=request,
            long_request=self.mapping(s.get("long_request"), (*where, "long_request")),
            short_request=self.mapping(s.get("short_request"), (*where, "short_request")),
            startup=self.startup(s.get("startup"), (*where, "startup")),
            saturation=self.saturation(s.get("saturation"), (*where, "saturation")),
            drain=self.drain(s.get("drain"), (*where, "drain")),
            limits=limits,
            breakers=self.breakers(s.get("breakers"), (*where, "breakers")),
            **paths,
        )

    def startup(self, raw: object, where: tuple[str, ...]) -> StartupPromise | None:
        if raw is None:
            return None
        keys = ("ready_within_s", "refusal_within_s", "dependency_proxies", "dependency_wait_s")
        p = self.mapping(raw, where, keys)
        proxies = p.get("dependency_proxies", [])
        if not isinstance(proxies, list) or not all(isinstance(x, str) for x in proxies):
            raise self.error((*where, "dependency_proxies"), "expected a list of proxy names")
        return StartupPromise(
            ready_within_s=float(self.bound(p, "ready_within_s", where)),
            refusal_within_s=float(self.bound(p, "refusal_within_s", where, default=1.0)),
            dependency_proxies=tuple(proxies),
            dependency_wait_s=float(self.bound(p, "dependency_wait_s", where, default=2.0)),
        )

    def saturation(self, raw: object, where: tuple[str, ...]) -> SaturationPromise | None:
        if raw is None:
            return None
        keys = ("max_concurrency", "queue_depth", "queue_timeout_s", "retry_after_max_s",
                "shed_within_s")  # fmt: skip
        p = self.mapping(raw, where, keys)
        promise = SaturationPromise(
            max_concurrency=self.bound(p, "max_concurrency", where, integer=True, minimum=1),
            queue_depth=self.bound(p, "queue_depth", where, integer=True, minimum=0),
            queue_timeout_s=float(self.bound(p, "queue_timeout_s", where)),
            retry_after_max_s=float(self.bound(p, "retry_after_max_s", where, minimum=1)),
            shed_within_s=float(self.bound(p, "shed_within_s", where, default=0.5)),
        )
        if promise.shed_within_s >= promise.queue_timeout_s:
            raise self.error(
                (*where, "shed_within_s"), "must be below queue_timeout_s, or a queue timeout "
                "could pass for shedding"
            )  # fmt: skip
        return promise

    def drain(self, raw: object, where: tuple[str, ...]) -> DrainPromise | None:
        if raw is None:
            return None
        p = self.mapping(raw, where, ("timeout_s",))
        return DrainPromise(timeout_s=float(self.bound(p, "timeout_s", where)))

    def limits(self, raw: object, where: tuple[str, ...]) -> LimitsPromise | None:
        if raw is None:
            return None
        keys = ("max_messages", "max_tokens", "max_inputs", "max_input_chars")
        p = self.mapping(raw, where, keys)
        values = {
            key: self.bound(p, key, where, integer=True, minimum=1) if key in p else None
            for key in keys
        }
        return LimitsPromise(**values)

    def breakers(self, raw: object, where: tuple[str, ...]) -> tuple[BreakerPromise, ...]:
        result = []
        for name, body in self.mapping(raw, where).items():
            at = (*where, name)
            b = self.mapping(body, at, _BREAKER_KEYS)
            proxy = self.string(b, "proxy", at, "")
            if not proxy:
                raise self.error((*at, "proxy"), "is required: the Toxiproxy proxy to cut")
            defaults = BreakerPromise(name, proxy, 1, 1.0)
            strings = {
                key: self.string(b, key, at, getattr(defaults, key)) for key in _BREAKER_KEYS[3:]
            }
            result.append(
                BreakerPromise(
                    name=name,
                    proxy=proxy,
                    failures=self.bound(b, "failures", at, integer=True, minimum=1),
                    open_s=float(self.bound(b, "open_s", at)),
                    **strings,
                )
            )
        return tuple(result)
