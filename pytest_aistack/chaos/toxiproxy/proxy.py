"""A proxy: its listener, its connections and its toxics (toxiproxy ``proxy.go``).

- Enabling binds the listener; ``listen`` then shows the bound address, so
  ``127.0.0.1:0`` reports the port it got (proxy.go listen).
- Each accepted client gets a connection to ``upstream``; if that fails the client is
  accepted and then closed (proxy.go accept).
- Disabling closes the listener and every open connection; toxics stay (proxy.go stop).
- Changing ``listen`` or ``upstream`` restarts the proxy (proxy.go Update); a listen
  that resolves to the bound address (``localhost:X`` for ``127.0.0.1:X``) is no change
  (toxiproxy #631).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .addresses import bind_listener, format_address, same_listen
from .connection import Connection, Side
from .link import Link
from .toxic_types import DIRECTIONS, EmbeddedToxic

if TYPE_CHECKING:
    from .metrics import Metrics


class ProxyAlreadyStarted(Exception):
    pass


class EmbeddedProxy:
    """One proxy of the embedded server; the client's view of it is ``ProxyInfo``."""

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
        self.chains: dict[str, list[EmbeddedToxic]] = {direction: [] for direction in DIRECTIONS}
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
            lambda: Side(Connection(self), is_client=True), sock=sock
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

    async def differs(self, listen: str, upstream: str) -> bool:
        """Whether a proxy at ``listen`` to ``upstream`` is another proxy than this one.

        ``listen`` is compared resolved: ``localhost:8080`` for a proxy bound to
        ``127.0.0.1:8080`` is the same proxy (toxiproxy #631's ``Differs``).
        """
        return upstream != self.upstream or not await same_listen(self.loop, self.listen, listen)

    async def update(self, listen: str, upstream: str, enabled: bool) -> None:
        if await self.differs(listen, upstream):
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
    def toxics(self) -> list[EmbeddedToxic]:
        return [toxic for direction in DIRECTIONS for toxic in self.chains[direction]]

    def find_toxic(self, name: str) -> EmbeddedToxic | None:
        for toxic in self.toxics():
            if toxic.name == name:
                return toxic
        return None

    def _links(self, direction: str) -> list[Link]:
        links = (connection.link(direction) for connection in self.connections)
        return [link for link in links if link is not None]

    def add_toxic(self, toxic: EmbeddedToxic) -> None:
        self.chains[toxic.direction].append(toxic)
        for link in self._links(toxic.direction):
            link.add_toxic(toxic)

    async def update_toxic(self, old: EmbeddedToxic, new: EmbeddedToxic) -> None:
        chain = self.chains[old.direction]
        chain[chain.index(old)] = new
        links = self._links(new.direction)
        await asyncio.gather(*(link.update_toxic(new) for link in links))

    async def remove_toxic(self, toxic: EmbeddedToxic) -> None:
        self.chains[toxic.direction].remove(toxic)
        closes = toxic.kind.closes_on_removal
        links = self._links(toxic.direction)
        await asyncio.gather(
            *(link.remove_toxic(toxic.name, closes_connection=closes) for link in links)
        )

    async def reset_toxics(self) -> None:
        for toxic in self.toxics():
            await self.remove_toxic(toxic)
