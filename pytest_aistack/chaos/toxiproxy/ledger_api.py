"""``/aistack/ledger``: the request ledger's HTTP API, beside the Toxiproxy one.

Upstream Toxiproxy has no ``/aistack/`` paths (they answer ``404 page not found``
there), so a client can tell our server from upstream's by asking. Bodies are JSON;
errors use upstream's shape, ``{"error": ..., "status": ...}``.

- ``GET /aistack/ledger[?since=SEQ&limit=N]``: every proxy's records
- ``GET /aistack/ledger/{proxy}[?since=SEQ&limit=N]``: one proxy's records
- ``DELETE /aistack/ledger`` / ``DELETE /aistack/ledger/{proxy}``: clear (204)
- ``PATCH /aistack/ledger`` ``{"enabled": bool, "capacity": int}``: switch, resize
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from .collection import ProxyCollection
from .http import Request, Response
from .ledger import EmbeddedLedger
from .ledger_records import IN_PROGRESS, LedgerEntry, LedgerRing

PREFIX = "/aistack/ledger"
JSON = "application/json"


def _json(value: object, status: int = 200) -> Response:
    return Response(status, json.dumps(value).encode() + b"\n", JSON)


def _error(status: int, message: str) -> Response:
    return _json({"error": message, "status": status}, status)


class _BadQuery(Exception):
    pass


def _int_param(query: dict[str, list[str]], name: str, default: int | None) -> int | None:
    values = query.get(name)
    if not values:
        return default
    try:
        value = int(values[-1])
    except ValueError:
        raise _BadQuery(f"{name}={values[-1]!r}: expected a whole number") from None
    if value < 0:
        raise _BadQuery(f"{name}={value}: expected a whole number >= 0")
    return value


class LedgerApi:
    def __init__(self, ledger: EmbeddedLedger, collection: ProxyCollection) -> None:
        self.ledger = ledger
        self.collection = collection

    def handles(self, path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    async def handle(self, request: Request) -> Response:
        if request.headers.get("user-agent", "").startswith("Mozilla/"):
            return Response(403, b"User agent not allowed\n", "text/plain; charset=utf-8")
        name = request.path[len(PREFIX) + 1 :] if request.path != PREFIX else None
        if name is not None and (not name or "/" in name):
            return Response(404, b"404 page not found\n", "text/plain; charset=utf-8")
        try:
            query = parse_qs(request.query, keep_blank_values=True)
            if request.method == "GET":
                return self._show(name, query)
            if request.method == "DELETE":
                if name is not None and not self._known(name):
                    return _error(404, "proxy not found")
                self.ledger.clear(name)
                return Response(204)
            if request.method == "PATCH" and name is None:
                return self._configure(request.body)
        except _BadQuery as exc:
            return _error(400, str(exc))
        return Response(405)

    def _known(self, name: str) -> bool:
        return name in self.collection.proxies or name in self.ledger.proxies

    def _show(self, name: str | None, query: dict[str, list[str]]) -> Response:
        since = _int_param(query, "since", 0) or 0
        limit = _int_param(query, "limit", None)
        if name is not None:
            if not self._known(name):
                return _error(404, "proxy not found")
            ledger = self.ledger.of(name)
            records = ledger.since(since, limit)
            return _json(
                {
                    **self._status(),
                    "proxy": name,
                    **ledger.to_json(records),
                    "next": self._next(ledger, since, records, limit),
                }
            )
        names = sorted(set(self.collection.proxies) | set(self.ledger.proxies))
        proxies: dict[str, object] = {}
        nexts = []
        for proxy in names:
            ledger = self.ledger.of(proxy)
            records = ledger.since(since, limit)
            proxies[proxy] = ledger.to_json(records)
            nexts.append(self._next(ledger, since, records, limit))
        return _json(
            {**self._status(), "proxies": proxies, "next": min(nexts, default=self.ledger.last_seq)}
        )

    def _status(self) -> dict[str, object]:
        return {"enabled": self.ledger.enabled, "capacity": self.ledger.capacity}

    def _next(
        self, ledger: LedgerRing, since: int, page: list[LedgerEntry], limit: int | None
    ) -> int:
        """Where to poll next: before the oldest record still in progress (records change
        in place until they end), else after the last record of this answer."""
        open_seqs = [r.seq for r in ledger.since(since) if r.outcome == IN_PROGRESS]
        if limit is not None and len(page) == limit and page:
            open_seqs = [s for s in open_seqs if s <= page[-1].seq] or [page[-1].seq + 1]
        return min(open_seqs) - 1 if open_seqs else max(since, self.ledger.last_seq)

    def _configure(self, body: bytes) -> Response:
        try:
            payload = json.loads(body or b"{}")
        except ValueError as exc:
            return _error(400, f"bad request body: {exc}")
        if not isinstance(payload, dict) or set(payload) - {"enabled", "capacity"}:
            return _error(400, 'expected {"enabled": true|false, "capacity": N >= 1}')
        enabled = payload.get("enabled")
        capacity = payload.get("capacity")
        if enabled is not None and not isinstance(enabled, bool):
            return _error(400, f"enabled: expected true or false, got {enabled!r}")
        if capacity is not None and (
            isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1
        ):
            return _error(400, f"capacity: expected a whole number >= 1, got {capacity!r}")
        self.ledger.configure(enabled=enabled, capacity=capacity)
        return _json(self._status())
