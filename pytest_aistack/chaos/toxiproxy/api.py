"""Routes and handlers of the control API (toxiproxy ``api.go``).

Status codes and bodies follow upstream: 201 on proxy create and populate, 200 on toxic
create, 204 on deletes and reset, errors as ``{"error": ..., "status": ...}``, 404
``404 page not found`` for unknown paths, 405 with an empty body for a known path with
the wrong method, and 403 for browser user agents (``stopBrowsersMiddleware``).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable

from .collection import ProxyCollection
from .errors import TOXIC_NOT_FOUND, ApiError, internal
from .http import Request, Response
from .jsonio import dumps, parse_body
from .ledger_api import LedgerApi
from .metrics import Metrics

logger = logging.getLogger(__name__)

VERSION = "2.12.0"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"

Route = Callable[[Request, dict[str, str]], Awaitable[Response]]


def _json(value: object, status: int = 200) -> Response:
    return Response(status, dumps(value), JSON)


def _error(error: ApiError) -> Response:
    # Upstream writes the JSON through http.Error: text/plain and a trailing newline.
    return Response(error.status, dumps(error.to_json()) + b"\n", TEXT)


class Api:
    def __init__(self, collection: ProxyCollection, metrics: Metrics) -> None:
        self.collection = collection
        self.metrics = metrics
        self.ledger_api = LedgerApi(metrics.ledger, collection)  # /aistack/ledger, ours
        self._routes: list[tuple[re.Pattern[str], dict[str, Route]]] = [
            (re.compile(r"/reset"), {"POST": self.reset}),
            (re.compile(r"/proxies"), {"GET": self.proxy_index, "POST": self.proxy_create}),
            (re.compile(r"/populate"), {"POST": self.populate}),
            (
                re.compile(r"/proxies/(?P<proxy>[^/]+)"),
                {
                    "GET": self.proxy_show,
                    "POST": self.proxy_update,
                    "PATCH": self.proxy_update,
                    "DELETE": self.proxy_delete,
                },
            ),
            (
                re.compile(r"/proxies/(?P<proxy>[^/]+)/toxics"),
                {"GET": self.toxic_index, "POST": self.toxic_create},
            ),
            (
                re.compile(r"/proxies/(?P<proxy>[^/]+)/toxics/(?P<toxic>[^/]+)"),
                {
                    "GET": self.toxic_show,
                    "POST": self.toxic_update,
                    "PATCH": self.toxic_update,
                    "DELETE": self.toxic_delete,
                },
            ),
            (re.compile(r"/version"), {"GET": self.version}),
        ]

    async def handle(self, request: Request) -> Response:
        response = await self._route(request)
        response.headers["X-Toxiproxy-Request-Id"] = secrets.token_hex(10)
        return response

    async def _route(self, request: Request) -> Response:
        if request.path == "/metrics":
            # Upstream serves /metrics only with metrics enabled; it is always on here.
            return Response(200, self.metrics.render().encode(), "text/plain; version=0.0.4")
        if self.ledger_api.handles(request.path):
            return await self.ledger_api.handle(request)
        for pattern, methods in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            route = methods.get(request.method)
            if route is None:
                return Response(405)
            if request.headers.get("user-agent", "").startswith("Mozilla/"):
                return Response(403, b"User agent not allowed\n", TEXT)
            try:
                async with self.collection.lock:
                    return await route(request, match.groupdict())
            except ApiError as exc:
                return _error(exc)
            except Exception as exc:
                # A bug here must not cost the client its answer: 500 with the error,
                # logged and counted in /metrics (aistack_internal_errors_total).
                self.metrics.internal_errors += 1
                logger.exception("embedded Toxiproxy: %s %s failed", request.method, request.path)
                return _error(internal(f"{type(exc).__name__}: {exc}"))
        return Response(404, b"404 page not found\n", TEXT)

    # -- handlers --------------------------------------------------------------------
    async def reset(self, request: Request, params: dict[str, str]) -> Response:
        await self.collection.reset()
        return Response(204)

    async def proxy_index(self, request: Request, params: dict[str, str]) -> Response:
        proxies = self.collection.proxies
        return _json({name: proxies[name].to_json() for name in sorted(proxies)})

    async def proxy_create(self, request: Request, params: dict[str, str]) -> Response:
        proxy = await self.collection.create(parse_body(request.body))
        return _json(proxy.to_json(), 201)

    async def populate(self, request: Request, params: dict[str, str]) -> Response:
        try:
            proxies = await self.collection.populate(parse_body(request.body))
        except ApiError as exc:
            return _json({**exc.to_json(), "proxies": None}, exc.status)
        # Upstream marshals an empty result as null.
        return _json({"proxies": [proxy.to_json() for proxy in proxies] or None}, 201)

    async def proxy_show(self, request: Request, params: dict[str, str]) -> Response:
        return _json(self.collection.get(params["proxy"]).to_json())

    async def proxy_update(self, request: Request, params: dict[str, str]) -> Response:
        proxy = self.collection.get(params["proxy"])
        body = parse_body(request.body)
        return _json((await self.collection.update(proxy.name, body)).to_json())

    async def proxy_delete(self, request: Request, params: dict[str, str]) -> Response:
        await self.collection.remove(params["proxy"])
        return Response(204)

    async def toxic_index(self, request: Request, params: dict[str, str]) -> Response:
        proxy = self.collection.get(params["proxy"])
        return _json([toxic.to_json() for toxic in proxy.toxics()])

    async def toxic_create(self, request: Request, params: dict[str, str]) -> Response:
        self.collection.get(params["proxy"])
        toxic = await self.collection.add_toxic(params["proxy"], parse_body(request.body))
        return _json(toxic.to_json())

    async def toxic_show(self, request: Request, params: dict[str, str]) -> Response:
        proxy = self.collection.get(params["proxy"])
        toxic = proxy.find_toxic(params["toxic"])
        if toxic is None:
            raise TOXIC_NOT_FOUND
        return _json(toxic.to_json())

    async def toxic_update(self, request: Request, params: dict[str, str]) -> Response:
        proxy = self.collection.get(params["proxy"])
        if proxy.find_toxic(params["toxic"]) is None:
            raise TOXIC_NOT_FOUND
        body = parse_body(request.body)
        toxic = await self.collection.update_toxic(params["proxy"], params["toxic"], body)
        return _json(toxic.to_json())

    async def toxic_delete(self, request: Request, params: dict[str, str]) -> Response:
        await self.collection.remove_toxic(params["proxy"], params["toxic"])
        return Response(204)

    async def version(self, request: Request, params: dict[str, str]) -> Response:
        body = f'{{"version": "{VERSION}"}}\n'.encode()
        return Response(200, body, "application/json;charset=utf-8")
