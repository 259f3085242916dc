"""A typed Toxiproxy client over httpx, for the embedded server and toxiproxy-server alike.

Every call has a deadline (``timeout``, default 10 s). Error answers raise the exception
of their status, carrying the server's message::

    ToxiproxyError                      any failed call
     +-- ToxiproxyUnavailable           no answer (connection refused, timeout)
     +-- ToxiproxyApiError              an error answer: .status, .message
          +-- BadRequest                400 (bad body, missing field, invalid toxic type…)
          +-- NotFound                  404 (proxy or toxic not found)
          +-- Conflict                  409 (proxy or toxic already exists)
          +-- ServerError               500 (e.g. the listen address is in use)

Usage::

    with ToxiproxyClient("http://127.0.0.1:8474") as toxiproxy:
        proxy = toxiproxy.create_proxy("redis", upstream="127.0.0.1:6379")
        toxiproxy.add_toxic("redis", "latency", {"latency": 100})
        host, port = proxy.listen_host, proxy.listen_port

``AsyncToxiproxyClient`` has the same methods, as coroutines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

import httpx

DEFAULT_TIMEOUT = 10.0
Stream = Literal["upstream", "downstream"]


class ToxiproxyError(Exception):
    """A Toxiproxy call failed."""


class ToxiproxyUnavailable(ToxiproxyError):
    """The Toxiproxy API did not answer (connection refused, timed out)."""


class ToxiproxyApiError(ToxiproxyError):
    """Toxiproxy answered with an error status."""

    def __init__(self, status: int, message: str, method: str, path: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {message}")
        self.status = status
        self.message = message


class BadRequest(ToxiproxyApiError):
    pass


class NotFound(ToxiproxyApiError):
    pass


class Conflict(ToxiproxyApiError):
    pass


class ServerError(ToxiproxyApiError):
    pass


_ERRORS: dict[int, type[ToxiproxyApiError]] = {400: BadRequest, 404: NotFound, 409: Conflict}


@dataclass(frozen=True)
class Toxic:
    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, int | float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Toxic:
        return cls(
            name=str(data["name"]),
            type=str(data["type"]),
            stream=str(data["stream"]),
            toxicity=float(data.get("toxicity", 1.0)),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True)
class Proxy:
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Proxy:
        return cls(
            name=str(data["name"]),
            listen=str(data["listen"]),
            upstream=str(data["upstream"]),
            enabled=bool(data["enabled"]),
            toxics=tuple(Toxic.from_json(item) for item in data.get("toxics") or ()),
        )

    @property
    def listen_host(self) -> str:
        host = self.listen.rsplit(":", 1)[0]
        return host.strip("[]") or "127.0.0.1"

    @property
    def listen_port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @property
    def listen_url(self) -> str:
        """``http://host:port`` of the listener, for HTTP services behind the proxy."""
        host = self.listen_host
        return (
            f"http://[{host}]:{self.listen_port}"
            if ":" in host
            else f"http://{host}:{self.listen_port}"
        )


@dataclass(frozen=True)
class ProxySpec:
    """One proxy of a ``populate`` call."""

    name: str
    upstream: str
    listen: str = "127.0.0.1:0"
    enabled: bool = True

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "upstream": self.upstream,
            "listen": self.listen,
            "enabled": self.enabled,
        }


# -- request building and answer parsing shared by both clients -----------------------
@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    body: object = None
    ok: tuple[int, ...] = (200,)


def _check(call: _Call, response: httpx.Response) -> Any:
    if response.status_code in call.ok:
        if response.status_code == 204 or not response.content:
            return None
        return _decode(response)
    message = response.text.strip()
    try:
        payload = response.json()
        if isinstance(payload, dict) and "error" in payload:
            message = str(payload["error"])
    except (ValueError, json.JSONDecodeError):
        pass
    status = response.status_code
    error_type = _ERRORS.get(status, ServerError if status >= 500 else ToxiproxyApiError)
    raise error_type(status, message or response.reason_phrase, call.method, call.path)


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        return response.text


def _toxic_body(
    type_: str,
    attributes: Mapping[str, int | float] | None,
    name: str | None,
    stream: Stream,
    toxicity: float,
) -> dict[str, object]:
    body: dict[str, object] = {
        "type": type_,
        "stream": stream,
        "toxicity": toxicity,
        "attributes": dict(attributes or {}),
    }
    if name is not None:
        body["name"] = name
    return body


def _update_body(
    *, listen: str | None, upstream: str | None, enabled: bool | None
) -> dict[str, object]:
    body: dict[str, object] = {}
    if listen is not None:
        body["listen"] = listen
    if upstream is not None:
        body["upstream"] = upstream
    if enabled is not None:
        body["enabled"] = enabled
    return body


def _toxic_update_body(
    attributes: Mapping[str, int | float] | None, toxicity: float | None
) -> dict[str, object]:
    body: dict[str, object] = {}
    if attributes is not None:
        body["attributes"] = dict(attributes)
    if toxicity is not None:
        body["toxicity"] = toxicity
    return body


def _q(segment: str) -> str:
    return quote(segment, safe="")


class _Calls:
    """The API's calls; each client only sends them."""

    @staticmethod
    def proxies() -> _Call:
        return _Call("GET", "/proxies")

    @staticmethod
    def proxy(name: str) -> _Call:
        return _Call("GET", f"/proxies/{_q(name)}")

    @staticmethod
    def create_proxy(name: str, upstream: str, listen: str, enabled: bool) -> _Call:
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled}
        return _Call("POST", "/proxies", body, ok=(201,))

    @staticmethod
    def update_proxy(name: str, body: dict[str, object]) -> _Call:
        return _Call("PATCH", f"/proxies/{_q(name)}", body)

    @staticmethod
    def delete_proxy(name: str) -> _Call:
        return _Call("DELETE", f"/proxies/{_q(name)}", ok=(204,))

    @staticmethod
    def populate(proxies: Sequence[ProxySpec]) -> _Call:
        return _Call("POST", "/populate", [spec.to_json() for spec in proxies], ok=(201,))

    @staticmethod
    def toxics(proxy: str) -> _Call:
        return _Call("GET", f"/proxies/{_q(proxy)}/toxics")

    @staticmethod
    def toxic(proxy: str, name: str) -> _Call:
        return _Call("GET", f"/proxies/{_q(proxy)}/toxics/{_q(name)}")

    @staticmethod
    def add_toxic(proxy: str, body: dict[str, object]) -> _Call:
        return _Call("POST", f"/proxies/{_q(proxy)}/toxics", body)

    @staticmethod
    def update_toxic(proxy: str, name: str, body: dict[str, object]) -> _Call:
        return _Call("PATCH", f"/proxies/{_q(proxy)}/toxics/{_q(name)}", body)

    @staticmethod
    def remove_toxic(proxy: str, name: str) -> _Call:
        return _Call("DELETE", f"/proxies/{_q(proxy)}/toxics/{_q(name)}", ok=(204,))

    @staticmethod
    def reset() -> _Call:
        return _Call("POST", "/reset", ok=(204,))

    @staticmethod
    def version() -> _Call:
        return _Call("GET", "/version")

    @staticmethod
    def metrics() -> _Call:
        return _Call("GET", "/metrics")


def _request_kwargs(call: _Call) -> dict[str, Any]:
    if call.body is None:
        return {}
    return {"content": json.dumps(call.body), "headers": {"Content-Type": "application/json"}}


def _version_of(payload: object) -> str:
    if isinstance(payload, dict):
        return str(payload.get("version", ""))
    return str(payload).strip()


def _text_of(payload: object) -> str:
    return payload if isinstance(payload, str) else json.dumps(payload)


class ToxiproxyClient:
    """Synchronous client. ``timeout`` bounds every call (connect, read, write)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # A User-Agent of our own: upstream rejects browser-like agents with 403.
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"User-Agent": "pytest-aistack"},
        )

    def _send(self, call: _Call) -> Any:
        try:
            response = self._http.request(call.method, call.path, **_request_kwargs(call))
        except httpx.TransportError as exc:
            raise ToxiproxyUnavailable(
                f"{call.method} {self.base_url}{call.path}: {type(exc).__name__}: {exc}"
            ) from exc
        return _check(call, response)

    def proxies(self) -> dict[str, Proxy]:
        data = self._send(_Calls.proxies())
        return {name: Proxy.from_json(item) for name, item in (data or {}).items()}

    def proxy(self, name: str) -> Proxy:
        return Proxy.from_json(self._send(_Calls.proxy(name)))

    def create_proxy(
        self, name: str, upstream: str, *, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> Proxy:
        return Proxy.from_json(self._send(_Calls.create_proxy(name, upstream, listen, enabled)))

    def update_proxy(
        self,
        name: str,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> Proxy:
        body = _update_body(listen=listen, upstream=upstream, enabled=enabled)
        return Proxy.from_json(self._send(_Calls.update_proxy(name, body)))

    def enable(self, name: str) -> Proxy:
        return self.update_proxy(name, enabled=True)

    def disable(self, name: str) -> Proxy:
        return self.update_proxy(name, enabled=False)

    def delete_proxy(self, name: str) -> None:
        self._send(_Calls.delete_proxy(name))

    def populate(self, proxies: Sequence[ProxySpec]) -> list[Proxy]:
        data = self._send(_Calls.populate(proxies))
        return [Proxy.from_json(item) for item in (data or {}).get("proxies") or ()]

    def toxics(self, proxy: str) -> list[Toxic]:
        return [Toxic.from_json(item) for item in self._send(_Calls.toxics(proxy)) or ()]

    def toxic(self, proxy: str, name: str) -> Toxic:
        return Toxic.from_json(self._send(_Calls.toxic(proxy, name)))

    def add_toxic(
        self,
        proxy: str,
        type: str,
        attributes: Mapping[str, int | float] | None = None,
        *,
        name: str | None = None,
        stream: Stream = "downstream",
        toxicity: float = 1.0,
    ) -> Toxic:
        body = _toxic_body(type, attributes, name, stream, toxicity)
        return Toxic.from_json(self._send(_Calls.add_toxic(proxy, body)))

    def update_toxic(
        self,
        proxy: str,
        name: str,
        attributes: Mapping[str, int | float] | None = None,
        *,
        toxicity: float | None = None,
    ) -> Toxic:
        body = _toxic_update_body(attributes, toxicity)
        return Toxic.from_json(self._send(_Calls.update_toxic(proxy, name, body)))

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._send(_Calls.remove_toxic(proxy, name))

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._send(_Calls.reset())

    def version(self) -> str:
        return _version_of(self._send(_Calls.version()))

    def metrics(self) -> str:
        """The Prometheus text of ``/metrics`` (toxiproxy-server needs ``-proxy-metrics``)."""
        return _text_of(self._send(_Calls.metrics()))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ToxiproxyClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncToxiproxyClient:
    """The same API as :class:`ToxiproxyClient`, for asyncio code."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"User-Agent": "pytest-aistack"},
        )

    async def _send(self, call: _Call) -> Any:
        try:
            response = await self._http.request(call.method, call.path, **_request_kwargs(call))
        except httpx.TransportError as exc:
            raise ToxiproxyUnavailable(
                f"{call.method} {self.base_url}{call.path}: {type(exc).__name__}: {exc}"
            ) from exc
        return _check(call, response)

    async def proxies(self) -> dict[str, Proxy]:
        data = await self._send(_Calls.proxies())
        return {name: Proxy.from_json(item) for name, item in (data or {}).items()}

    async def proxy(self, name: str) -> Proxy:
        return Proxy.from_json(await self._send(_Calls.proxy(name)))

    async def create_proxy(
        self, name: str, upstream: str, *, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> Proxy:
        call = _Calls.create_proxy(name, upstream, listen, enabled)
        return Proxy.from_json(await self._send(call))

    async def update_proxy(
        self,
        name: str,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> Proxy:
        body = _update_body(listen=listen, upstream=upstream, enabled=enabled)
        return Proxy.from_json(await self._send(_Calls.update_proxy(name, body)))

    async def enable(self, name: str) -> Proxy:
        return await self.update_proxy(name, enabled=True)

    async def disable(self, name: str) -> Proxy:
        return await self.update_proxy(name, enabled=False)

    async def delete_proxy(self, name: str) -> None:
        await self._send(_Calls.delete_proxy(name))

    async def populate(self, proxies: Sequence[ProxySpec]) -> list[Proxy]:
        data = await self._send(_Calls.populate(proxies))
        return [Proxy.from_json(item) for item in (data or {}).get("proxies") or ()]

    async def toxics(self, proxy: str) -> list[Toxic]:
        return [Toxic.from_json(item) for item in await self._send(_Calls.toxics(proxy)) or ()]

    async def toxic(self, proxy: str, name: str) -> Toxic:
        return Toxic.from_json(await self._send(_Calls.toxic(proxy, name)))

    async def add_toxic(
        self,
        proxy: str,
        type: str,
        attributes: Mapping[str, int | float] | None = None,
        *,
        name: str | None = None,
        stream: Stream = "downstream",
        toxicity: float = 1.0,
    ) -> Toxic:
        body = _toxic_body(type, attributes, name, stream, toxicity)
        return Toxic.from_json(await self._send(_Calls.add_toxic(proxy, body)))

    async def update_toxic(
        self,
        proxy: str,
        name: str,
        attributes: Mapping[str, int | float] | None = None,
        *,
        toxicity: float | None = None,
    ) -> Toxic:
        body = _toxic_update_body(attributes, toxicity)
        return Toxic.from_json(await self._send(_Calls.update_toxic(proxy, name, body)))

    async def remove_toxic(self, proxy: str, name: str) -> None:
        await self._send(_Calls.remove_toxic(proxy, name))

    async def reset(self) -> None:
        await self._send(_Calls.reset())

    async def version(self) -> str:
        return _version_of(await self._send(_Calls.version()))

    async def metrics(self) -> str:
        return _text_of(await self._send(_Calls.metrics()))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncToxiproxyClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


__all__ = [
    "AsyncToxiproxyClient",
    "BadRequest",
    "Conflict",
    "NotFound",
    "Proxy",
    "ProxySpec",
    "ServerError",
    "Toxic",
    "ToxiproxyApiError",
    "ToxiproxyClient",
    "ToxiproxyError",
    "ToxiproxyUnavailable",
]
