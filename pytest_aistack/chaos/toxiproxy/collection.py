"""The set of proxies and the operations on it (toxiproxy ``proxy_collection.go``,
``toxic_collection.go``), with request bodies decoded as upstream decodes them.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from .addresses import resolve_listen
from .errors import (
    BAD_REQUEST_BODY,
    INVALID_STREAM,
    INVALID_TOXIC_TYPE,
    MISSING_FIELD,
    PROXY_ALREADY_EXISTS,
    PROXY_NOT_FOUND,
    TOXIC_ALREADY_EXISTS,
    TOXIC_NOT_FOUND,
    ApiError,
)
from .jsonio import GoKind, decode_struct, lookup
from .metrics import Metrics
from .proxy import EmbeddedProxy, ProxyAlreadyStarted
from .toxic_types import EmbeddedToxic
from .toxics import KINDS

_PROXY_FIELDS: dict[str, GoKind] = {
    "name": "string",
    "listen": "string",
    "upstream": "string",
    "enabled": "bool",
}
_TOXIC_FIELDS: dict[str, GoKind] = {
    "name": "string",
    "type": "string",
    "stream": "string",
    "toxicity": "float32",
}


@dataclass
class _PopulateItem:
    name: str
    listen: str
    upstream: str
    enabled: bool


class ProxyCollection:
    def __init__(self, loop: asyncio.AbstractEventLoop, metrics: Metrics) -> None:
        self.loop = loop
        self.metrics = metrics
        self.proxies: dict[str, EmbeddedProxy] = {}
        # API calls change proxies one at a time, as upstream's collection lock does.
        self.lock = asyncio.Lock()

    def get(self, name: str) -> EmbeddedProxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise PROXY_NOT_FOUND
        return proxy

    # -- proxies ---------------------------------------------------------------------
    async def create(self, body: object) -> EmbeddedProxy:
        """POST /proxies (api.go ProxyCreate): enabled unless said otherwise."""
        fields: dict[str, object] = {"name": "", "listen": "", "upstream": "", "enabled": True}
        decode_struct(body, "Proxy", _PROXY_FIELDS, fields)
        if not fields["name"]:
            raise MISSING_FIELD.joined("name")
        if not fields["upstream"]:
            raise MISSING_FIELD.joined("upstream")
        name = str(fields["name"])
        if name in self.proxies:
            raise PROXY_ALREADY_EXISTS
        proxy = EmbeddedProxy(
            self.loop, self.metrics, name, str(fields["listen"]), str(fields["upstream"])
        )
        if fields["enabled"]:
            await proxy.start()
        self.proxies[name] = proxy
        return proxy

    async def update(self, name: str, body: object) -> EmbeddedProxy:
        """PATCH (or deprecated POST) /proxies/{name}: fields not given keep their value."""
        proxy = self.get(name)
        fields: dict[str, object] = {
            "listen": proxy.listen,
            "upstream": proxy.upstream,
            "enabled": proxy.enabled,
        }
        decode_struct(body, "Proxy", _PROXY_FIELDS, fields)
        await proxy.update(str(fields["listen"]), str(fields["upstream"]), bool(fields["enabled"]))
        return proxy

    async def remove(self, name: str) -> None:
        proxy = self.get(name)
        await proxy.stop()
        del self.proxies[name]

    async def reset(self) -> None:
        """POST /reset: enable every proxy and remove every toxic (api.go ResetState)."""
        for proxy in list(self.proxies.values()):
            with contextlib.suppress(ProxyAlreadyStarted):
                await proxy.start()
            await proxy.reset_toxics()

    async def populate(self, body: object) -> list[EmbeddedProxy]:
        """POST /populate (proxy_collection.go PopulateJson and AddOrReplace).

        The whole request is checked before any proxy changes: every entry's name and
        upstream, in order, then the listen address of every entry to be enabled (the
        text Go's ``net.Listen`` gives). A proxy that does not differ (same upstream,
        a listen that resolves to the address it is bound to) is kept as it is, with
        its toxics and live connections, and returned; any other is replaced. If a
        listener still fails to bind (a port taken meanwhile), the request is undone:
        proxies it started are stopped and the ones it replaced are back.
        """
        items = self._populate_items(body)
        for item in items:
            if item.enabled:
                await resolve_listen(self.loop, item.listen)
        previous = dict(self.proxies)
        was_enabled = {name: proxy.enabled for name, proxy in previous.items()}
        result: list[EmbeddedProxy] = []
        try:
            for item in items:
                existing = self.proxies.get(item.name)
                if existing is not None and not await existing.differs(item.listen, item.upstream):
                    result.append(existing)
                    continue
                if existing is not None:
                    await existing.stop()
                proxy = EmbeddedProxy(
                    self.loop, self.metrics, item.name, item.listen, item.upstream
                )
                self.proxies[item.name] = proxy
                if item.enabled:
                    await proxy.start()
                result.append(proxy)
        except ApiError:
            await self._restore(previous, was_enabled)
            raise
        return result

    def _populate_items(self, body: object) -> list[_PopulateItem]:
        if not isinstance(body, list):
            if body is None:
                return []
            kind = "object" if isinstance(body, dict) else type(body).__name__
            raise BAD_REQUEST_BODY.joined(
                f"json: cannot unmarshal {kind} into Go value of type []struct {{ Proxy }}"
            )
        items: list[_PopulateItem] = []
        for index, entry in enumerate(body, start=1):
            fields: dict[str, object] = {"name": "", "listen": "", "upstream": "", "enabled": True}
            decode_struct(entry, "Proxy", _PROXY_FIELDS, fields)
            if not fields["name"]:
                raise MISSING_FIELD.joined(f"name at proxy {index}")
            if not fields["upstream"]:
                raise MISSING_FIELD.joined(f"upstream at proxy {index}")
            items.append(
                _PopulateItem(
                    str(fields["name"]),
                    str(fields["listen"]),
                    str(fields["upstream"]),
                    bool(fields["enabled"]),
                )
            )
        return items

    async def _restore(
        self, previous: dict[str, EmbeddedProxy], was_enabled: dict[str, bool]
    ) -> None:
        """Back to the proxies before a failed populate (its connections are gone)."""
        for name, proxy in list(self.proxies.items()):
            if previous.get(name) is not proxy:
                await proxy.stop()
                del self.proxies[name]
        for name, proxy in previous.items():
            self.proxies[name] = proxy
            if was_enabled[name] and not proxy.enabled:
                # Its own address was free a moment ago; if not, it stays disabled and
                # says so in GET /proxies rather than failing the answer twice.
                with contextlib.suppress(ApiError):
                    await proxy.start()

    # -- toxics ----------------------------------------------------------------------
    async def add_toxic(self, proxy_name: str, body: object) -> EmbeddedToxic:
        """POST /proxies/{name}/toxics, checked in upstream's order (AddToxicJson)."""
        proxy = self.get(proxy_name)
        fields: dict[str, object] = {
            "name": "",
            "type": "",
            "stream": "downstream",
            "toxicity": 1.0,
        }
        decode_struct(body, "ToxicWrapper", _TOXIC_FIELDS, fields)
        stream = str(fields["stream"])
        direction = stream.lower()
        if direction not in ("upstream", "downstream"):
            raise INVALID_STREAM
        toxic_type = str(fields["type"])
        name = str(fields["name"]) or f"{toxic_type}_{stream}"
        kind = KINDS.get(toxic_type)
        if kind is None:
            raise INVALID_TOXIC_TYPE
        if proxy.find_toxic(name) is not None:
            raise TOXIC_ALREADY_EXISTS
        attributes: dict[str, object] = dict.fromkeys(kind.fields, 0)
        raw_attributes = lookup(body, "attributes") if isinstance(body, dict) else None
        decode_struct(raw_attributes, kind.struct, kind.fields, attributes)
        toxic = EmbeddedToxic(
            name=name,
            kind=kind,
            stream=stream,
            direction=direction,
            toxicity=float(fields["toxicity"]),  # type: ignore[arg-type]
            attributes={key: int(value) for key, value in attributes.items()},  # type: ignore[call-overload]
        )
        proxy.add_toxic(toxic)
        return toxic

    async def update_toxic(self, proxy_name: str, toxic_name: str, body: object) -> EmbeddedToxic:
        """PATCH /proxies/{name}/toxics/{toxic}: only attributes and toxicity change."""
        proxy = self.get(proxy_name)
        toxic = proxy.find_toxic(toxic_name)
        if toxic is None:
            raise TOXIC_NOT_FOUND
        fields: dict[str, object] = {"toxicity": toxic.toxicity}
        decode_struct(body, "struct", {"toxicity": "float32"}, fields)
        attributes: dict[str, object] = dict(toxic.attributes)
        raw_attributes = lookup(body, "attributes") if isinstance(body, dict) else None
        decode_struct(raw_attributes, toxic.kind.struct, toxic.kind.fields, attributes)
        updated = EmbeddedToxic(
            name=toxic.name,
            kind=toxic.kind,
            stream=toxic.stream,
            direction=toxic.direction,
            toxicity=float(fields["toxicity"]),  # type: ignore[arg-type]
            attributes={key: int(value) for key, value in attributes.items()},  # type: ignore[call-overload]
        )
        await proxy.update_toxic(toxic, updated)
        return updated

    async def remove_toxic(self, proxy_name: str, toxic_name: str) -> None:
        proxy = self.get(proxy_name)
        toxic = proxy.find_toxic(toxic_name)
        if toxic is None:
            raise TOXIC_NOT_FOUND
        await proxy.remove_toxic(toxic)


__all__ = ["ApiError", "ProxyCollection"]
