"""One proxied connection: the client socket, the upstream socket and the two links
between them (toxiproxy ``proxy.go`` accept, ``link.go``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, cast

from .addresses import split_host_port
from .link import Link
from .toxic_types import DOWNSTREAM, UPSTREAM, EmbeddedToxic

if TYPE_CHECKING:
    from .httpwatch import ConnectionWatch
    from .metrics import Metrics

# Connecting to an upstream that does not answer must not hold a client forever.
UPSTREAM_CONNECT_TIMEOUT = 10.0


class ConnectionOwner(Protocol):
    """What a connection needs of the proxy that accepted it (:class:`.proxy.EmbeddedProxy`)."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def name(self) -> str: ...

    @property
    def listen(self) -> str: ...

    @property
    def upstream(self) -> str: ...

    @property
    def enabled(self) -> bool: ...

    @property
    def chains(self) -> Mapping[str, Sequence[EmbeddedToxic]]:
        """The toxics of each direction, in order: a new connection's links start with them."""
        ...

    def connection_opened(self, connection: Connection) -> None: ...

    def connection_closed(self, connection: Connection) -> None: ...


class Side(asyncio.Protocol):
    """One socket of a connection: feeds the link it is the source of."""

    def __init__(self, connection: Connection, is_client: bool) -> None:
        self.connection = connection
        self.is_client = is_client
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing it.
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Go's TCP connections have Nagle off; small request/response pairs need it.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.is_client:
            self.connection.client_made(self, transport)

    def _link_in(self) -> Link | None:
        return self.connection.up if self.is_client else self.connection.down

    def _link_out(self) -> Link | None:
        return self.connection.down if self.is_client else self.connection.up

    def data_received(self, data: bytes) -> None:
        link = self._link_in()
        if link is not None:
            link.feed(data)
        elif self.is_client:
            # uvloop may deliver data although reading was paused in connection_made;
            # hold it until the upstream connection exists.
            self.connection.early_data.append(data)

    def eof_received(self) -> bool:
        self.connection.note_end("client_closed" if self.is_client else "upstream_closed")
        link = self._link_in()
        if link is not None:
            link.feed_eof()
        elif self.is_client:
            self.connection.early_eof = True
        # Keep the socket open: upstream closes the far side first and this side follows.
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        side = "client" if self.is_client else "upstream"
        self.connection.note_end(f"{side}_reset" if exc is not None else f"{side}_closed")
        self.connection.side_lost(self)

    def pause_writing(self) -> None:
        link = self._link_out()
        if link is not None:
            link.pause_source("dest")

    def resume_writing(self) -> None:
        link = self._link_out()
        if link is not None:
            link.resume_source("dest")


class Connection:
    """A client connection and its upstream connection, joined by two links."""

    def __init__(self, proxy: ConnectionOwner) -> None:
        self.proxy = proxy
        self.loop = proxy.loop
        self.client: asyncio.Transport | None = None
        self.upstream: asyncio.Transport | None = None
        self.up: Link | None = None
        self.down: Link | None = None
        self.finished = False
        self.early_data: list[bytes] = []
        self.early_eof = False
        self._connect_task: asyncio.Task[None] | None = None
        # The request ledger's view of this connection (None: ledger off, or not HTTP).
        self.watch: ConnectionWatch | None = None
        self.end_reason: str | None = None  # what ended it first (ledger_records.OUTCOMES)
        self._aborting = False

    def client_made(self, side: Side, transport: asyncio.Transport) -> None:
        self.client = transport
        transport.pause_reading()
        self.proxy.connection_opened(self)
        self._connect_task = self.loop.create_task(self._connect())

    async def _connect(self) -> None:
        proxy = self.proxy
        try:
            host, port = split_host_port(proxy.upstream)
            async with asyncio.timeout(UPSTREAM_CONNECT_TIMEOUT):
                transport, _side = await self.loop.create_connection(
                    lambda: Side(self, is_client=False), host or "127.0.0.1", int(port)
                )
        except (OSError, ValueError, TimeoutError):
            # Unreachable upstream: the client was accepted, now it is closed (proxy.go).
            self.abort()
            return
        if self.finished or self.client is None or self.client.is_closing():
            transport.abort()
            self.abort()
            return
        self.upstream = transport
        listener = proxy.listen
        metrics = proxy.metrics
        self.up = self._make_link(UPSTREAM, self.client, transport, listener, metrics)
        self.down = self._make_link(DOWNSTREAM, transport, self.client, listener, metrics)
        for link in (self.up, self.down):
            for toxic in proxy.chains[link.direction]:
                link.add_toxic(toxic)
        self.watch = metrics.ledger.watch(proxy.name, self._unwatch)
        if self.watch is not None:
            self.up.tap = self.watch.request_bytes
            self.down.tap = self.watch.response_bytes
        for data in self.early_data:
            self.up.feed(data)
        self.early_data.clear()
        if self.early_eof:
            self.up.feed_eof()
        self.client.resume_reading()

    def _make_link(
        self,
        direction: str,
        source: asyncio.Transport,
        dest: asyncio.Transport,
        listener: str,
        metrics: Metrics,
    ) -> Link:
        proxy = self.proxy
        labels = (direction, listener, proxy.name, proxy.upstream)

        def received(nbytes: int) -> None:
            metrics.received[labels] += nbytes

        def sent(nbytes: int) -> None:
            metrics.sent[labels] += nbytes

        def carried(toxic: str) -> None:
            metrics.toxic_connections[(proxy.name, toxic)] += 1

        return Link(
            loop=self.loop,
            direction=direction,
            source=source,
            dest=dest,
            on_received=received,
            on_sent=sent,
            on_toxic_carried=carried,
            on_latency_lateness=metrics.observe_latency_lateness,
            on_done=self._link_done,
            reset_connection=self.reset,
        )

    def _unwatch(self) -> None:
        for link in (self.up, self.down):
            if link is not None:
                link.tap = None

    def note_end(self, reason: str) -> None:
        """Remember what ended the connection first (the ledger's outcome of open exchanges)."""
        if self.end_reason is None and self.watch is not None:
            self.end_reason = reason

    def link(self, direction: str) -> Link | None:
        return self.up if direction == UPSTREAM else self.down

    def side_lost(self, side: Side) -> None:
        link = side._link_in()
        if link is not None:
            link.feed_eof()
        elif side.is_client:
            self.abort()
        self._maybe_finish()

    def _link_done(self, link: Link) -> None:
        if not link.eof_in and not self._aborting:
            # The stream ended inside the chain, not at its source: a toxic closed it.
            self.note_end("toxic_cut")
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if self.finished:
            return
        links_done = all(link is not None and link.done for link in (self.up, self.down))
        transports_closed = all(
            transport is None or transport.is_closing()
            for transport in (self.client, self.upstream)
        )
        if links_done and transports_closed:
            self._finish()

    def _finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        if self.watch is not None:
            self.watch.closed(self.end_reason or "client_closed")
        self.proxy.connection_closed(self)

    def abort(self) -> None:
        """Close both sockets now (proxy disabled or deleted; upstream unreachable)."""
        self._aborting = True
        if not self.proxy.enabled:
            self.note_end("proxy_disabled")
        if self._connect_task is not None and not self._connect_task.done():
            self._connect_task.cancel()
        for link in (self.up, self.down):
            if link is not None:
                link.abort()
        for transport in (self.client, self.upstream):
            if transport is not None:
                transport.abort()
        self._finish()

    def reset(self) -> None:
        """Close both sockets with RST: SO_LINGER on, zero seconds (toxics/reset_peer.go)."""
        self.note_end("toxic_cut")
        for transport in (self.client, self.upstream):
            if transport is None or transport.is_closing():
                continue
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.abort()
