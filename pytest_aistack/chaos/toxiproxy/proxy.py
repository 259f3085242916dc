"""A proxy: its listener, its connections and its toxics (toxiproxy ``proxy.go``).

- Enabling binds the listener; ``listen`` then shows the bound address, so
  ``127.0.0.1:0`` reports the port it got (proxy.go listen).
- Each accepted client gets a connection to ``upstream``; if that fails the client is
  accepted and then closed (proxy.go accept).
- Disabling closes the listener and every open connection; toxics stay (proxy.go stop).
- Changing ``listen`` or ``upstream`` restarts the proxy (proxy.go Update).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import struct
from typing import TYPE_CHECKING, cast

from .errors import internal
from .link import Link
from .toxics import DIRECTIONS, DOWNSTREAM, UPSTREAM, Toxic

if TYPE_CHECKING:
    from .metrics import Metrics

# Connecting to an upstream that does not answer must not hold a client forever.
UPSTREAM_CONNECT_TIMEOUT = 10.0


class ProxyAlreadyStarted(Exception):
    pass


def split_host_port(address: str) -> tuple[str, str]:
    """Go's net.SplitHostPort, with Go's messages."""
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise ValueError(f"address {address}: missing ']' in address")
        host, rest = address[1:end], address[end + 1 :]
        if not rest.startswith(":"):
            raise ValueError(f"address {address}: missing port in address")
        return host, rest[1:]
    if ":" not in address:
        raise ValueError(f"address {address}: missing port in address")
    host, port = address.rsplit(":", 1)
    if ":" in host:
        raise ValueError(f"address {address}: too many colons in address")
    return host, port


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


_BIND_ERRORS = {
    errno.EADDRINUSE: "address already in use",
    errno.EACCES: "permission denied",
    errno.EADDRNOTAVAIL: "cannot assign requested address",
}


async def bind_listener(loop: asyncio.AbstractEventLoop, listen: str) -> socket.socket:
    """A listening socket for ``listen``; errors read like Go's ``listen tcp ...``."""
    try:
        # Go listens on a free port of every interface for an empty address.
        host, port_text = split_host_port(listen) if listen else ("", "0")
    except ValueError as exc:
        raise internal(f"listen tcp: {exc}") from None
    if not port_text.isdigit() or int(port_text) > 65535:
        raise internal(f"listen tcp: lookup tcp/{port_text}: unknown port")
    port = int(port_text)
    # An empty host means every interface to Go; this harness listens on loopback only.
    bind_host = host or "127.0.0.1"
    try:
        infos = await loop.getaddrinfo(
            bind_host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror:
        raise internal(f"listen tcp: lookup {bind_host}: no such host") from None
    # Go prefers IPv4 for names that resolve to both (``localhost``).
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, _type, _proto, _canon, sockaddr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        reason = _BIND_ERRORS.get(exc.errno or 0, exc.strerror or str(exc))
        raise internal(
            f"listen tcp {format_address(str(sockaddr[0]), port)}: bind: {reason}"
        ) from None
    sock.setblocking(False)
    return sock


class _Side(asyncio.Protocol):
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
        link = self._link_in()
        if link is not None:
            link.feed_eof()
        elif self.is_client:
            self.connection.early_eof = True
        # Keep the socket open: upstream closes the far side first and this side follows.
        return True

    def connection_lost(self, exc: Exception | None) -> None:
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

    def __init__(self, proxy: Proxy) -> None:
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

    def client_made(self, side: _Side, transport: asyncio.Transport) -> None:
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
                    lambda: _Side(self, is_client=False), host or "127.0.0.1", int(port)
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
            on_done=self._link_done,
            reset_connection=self.reset,
        )

    def link(self, direction: str) -> Link | None:
        return self.up if direction == UPSTREAM else self.down

    def side_lost(self, side: _Side) -> None:
        link = side._link_in()
        if link is not None:
            link.feed_eof()
        elif side.is_client:
            self.abort()
        self._maybe_finish()

    def _link_done(self, link: Link) -> None:
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
        self.proxy.connection_closed(self)

    def abort(self) -> None:
        """Close both sockets now (proxy disabled or deleted; upstream unreachable)."""
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
        for transport in (self.client, self.upstream):
            if transport is None or transport.is_closing():
                continue
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.abort()


class Proxy:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        metrics: Metrics,
        name: str,
        listen: str,
        upstream: str,
    ) -> None:
        self.loop = loop
        self.metrics = metrics
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.chains: dict[str, list[Toxic]] = {direction: [] for direction in DIRECTIONS}
        self.connections: set[Connection] = set()
        self._server: asyncio.AbstractServer | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [toxic.to_json() for toxic in self.toxics()],
        }

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        if self.enabled:
            raise ProxyAlreadyStarted
        sock = await bind_listener(self.loop, self.listen)
        host, port = sock.getsockname()[:2]
        self.listen = format_address(host, port)
        self._server = await self.loop.create_server(
            lambda: _Side(Connection(self), is_client=True), sock=sock
        )
        self.enabled = True

    async def stop(self) -> None:
        if not self.enabled:
            return
        self.enabled = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for connection in list(self.connections):
            connection.abort()

    async def update(self, listen: str, upstream: str, enabled: bool) -> None:
        if listen != self.listen or upstream != self.upstream:
            await self.stop()
            self.listen = listen
            self.upstream = upstream
        if enabled != self.enabled:
            if enabled:
                await self.start()
            else:
                await self.stop()

    def connection_opened(self, connection: Connection) -> None:
        self.connections.add(connection)
        self.metrics.accepted[self.name] += 1
        self.metrics.active[self.name] += 1

    def connection_closed(self, connection: Connection) -> None:
        if connection in self.connections:
            self.connections.discard(connection)
            self.metrics.active[self.name] -= 1

    # -- toxics (toxic_collection.go) ---------------------------------------------------
    def toxics(self) -> list[Toxic]:
        return [toxic for direction in DIRECTIONS for toxic in self.chains[direction]]

    def find_toxic(self, name: str) -> Toxic | None:
        for toxic in self.toxics():
            if toxic.name == name:
                return toxic
        return None

    def _links(self, direction: str) -> list[Link]:
        links = (connection.link(direction) for connection in self.connections)
        return [link for link in links if link is not None]

    def add_toxic(self, toxic: Toxic) -> None:
        self.chains[toxic.direction].append(toxic)
        for link in self._links(toxic.direction):
            link.add_toxic(toxic)

    async def update_toxic(self, old: Toxic, new: Toxic) -> None:
        chain = self.chains[old.direction]
        chain[chain.index(old)] = new
        links = self._links(new.direction)
        await asyncio.gather(*(link.update_toxic(new) for link in links))

    async def remove_toxic(self, toxic: Toxic) -> None:
        self.chains[toxic.direction].remove(toxic)
        closes = toxic.kind.closes_on_removal
        links = self._links(toxic.direction)
        await asyncio.gather(
            *(link.remove_toxic(toxic.name, closes_connection=closes) for link in links)
        )

    async def reset_toxics(self) -> None:
        for toxic in self.toxics():
            await self.remove_toxic(toxic)
