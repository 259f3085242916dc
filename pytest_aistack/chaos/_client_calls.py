"""The Toxiproxy API's calls and answer checking, shared by the sync and async clients."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from .client_types import ERRORS_BY_STATUS, ProxySpec, ServerError, Stream, ToxiproxyApiError


# -- request building and answer parsing shared by both clients -----------------------
@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: object = None
    ok: tuple[int, ...] = (200,)


def check_answer(call: Call, response: httpx.Response) -> Any:
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


class Calls:
    """The API's calls; each client only sends them."""

    @staticmethod
    def proxies() -> Call:
        return Call("GET", "/proxies")

    @staticmethod
    def proxy(name: str) -> Call:
        return Call("GET", f"/proxies/{quote_segment(name)}")

    @staticmethod
    def create_proxy(name: str, upstream: str, listen: str, enabled: bool) -> Call:
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled}
        return Call("POST", "/proxies", body, ok=(201,))

    @staticmethod
    def update_proxy(name: str, body: dict[str, object]) -> Call:
        return Call("PATCH", f"/proxies/{quote_segment(name)}", body)

    @staticmethod
    def delete_proxy(name: str) -> Call:
        return Call("DELETE", f"/proxies/{quote_segment(name)}", ok=(204,))

    @staticmethod
    def populate(proxies: Sequence[ProxySpec]) -> Call:
        return Call("POST", "/populate", [spec.to_json() for spec in proxies], ok=(201,))

    @staticmethod
    def toxics(proxy: str) -> Call:
        return Call("GET", f"/proxies/{quote_segment(proxy)}/toxics")

    @staticmethod
    def toxic(proxy: str, name: str) -> Call:
        return Call("GET", f"/proxies/{quote_segment(proxy)}/toxics/{quote_segment(name)}")

    @staticmethod
    def add_toxic(proxy: str, body: dict[str, object]) -> Call:
        return Call("POST", f"/proxies/{quote_segment(proxy)}/toxics", body)

    @staticmethod
    def update_toxic(proxy: str, name: str, body: dict[str, object]) -> Call:
        return Call("PATCH", f"/proxies/{quote_segment(proxy)}/toxics/{quote_segment(name)}", body)

    @staticmethod
    def remove_toxic(proxy: str, name: str) -> Call:
        return Call(
            "DELETE", f"/proxies/{quote_segment(proxy)}/toxics/{quote_segment(name)}", ok=(204,)
        )

    @staticmethod
    def reset() -> Call:
        return Call("POST", "/reset", ok=(204,))

    @staticmethod
    def version() -> Call:
        return Call("GET", "/version")

    @staticmethod
    def metrics() -> Call:
        return Call("GET", "/metrics")


def request_kwargs(call: Call) -> dict[str, Any]:
    if call.body is None:
        return {}
    return {"content": json.dumps(call.body), "headers": {"Content-Type": "application/json"}}


def version_of(payload: object) -> str:
    if isinstance(payload, dict):
        return str(payload.get("version", ""))
    return str(payload).strip()


def text_of(payload: object) -> str:
    return payload if isinstance(payload, str) else json.dumps(payload)
