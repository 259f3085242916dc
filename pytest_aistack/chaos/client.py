"""A typed Toxiproxy client over httpx, for the embedded server and toxiproxy-server alike.

Every call has a deadline (``timeout``, default 10 s). Error answers raise the exception
of their status, carrying the server's message (``ToxiproxyError`` and its subclasses,
drawn as a tree in :mod:`pytest_aistack.chaos.client_types`).

Usage::

    with ToxiproxyClient("http://127.0.0.1:8474") as toxiproxy:
        proxy = toxiproxy.create_proxy("redis", upstream="127.0.0.1:6379")
        toxiproxy.add_toxic("redis", "latency", {"latency": 100})
        host, port = proxy.listen_host, proxy.listen_port

``AsyncToxiproxyClient`` has the same methods, as coroutines. Both only send the calls
of :mod:`._client_calls`, which builds the requests and reads the answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TypeVar

import httpx

from . import _client_calls as _calls
from .client_types import (
    BadRequest,
    Conflict,
    NotFound,
    ProxyInfo,
    ProxySpec,
    ServerError,
    Stream,
    Toxic,
    ToxiproxyApiError,
    ToxiproxyError,
    ToxiproxyUnavailable,
)
from .ledger_types import Ledger, LedgerRecord, LedgerUnavailable, ProxyLedger, ProxyTraffic

DEFAULT_TIMEOUT = 10.0

_T = TypeVar("_T")


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
        self._http = httpx.Client(
            transport=transport, **_calls.http_options(self.base_url, timeout)
        )

    def _send(self, call: _calls.Call[_T]) -> _T:
        try:
            response = self._http.request(call.method, call.path, **_calls.request_kwargs(call))
        except httpx.TransportError as exc:
            raise _calls.unavailable(call, self.base_url, exc) from exc
        return _calls.answer(call, response)

    def proxies(self) -> dict[str, ProxyInfo]:
        return self._send(_calls.Calls.proxies())

    def proxy(self, name: str) -> ProxyInfo:
        return self._send(_calls.Calls.proxy(name))

    def create_proxy(
        self, name: str, upstream: str, *, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> ProxyInfo:
        return self._send(_calls.Calls.create_proxy(name, upstream, listen, enabled))

    def update_proxy(
        self,
        name: str,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> ProxyInfo:
        call = _calls.Calls.update_proxy(name, listen=listen, upstream=upstream, enabled=enabled)
        return self._send(call)

    def enable(self, name: str) -> ProxyInfo:
        return self.update_proxy(name, enabled=True)

    def disable(self, name: str) -> ProxyInfo:
        return self.update_proxy(name, enabled=False)

    def delete_proxy(self, name: str) -> None:
        self._send(_calls.Calls.delete_proxy(name))

    def populate(self, proxies: Sequence[ProxySpec]) -> list[ProxyInfo]:
        return self._send(_calls.Calls.populate(proxies))

    def toxics(self, proxy: str) -> list[Toxic]:
        return self._send(_calls.Calls.toxics(proxy))

    def toxic(self, proxy: str, name: str) -> Toxic:
        return self._send(_calls.Calls.toxic(proxy, name))

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
        call = _calls.Calls.add_toxic(proxy, type, attributes, name, stream, toxicity)
        return self._send(call)

    def update_toxic(
        self,
        proxy: str,
        name: str,
        attributes: Mapping[str, int | float] | None = None,
        *,
        toxicity: float | None = None,
    ) -> Toxic:
        return self._send(_calls.Calls.update_toxic(proxy, name, attributes, toxicity))

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._send(_calls.Calls.remove_toxic(proxy, name))

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._send(_calls.Calls.reset())

    def version(self) -> str:
        return self._send(_calls.Calls.version())

    def metrics(self) -> str:
        """The Prometheus text of ``/metrics`` (toxiproxy-server needs ``-proxy-metrics``)."""
        return self._send(_calls.Calls.metrics())

    def traffic(self) -> dict[str, ProxyTraffic]:
        """Per-proxy counters from ``/metrics`` (Toxiproxy 2.4.0+, ``-proxy-metrics``)."""
        return self._send(_calls.Calls.traffic())

    def ledger(self, *, since: int = 0, limit: int | None = None) -> Ledger:
        """Every proxy's request ledger; :class:`LedgerUnavailable` on upstream Toxiproxy."""
        return self._send(_calls.Calls.ledger(since, limit))

    def proxy_ledger(self, proxy: str, *, since: int = 0, limit: int | None = None) -> ProxyLedger:
        """One proxy's records with ``seq > since``; poll on from the answer's ``next``."""
        return self._send(_calls.Calls.proxy_ledger(proxy, since, limit))

    def clear_ledger(self, proxy: str | None = None) -> None:
        self._send(_calls.Calls.clear_ledger(proxy))

    def configure_ledger(
        self, *, enabled: bool | None = None, capacity: int | None = None
    ) -> dict[str, object]:
        """Switch the ledger on/off or resize its rings (new connections only)."""
        return self._send(_calls.Calls.configure_ledger(enabled, capacity))

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
            transport=transport, **_calls.http_options(self.base_url, timeout)
        )

    async def _send(self, call: _calls.Call[_T]) -> _T:
        try:
            response = await self._http.request(
                call.method, call.path, **_calls.request_kwargs(call)
            )
        except httpx.TransportError as exc:
            raise _calls.unavailable(call, self.base_url, exc) from exc
        return _calls.answer(call, response)

    async def proxies(self) -> dict[str, ProxyInfo]:
        return await self._send(_calls.Calls.proxies())

    async def proxy(self, name: str) -> ProxyInfo:
        return await self._send(_calls.Calls.proxy(name))

    async def create_proxy(
        self, name: str, upstream: str, *, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> ProxyInfo:
        return await self._send(_calls.Calls.create_proxy(name, upstream, listen, enabled))

    async def update_proxy(
        self,
        name: str,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> ProxyInfo:
        call = _calls.Calls.update_proxy(name, listen=listen, upstream=upstream, enabled=enabled)
        return await self._send(call)

    async def enable(self, name: str) -> ProxyInfo:
        return await self.update_proxy(name, enabled=True)

    async def disable(self, name: str) -> ProxyInfo:
        return await self.update_proxy(name, enabled=False)

    async def delete_proxy(self, name: str) -> None:
        await self._send(_calls.Calls.delete_proxy(name))

    async def populate(self, proxies: Sequence[ProxySpec]) -> list[ProxyInfo]:
        return await self._send(_calls.Calls.populate(proxies))

    async def toxics(self, proxy: str) -> list[Toxic]:
        return await self._send(_calls.Calls.toxics(proxy))

    async def toxic(self, proxy: str, name: str) -> Toxic:
        return await self._send(_calls.Calls.toxic(proxy, name))

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
        call = _calls.Calls.add_toxic(proxy, type, attributes, name, stream, toxicity)
        return await self._send(call)

    async def update_toxic(
        self,
        proxy: str,
        name: str,
        attributes: Mapping[str, int | float] | None = None,
        *,
        toxicity: float | None = None,
    ) -> Toxic:
        return await self._send(_calls.Calls.update_toxic(proxy, name, attributes, toxicity))

    async def remove_toxic(self, proxy: str, name: str) -> None:
        await self._send(_calls.Calls.remove_toxic(proxy, name))

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        await self._send(_calls.Calls.reset())

    async def version(self) -> str:
        return await self._send(_calls.Calls.version())

    async def metrics(self) -> str:
        """The Prometheus text of ``/metrics`` (toxiproxy-server needs ``-proxy-metrics``)."""
        return await self._send(_calls.Calls.metrics())

    async def traffic(self) -> dict[str, ProxyTraffic]:
        return await self._send(_calls.Calls.traffic())

    async def ledger(self, *, since: int = 0, limit: int | None = None) -> Ledger:
        return await self._send(_calls.Calls.ledger(since, limit))

    async def proxy_ledger(
        self, proxy: str, *, since: int = 0, limit: int | None = None
    ) -> ProxyLedger:
        return await self._send(_calls.Calls.proxy_ledger(proxy, since, limit))

    async def clear_ledger(self, proxy: str | None = None) -> None:
        await self._send(_calls.Calls.clear_ledger(proxy))

    async def configure_ledger(
        self, *, enabled: bool | None = None, capacity: int | None = None
    ) -> dict[str, object]:
        return await self._send(_calls.Calls.configure_ledger(enabled, capacity))

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
    "DEFAULT_TIMEOUT",
    "AsyncToxiproxyClient",
    "BadRequest",
    "Conflict",
    "Ledger",
    "LedgerRecord",
    "LedgerUnavailable",
    "NotFound",
    "ProxyInfo",
    "ProxyLedger",
    "ProxySpec",
    "ProxyTraffic",
    "ServerError",
    "Stream",
    "Toxic",
    "ToxiproxyApiError",
    "ToxiproxyClient",
    "ToxiproxyError",
    "ToxiproxyUnavailable",
]
