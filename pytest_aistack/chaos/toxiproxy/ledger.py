"""The request ledger: per proxy, the HTTP/1.1 requests that passed upstream (our extension).

Every byte between the gateway and a backend passes a proxy, so the proxy can say which
requests reached which backend, for any backend (docs/chaos.md, "Request ledger"). Each
proxied connection gets a :class:`~.httpwatch.ConnectionWatch` that frames the bytes as
they are written to each side and fills the proxy's
:class:`~.ledger_records.LedgerEntry` rows (:mod:`.ledger_records`).

- Records live in a ring of ``capacity`` per proxy; the oldest go first and are counted
  in ``dropped``. Sequence numbers are server-wide and never reused, so ``since=SEQ``
  stays valid across clears and proxy re-creation.
- Times are wall clock (``time.time()``): a client in another process compares them
  with its own ``time.time()`` (same machine, same clock).
- A record is added when its request head has been written to the upstream and updated
  in place until the exchange ends; ``outcome`` says how (``ledger_records.OUTCOMES``).
"""

from __future__ import annotations

from collections.abc import Callable

from .httpwatch import ConnectionWatch
from .ledger_records import LedgerRing

DEFAULT_CAPACITY = 10_000


class EmbeddedLedger:
    """The rings of every proxy of one server, and the switch that turns watching on
    (the client's view of it is ``Ledger``)."""

    def __init__(self, *, enabled: bool = True, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"ledger capacity must be >= 1, got {capacity}")
        self.enabled = enabled
        self.capacity = capacity
        self.proxies: dict[str, LedgerRing] = {}
        self._seq = 0
        self._connections = 0

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    @property
    def last_seq(self) -> int:
        return self._seq

    def of(self, proxy: str) -> LedgerRing:
        ledger = self.proxies.get(proxy)
        if ledger is None:
            ledger = LedgerRing(proxy, self.capacity, self._next_seq)
            self.proxies[proxy] = ledger
        return ledger

    def configure(self, *, enabled: bool | None = None, capacity: int | None = None) -> None:
        """Applies to connections opened from now on; a smaller ring drops its oldest."""
        if capacity is not None:
            if capacity < 1:
                raise ValueError(f"ledger capacity must be >= 1, got {capacity}")
            self.capacity = capacity
            for ledger in self.proxies.values():
                ledger.capacity = capacity
                while len(ledger.records) > capacity:
                    ledger.records.popleft()
                    ledger.dropped += 1
        if enabled is not None:
            self.enabled = enabled

    def watch(self, proxy: str, detach: Callable[[], None]) -> ConnectionWatch | None:
        """A watch for a new connection of ``proxy``; None while the ledger is off."""
        if not self.enabled:
            return None
        self._connections += 1
        ledger = self.of(proxy)
        ledger.connections.total += 1
        return ConnectionWatch(ledger, self._connections, detach)

    def clear(self, proxy: str | None = None) -> None:
        targets = self.proxies.values() if proxy is None else [self.of(proxy)]
        for ledger in targets:
            ledger.clear()
