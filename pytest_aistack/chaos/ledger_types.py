"""Models of the request ledger (``/aistack/ledger``) and of the traffic counters that
stand in for it on a Toxiproxy without one (re-exported by :mod:`pytest_aistack.chaos.client`).

The ledger is an extension of the embedded server (docs/chaos.md, "Request ledger").
Upstream ``toxiproxy-server`` answers ``404 page not found`` on its paths; the clients
raise :class:`LedgerUnavailable` then, and :meth:`ToxiproxyClient.traffic` reads what
upstream does expose: its Prometheus ``/metrics`` (since 2.4.0; the per-proxy byte
counters only when started with ``-proxy-metrics``, cmd/server/server.go).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .client_types import NotFound


class LedgerUnavailable(NotFound):
    """This Toxiproxy has no request ledger (upstream toxiproxy-server, or an old one)."""


@dataclass(frozen=True)
class LedgerRecord:
    """One HTTP request that passed a proxy upstream, and how its exchange ended."""

    seq: int
    proxy: str
    connection: int
    method: str
    path: str
    request_id: str | None
    started_at: float  # wall clock (time.time()) of the server's machine
    ended_at: float | None
    bytes_up: int
    bytes_down: int
    status: int | None
    outcome: str  # in_progress, complete, client_closed, upstream_reset, toxic_cut, ...

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LedgerRecord:
        ended = data.get("ended_at")
        status = data.get("status")
        request_id = data.get("request_id")
        return cls(
            seq=int(data["seq"]),
            proxy=str(data["proxy"]),
            connection=int(data["connection"]),
            method=str(data["method"]),
            path=str(data["path"]),
            request_id=None if request_id is None else str(request_id),
            started_at=float(data["started_at"]),
            ended_at=None if ended is None else float(ended),
            bytes_up=int(data["bytes_up"]),
            bytes_down=int(data["bytes_down"]),
            status=None if status is None else int(status),
            outcome=str(data["outcome"]),
        )


@dataclass(frozen=True)
class ProxyLedger:
    """One proxy's records (those after ``since``), counters and where to poll next."""

    proxy: str
    enabled: bool
    capacity: int
    dropped: int
    connections: Mapping[str, int]  # total, http, not_http, unparseable
    records: tuple[LedgerRecord, ...]
    next: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, proxy: str | None = None) -> ProxyLedger:
        return cls(
            proxy=str(data.get("proxy", proxy or "")),
            enabled=bool(data.get("enabled", True)),
            capacity=int(data.get("capacity", 0)),
            dropped=int(data["dropped"]),
            connections={str(k): int(v) for k, v in (data.get("connections") or {}).items()},
            records=tuple(LedgerRecord.from_json(item) for item in data.get("records") or ()),
            next=int(data.get("next", 0)),
        )


@dataclass(frozen=True)
class Ledger:
    """Every proxy's ledger (``GET /aistack/ledger``)."""

    enabled: bool
    capacity: int
    proxies: Mapping[str, ProxyLedger]
    next: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ledger:
        enabled = bool(data["enabled"])
        capacity = int(data["capacity"])
        proxies = {
            name: ProxyLedger.from_json(
                {**item, "enabled": enabled, "capacity": capacity, "next": data["next"]},
                proxy=name,
            )
            for name, item in (data.get("proxies") or {}).items()
        }
        return cls(enabled=enabled, capacity=capacity, proxies=proxies, next=int(data["next"]))


@dataclass(frozen=True)
class ProxyTraffic:
    """What a Toxiproxy's ``/metrics`` says about one proxy, when there is no ledger.

    ``connections``: accepted client connections (``aistack_proxy_connections_accepted_total``,
    the embedded server only; None from upstream, which has no such counter).
    ``bytes_up``: bytes read from clients (``toxiproxy_proxy_received_bytes_total``
    ``direction="upstream"``); upstream adds a connection's bytes only when it ends
    (toxiproxy link.go ``read``), so open keep-alive connections do not show yet.
    """

    proxy: str
    connections: int | None = None
    bytes_up: int | None = None
    sources: tuple[str, ...] = field(default=())


_CONNECTIONS = "aistack_proxy_connections_accepted_total"
_RECEIVED = "toxiproxy_proxy_received_bytes_total"


def _labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for part in text.split('",'):
        name, sep, value = part.partition('="')
        if sep:
            labels[name.strip()] = value.rstrip('"').replace('\\"', '"').replace("\\\\", "\\")
    return labels


def parse_traffic(metrics_text: str) -> dict[str, ProxyTraffic]:
    """Per-proxy connection and byte counters from a Prometheus text exposition."""
    connections: dict[str, int] = {}
    received: dict[str, int] = {}
    for line in metrics_text.splitlines():
        if line.startswith("#") or "{" not in line:
            continue
        family, _, rest = line.partition("{")
        if family not in (_CONNECTIONS, _RECEIVED):
            continue
        label_text, _, value_text = rest.rpartition("}")
        try:
            value = int(float(value_text.strip().split()[0]))
        except (ValueError, IndexError):
            continue
        labels = _labels(label_text)
        proxy = labels.get("proxy")
        if proxy is None:
            continue
        if family == _CONNECTIONS:
            connections[proxy] = connections.get(proxy, 0) + value
        elif labels.get("direction") == "upstream":
            received[proxy] = received.get(proxy, 0) + value
    result: dict[str, ProxyTraffic] = {}
    for proxy in sorted(set(connections) | set(received)):
        sources = tuple(
            name
            for name, table in ((_CONNECTIONS, connections), (_RECEIVED, received))
            if proxy in table
        )
        result[proxy] = ProxyTraffic(proxy, connections.get(proxy), received.get(proxy), sources)
    return result
