"""An embedded, behaviour-compatible Toxiproxy 2.x server (asyncio; uvloop when installed).

``EmbeddedToxiproxy`` runs it on a thread of its own (sync start/stop, for fixtures);
``ToxiproxyServer`` runs it on the caller's event loop (async start/stop);
``aistack toxiproxy`` runs it as a process. See docs/chaos.md.
"""

from .api import VERSION
from .server import EmbeddedToxiproxy, ToxiproxyServer

__all__ = ["VERSION", "EmbeddedToxiproxy", "ToxiproxyServer"]
