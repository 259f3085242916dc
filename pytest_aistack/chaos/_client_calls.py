"""The Toxiproxy API's calls: what to send and what the answer means, for both clients.

Like httpx's ``_models`` for ``Client``/``AsyncClient``: everything but the I/O lives
here, so each client method is its signature and one ``_send`` of a :class:`Call`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from .client_types import (
    ERRORS_BY_STATUS,
    ProxyInfo,
    ProxySpec,
    ServerError,
    Stream,
    Toxic,
    ToxiproxyApiError,
    ToxiproxyUnavailable,
)
from .ledger_types import Ledger, LedgerUnavailable, ProxyLedger, ProxyTraffic, parse_traffic

T = TypeVar("T")


def http_options(base_url: str, timeout: float) -> dict[str, Any]:
    """Keyword arguments of both clients' ``httpx.Client``/``AsyncClient``."""
    return {
        "base_url": base_url,
        "timeout": httpx.Timeout(timeout),
        # A User-Agent of our own: upstream rejects browser-like agents with 403.
        "headers": {"User-Agent": "pytest-aistack"},
    }


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API call; ``parse`` turns its decoded answer into the client's return value."""

    method: str
    path: str
    parse: Callable[[Any], T]
    body: object = None
    ok: tuple[int, ...] = (200,)
    query: Mapping[str, int] | None = None
    # A 404 that is not one of our JSON errors means the server has no /aistack/ paths.
    aistack_extension: bool = False


def unavailable(call: Call[T], base_url: str, exc: httpx.TransportError) -> ToxiproxyUnavailable:
    return ToxiproxyUnavailable(f"{call.method} {base_url}{call.path}: {type(exc).__name__}: {exc}")


def answer(call: Call[T], response: httpx.Response) -> T:
    """The call's result, or the error of the answer's status."""
    return call.parse(check_answer(call, response))


def check_answer(call: Call[T], response: httpx.Response) -> Any:
    if response.status_code in call.ok:
        if response.status_code == 204 or not response.content:
            return None
        return decode_answer(response)
    message = response.text.strip()
    try:
        payload = response.json()
        if isinstance(payload, dict) and "error" in payload:
            message = str(payload["error"])
    except (ValueError, json.JSONDecodeError):
        pass
    status = response.status_code
    if status == 404 and call.aistack_extension and message == response.text.strip():
        raise LedgerUnavailable(
            status,
            f"{message or 'not found'} (no request ledger here: upstream toxiproxy-server, "
            "or an embedded server from before it; connection counts are what /metrics has)",
            call.method,
            call.path,
        )
    error_type = ERRORS_BY_STATUS.get(status, ServerError if status >= 500 else ToxiproxyApiError)
    raise error_type(status, message or response.reason_phrase, call.method, call.path)


def decode_answer(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        return response.text


def toxic_body(
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


def update_body(
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


def toxic_update_body(
    attributes: Mapping[str, int | float] | None, toxicity: float | None
) -> dict[str, object]:
    body: dict[str, object] = {}
    if attributes is not None:
        body["attributes"] = dict(attributes)
    if toxicity is not None:
        body["toxicity"] = toxicity
    return body


def quote_segment(segment: str) -> str:
    return quote(segment, safe="")


def _nothing(data: object) -> None:
    return None


def _proxy_map(data: Any) -> dict[str, ProxyInfo]:
    return {name: ProxyInfo.from_json(item) for name, item in (data or {}).items()}


def _populated(data: Any) -> list[ProxyInfo]:
    return [ProxyInfo.from_json(item) for item in (data or {}).get("proxies") or ()]


def _toxic_list(data: Any) -> list[Toxic]:
    return [Toxic.from_json(item) for item in data or ()]


def _proxy_path(name: str) -> str:
    return f"/proxies/{quote_segment(name)}"


def _toxic_path(proxy: str, name: str) -> str:
    return f"{_proxy_path(proxy)}/toxics/{quote_segment(name)}"


class Calls:
    """The API's calls; each client only sends them."""

    @staticmethod
    def proxies() -> Call[dict[str, ProxyInfo]]:
        return Call("GET", "/proxies", _proxy_map)

    @staticmethod
    def proxy(name: str) -> Call[ProxyInfo]:
        return Call("GET", _proxy_path(name), ProxyInfo.from_json)

    @staticmethod
    def create_proxy(name: str, upstream: str, listen: str, enabled: bool) -> Call[ProxyInfo]:
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled}
        return Call("POST", "/proxies", ProxyInfo.from_json, body, ok=(201,))

    @staticmethod
    def update_proxy(
        name: str, *, listen: str | None, upstream: str | None, enabled: bool | None
    ) -> Call[ProxyInfo]:
        body = update_body(listen=listen, upstream=upstream, enabled=enabled)
        return Call("PATCH", _proxy_path(name), ProxyInfo.from_json, body)

    @staticmethod
    def delete_proxy(name: str) -> Call[None]:
        return Call("DELETE", _proxy_path(name), _nothing, ok=(204,))

    @staticmethod
    def populate(proxies: Sequence[ProxySpec]) -> Call[list[ProxyInfo]]:
        body = [spec.to_json() for spec in proxies]
        return Call("POST", "/populate", _populated, body, ok=(201,))

    @staticmethod
    def toxics(proxy: str) -> Call[list[Toxic]]:
        return Call("GET", f"{_proxy_path(proxy)}/toxics", _toxic_list)

    @staticmethod
    def toxic(proxy: str, name: str) -> Call[Toxic]:
        return Call("GET", _toxic_path(proxy, name), Toxic.from_json)

    @staticmethod
    def add_toxic(
        proxy: str,
        type_: str,
        attributes: Mapping[str, int | float] | None,
        name: str | None,
        stream: Stream,
        toxicity: float,
    ) -> Call[Toxic]:
        body = toxic_body(type_, attributes, name, stream, toxicity)
        return Call("POST", f"{_proxy_path(proxy)}/toxics", Toxic.from_json, body)

    @staticmethod
    def update_toxic(
        proxy: str, name: str, attributes: Mapping[str, int | float] | None, toxicity: float | None
    ) -> Call[Toxic]:
        body = toxic_update_body(attributes, toxicity)
        return Call("PATCH", _toxic_path(proxy, name), Toxic.from_json, body)

    @staticmethod
    def remove_toxic(proxy: str, name: str) -> Call[None]:
        return Call("DELETE", _toxic_path(proxy, name), _nothing, ok=(204,))

    @staticmethod
    def reset() -> Call[None]:
        return Call("POST", "/reset", _nothing, ok=(204,))

    @staticmethod
    def version() -> Call[str]:
        return Call("GET", "/version", version_of)

    @staticmethod
    def metrics() -> Call[str]:
        return Call("GET", "/metrics", text_of)

    @staticmethod
    def traffic() -> Call[dict[str, ProxyTraffic]]:
        return Call("GET", "/metrics", lambda payload: parse_traffic(text_of(payload)))

    # -- the request ledger (our extension, pytest_aistack.chaos.toxiproxy.ledger_api) --
    @staticmethod
    def ledger(since: int, limit: int | None) -> Call[Ledger]:
        query = _page(since, limit)
        return Call("GET", LEDGER_PATH, Ledger.from_json, query=query, aistack_extension=True)

    @staticmethod
    def proxy_ledger(proxy: str, since: int, limit: int | None) -> Call[ProxyLedger]:
        path = f"{LEDGER_PATH}/{quote_segment(proxy)}"
        query = _page(since, limit)
        return Call("GET", path, ProxyLedger.from_json, query=query, aistack_extension=True)

    @staticmethod
    def clear_ledger(proxy: str | None) -> Call[None]:
        path = LEDGER_PATH if proxy is None else f"{LEDGER_PATH}/{quote_segment(proxy)}"
        return Call("DELETE", path, _nothing, ok=(204,), aistack_extension=True)

    @staticmethod
    def configure_ledger(enabled: bool | None, capacity: int | None) -> Call[dict[str, Any]]:
        body: dict[str, object] = {}
        if enabled is not None:
            body["enabled"] = enabled
        if capacity is not None:
            body["capacity"] = capacity
        return Call("PATCH", LEDGER_PATH, dict, body, aistack_extension=True)


LEDGER_PATH = "/aistack/ledger"


def _page(since: int, limit: int | None) -> dict[str, int]:
    return {"since": since} if limit is None else {"since": since, "limit": limit}


def request_kwargs(call: Call[T]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {} if call.query is None else {"params": dict(call.query)}
    if call.body is None:
        return kwargs
    return {
        **kwargs,
        "content": json.dumps(call.body),
        "headers": {"Content-Type": "application/json"},
    }


def version_of(payload: object) -> str:
    if isinstance(payload, dict):
        return str(payload.get("version", ""))
    return str(payload).strip()


def text_of(payload: object) -> str:
    return payload if isinstance(payload, str) else json.dumps(payload)
