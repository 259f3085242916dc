"""Probes: is a backend, Redis or Docker engine really there? Each call has a deadline.

A probe makes one cheap, real request (``GET /v1/models``, ``PING`` over RESP,
``GET /_ping`` on the Docker socket) and returns a :class:`ProbeResult` saying what
it did, what happened and how long it took. :func:`run_probes` runs many at once
on a private event loop in a worker thread, so it works whether or not the caller
already has a loop running, and bounds each probe by ``timeout`` seconds in total.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import importlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import httpx


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    action: str  # what was done, e.g. "GET /v1/models"
    detail: str  # what happened, e.g. "200", "connection refused", "HTTP 503"
    elapsed_ms: float
    # Model ids listed by the server, when the probe reads a model list.
    models: tuple[str, ...] | None = None

    def describe(self) -> str:
        """``GET /v1/models: connection refused after 2 ms``."""
        return f"{self.action}: {self.detail} after {round(self.elapsed_ms)} ms"


# A probe body gets the per-probe timeout (for its own socket timeouts) and reports
# (ok, action, detail, models); the runner measures the time and enforces the deadline.
ProbeOutcome = tuple[bool, str, str, tuple[str, ...] | None]
ProbeBody = Callable[[float], Awaitable[ProbeOutcome]]


@dataclass(frozen=True)
class Probe:
    kind: str  # "vllm", "redis", ...
    where: str  # the target as shown to users (passwords masked)
    action: str  # the first action, reported if the deadline passes
    body: ProbeBody

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.where)


class ProbeError(Exception):
    """A probe ran past the thread deadline; probes' own deadlines should prevent this."""


def run_probes(probes: Sequence[Probe], timeout: float) -> list[ProbeResult]:
    """Run ``probes`` concurrently, each bounded by ``timeout`` s; results in order."""
    if not probes:
        return []
    results: list[list[ProbeResult]] = []
    failure: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(asyncio.run(_gather(probes, timeout)))
        except BaseException as exc:
            failure.append(exc)

    _warm_up()
    thread = threading.Thread(target=worker, name="aistack-probes", daemon=True)
    thread.start()
    # Each probe is bounded by wait_for; the margin covers loop start-up and teardown.
    thread.join(timeout + 10.0)
    if failure:
        raise failure[0]
    if not results:
        raise ProbeError(f"probes did not finish within {timeout + 10.0:.0f} s")
    return results[0]


async def _gather(probes: Sequence[Probe], limit: float) -> list[ProbeResult]:
    return list(await asyncio.gather(*(_bounded(probe, limit) for probe in probes)))


async def _bounded(probe: Probe, limit: float) -> ProbeResult:
    start = time.perf_counter()
    try:
        ok, action, detail, models = await asyncio.wait_for(probe.body(limit), limit)
    except TimeoutError:
        ok, action, detail, models = False, probe.action, "timed out", None
    except Exception as exc:  # any failure is a probe result, never a crash
        ok, action, detail, models = False, probe.action, describe_error(exc), None
    return ProbeResult(ok, action, detail, (time.perf_counter() - start) * 1000.0, models)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def describe_error(exc: BaseException) -> str:
    """A short, user-facing description of a connection failure."""
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve host ({cause.strerror})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error ({cause.reason or cause})"
        if isinstance(cause, OSError) and cause.errno is not None:
            known = {
                errno.ECONNREFUSED: "connection refused",
                errno.ECONNRESET: "connection reset",
                errno.ENOENT: "no such socket",
                errno.EACCES: "permission denied",
                errno.EHOSTUNREACH: "host unreachable",
                errno.ENETUNREACH: "network unreachable",
                errno.ETIMEDOUT: "timed out",
            }
            return known.get(cause.errno, f"{os.strerror(cause.errno).lower()}")
    for cause in _causes(exc):
        if isinstance(cause, httpx.TimeoutException | TimeoutError):
            return "timed out"
        if isinstance(cause, httpx.RemoteProtocolError):
            return f"not an HTTP server ({cause})"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and headers)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


# --- HTTP probes ----------------------------------------------------------------------


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Built once, before any probe is timed: loading the CA bundle takes tens of ms,
    # which would otherwise show up as the first probe's latency.
    return httpx.create_ssl_context()


@functools.cache
def _warm_up() -> None:
    # httpx imports its connection pool and the anyio backend on the first request
    # (~70 ms here); done inside the timed window it would inflate every probe's figure.
    _tls_context()
    for module in ("httpcore", "httpcore._backends.anyio", "anyio._backends._asyncio"):
        importlib.import_module(module)


def _client(limit: float, **kwargs: Any) -> httpx.AsyncClient:
    # trust_env=False: a proxy configured in the environment must not reroute a probe
    # of a local server; the cloud probe opts back in.
    kwargs.setdefault("trust_env", False)
    if "transport" not in kwargs:
        kwargs["verify"] = _tls_context()
    return httpx.AsyncClient(timeout=httpx.Timeout(limit), follow_redirects=False, **kwargs)


def _http_detail(response: httpx.Response) -> str:
    body = response.text.strip().replace("\n", " ")
    snippet = f": {body[:80]}" if body else ""
    return f"HTTP {response.status_code}{snippet}"


def _json_list(response: httpx.Response, list_key: str, id_key: str) -> tuple[str, ...] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get(list_key), list):
        return None
    items = data[list_key]
    if not all(isinstance(item, dict) and isinstance(item.get(id_key), str) for item in items):
        return None
    return tuple(item[id_key] for item in items)


def openai_models_probe(
    kind: str, base_url: str, headers: dict[str, str] | None = None, *, trust_env: bool = False
) -> Probe:
    """``GET {base_url}/v1/models`` must answer 200 with ``{"data": [{"id": ...}]}``.

    The list shape is OpenAI's ``GET /v1/models`` (also served by vLLM and LiteLLM).
    """
    return _model_list_probe(
        kind, base_url, "/v1/models", ("data", "id"), "an OpenAI model list",
        headers=headers, trust_env=trust_env,
    )  # fmt: skip


def ollama_tags_probe(base_url: str) -> Probe:
    """``GET {base_url}/api/tags`` must answer 200 with ``{"models": [{"name": ...}]}``.

    The shape is Ollama's documented ``/api/tags`` response (docs/api.md, "List Local Models").
    """
    return _model_list_probe(
        "ollama", base_url, "/api/tags", ("models", "name"), "an Ollama model list"
    )


def _model_list_probe(
    kind: str,
    base_url: str,
    path: str,
    keys: tuple[str, str],
    shape: str,
    *,
    headers: dict[str, str] | None = None,
    trust_env: bool = False,
) -> Probe:
    """``GET {base_url}{path}`` answering 200 with a list of models (``keys``: the list's
    key and each model's id key); ``shape`` names the list in the failure detail."""
    action = f"GET {path}"

    async def body(limit: float) -> ProbeOutcome:
        async with _client(limit, headers=headers, trust_env=trust_env) as client:
            response = await client.get(f"{base_url}{path}")
        if response.status_code != 200:
            return False, action, _http_detail(response), None
        models = _json_list(response, *keys)
        if models is None:
            return False, action, f"200 but not {shape}", None
        return True, action, "200", models

    return Probe(kind, base_url, action, body)


def health_probe(kind: str, base_url: str, paths: Sequence[str]) -> Probe:
    """The first of ``paths`` to answer 2xx wins; a 404 moves on to the next path."""
    first = f"GET {paths[0]}"

    async def body(limit: float) -> ProbeOutcome:
        details: list[str] = []
        async with _client(limit) as client:
            for path in paths:
                response = await client.get(f"{base_url}{path}")
                if response.is_success:
                    return True, f"GET {path}", str(response.status_code), None
                details.append(f"{path} {_http_detail(response)}")
                if response.status_code != 404:
                    break
        return False, f"GET {paths[0]}", ", ".join(details), None

    return Probe(kind, base_url, first, body)


def docker_probe(docker_host: str | None = None) -> Probe:
    """``GET /_ping`` on the Docker engine API (answers ``OK``), like ``docker info`` does first.

    The engine is found as the Docker CLI finds it: ``DOCKER_HOST`` (``unix://`` or
    ``tcp://``), else ``/var/run/docker.sock``.
    """
    host = docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    action = "GET /_ping"
    parts = urlsplit(host)

    async def body(limit: float) -> ProbeOutcome:
        if parts.scheme == "unix":
            transport = httpx.AsyncHTTPTransport(uds=parts.path, verify=_tls_context())
            base = "http://docker"
        elif parts.scheme in ("tcp", "http", "https"):
            transport = httpx.AsyncHTTPTransport(verify=_tls_context())
            scheme = "https" if parts.scheme == "https" else "http"
            base = f"{scheme}://{parts.netloc}"
        else:
            return False, action, f"unsupported DOCKER_HOST scheme {parts.scheme!r}", None
        async with _client(limit, transport=transport) as client:
            response = await client.get(f"{base}/_ping")
        if response.status_code == 200:
            return True, action, "200", None
        return False, action, _http_detail(response), None

    return Probe("docker", host, action, body)


# --- Redis ----------------------------------------------------------------------------


def redis_probe(url: str) -> Probe:
    """``PING`` over a raw socket in RESP (after ``AUTH``/``SELECT`` from the URL).

    URL forms as redis-py's ``Redis.from_url``: ``redis://[[user]:password@]host[:port][/db]``,
    ``rediss://`` for TLS, ``unix:///path.sock[?db=N]``. Replies are RESP2 simple strings
    or errors (redis.io/docs/reference/protocol-spec).
    """
    parts = urlsplit(url)
    action = "PING"

    async def body(limit: float) -> ProbeOutcome:
        if parts.scheme == "unix":
            reader, writer = await asyncio.open_unix_connection(parts.path)
        else:
            tls = ssl.create_default_context() if parts.scheme == "rediss" else None
            reader, writer = await asyncio.open_connection(
                parts.hostname or "127.0.0.1", parts.port or 6379, ssl=tls
            )
        try:
            steps = _redis_commands(parts.username, parts.password, _redis_db(parts))
            writer.write(b"".join(_resp_command(*args) for _, args in steps))
            await writer.drain()
            for name, _ in steps:
                line = await reader.readline()
                if not line:
                    return False, name, "connection closed without a reply", None
                text = line.decode(errors="replace").rstrip("\r\n")
                if text.startswith("-"):
                    return False, name, f"error reply {text[1:]!r}", None
                if not text.startswith("+"):
                    return False, name, f"not a Redis reply: {text[:40]!r}", None
            return True, action, "PONG", None
        finally:
            writer.close()
            # A peer that never reads must not hold the probe past its deadline.
            with contextlib.suppress(TimeoutError, OSError, ssl.SSLError):
                await asyncio.wait_for(writer.wait_closed(), 0.5)

    return Probe("redis", mask_url(url), action, body)


def _redis_db(parts: Any) -> int:
    raw = parts.path.strip("/") if parts.scheme != "unix" else ""
    if not raw:
        raw = parse_qs(parts.query).get("db", ["0"])[0]
    try:
        return int(raw)
    except ValueError:
        return 0


def _redis_commands(
    username: str | None, password: str | None, db: int
) -> list[tuple[str, tuple[str, ...]]]:
    steps: list[tuple[str, tuple[str, ...]]] = []
    if password is not None:
        auth = (unquote(username), unquote(password)) if username else (unquote(password),)
        steps.append(("AUTH", ("AUTH", *auth)))
    if db:
        steps.append((f"SELECT {db}", ("SELECT", str(db))))
    steps.append(("PING", ("PING",)))
    return steps


def _resp_command(*args: str) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)
