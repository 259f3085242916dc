"""The request ledger's entries (:class:`LedgerEntry`) and per-proxy ring (:class:`LedgerRing`)
(our extension; :mod:`.ledger` is the server-wide switch that hands each connection its watch).

- A proxy's records live in a ring of ``capacity``; the oldest go first and are counted
  in ``dropped``. Sequence numbers come from the server-wide :class:`~.ledger.EmbeddedLedger`.
- A record is added when its request head has been written to the upstream and updated
  in place by the connection's :class:`~.httpwatch.ConnectionWatch` until the exchange
  ends; ``outcome`` says how (``OUTCOMES``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

IN_PROGRESS = "in_progress"
COMPLETE = "complete"
# How an exchange ended. Anything but "complete" and "in_progress" means the response
# did not fully reach the client.
OUTCOMES = (
    IN_PROGRESS,
    COMPLETE,  # the whole response (by its framing) was written to the client
    "upgraded",  # 101 Switching Protocols or a CONNECT tunnel: not HTTP after that
    "client_closed",  # the client closed (FIN) before the response was complete
    "client_reset",  # the client's socket was reset (RST)
    "upstream_closed",  # the upstream closed before the response was complete
    "upstream_reset",  # the upstream's socket was reset
    "toxic_cut",  # a toxic ended the connection (reset_peer, timeout, limit_data)
    "proxy_disabled",  # the proxy was disabled, deleted or restarted
    "unparseable",  # the bytes stopped being HTTP/1.1 the watch understands
)


@dataclass(slots=True, eq=False)
class LedgerEntry:
    """One request in a ring, updated in place; the client's frozen copy is ``LedgerRecord``."""

    proxy: str
    connection: int  # server-wide connection number: requests of one keep-alive share it
    method: str
    path: str  # request target without the query string
    request_id: str | None  # the request's x-request-id header, if it had one
    started_at: float  # wall clock: first byte of the request head written upstream
    seq: int = 0
    ended_at: float | None = None  # wall clock: the exchange ended (see outcome)
    bytes_up: int = 0  # request bytes written to the upstream (head and body)
    bytes_down: int = 0  # response bytes written to the client (head and body)
    status: int | None = None  # final response status; None: no response head yet
    outcome: str = IN_PROGRESS

    def to_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "proxy": self.proxy,
            "connection": self.connection,
            "method": self.method,
            "path": self.path,
            "request_id": self.request_id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "bytes_up": self.bytes_up,
            "bytes_down": self.bytes_down,
            "status": self.status,
            "outcome": self.outcome,
        }


@dataclass(eq=False)
class ConnectionCounts:
    """Connections the ledger saw on one proxy, by what they carried."""

    total: int = 0
    http: int = 0  # at least one request framed
    not_http: int = 0  # first bytes were not an HTTP/1.x request (RESP, TLS, HTTP/2…)
    unparseable: int = 0  # started as HTTP/1.x, then broke framing

    def to_json(self) -> dict[str, int]:
        return {
            "total": self.total,
            "http": self.http,
            "not_http": self.not_http,
            "unparseable": self.unparseable,
        }


@dataclass(eq=False)
class LedgerRing:
    """One proxy's entries, oldest dropped first; the client's view is ``ProxyLedger``."""

    name: str
    capacity: int
    next_seq: Callable[[], int]
    records: deque[LedgerEntry] = field(default_factory=deque)
    dropped: int = 0
    connections: ConnectionCounts = field(default_factory=ConnectionCounts)

    def add(self, record: LedgerEntry) -> None:
        record.seq = self.next_seq()
        if len(self.records) >= self.capacity:
            self.records.popleft()
            self.dropped += 1
        self.records.append(record)

    def since(self, seq: int, limit: int | None = None) -> list[LedgerEntry]:
        """Records with a sequence number above ``seq``, oldest first (at most ``limit``)."""
        newer: list[LedgerEntry] = []
        for record in reversed(self.records):
            if record.seq <= seq:
                break
            newer.append(record)
        newer.reverse()
        return newer if limit is None else newer[:limit]

    def clear(self) -> None:
        self.records.clear()
        self.dropped = 0
        self.connections = ConnectionCounts()

    def to_json(self, records: Iterable[LedgerEntry]) -> dict[str, object]:
        return {
            "dropped": self.dropped,
            "connections": self.connections.to_json(),
            "records": [record.to_json() for record in records],
        }
