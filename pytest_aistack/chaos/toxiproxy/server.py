"""Run the embedded Toxiproxy: in the current event loop, or in a thread of its own.

``ToxiproxyServer`` serves the API on the running loop (``await server.start()``).
``EmbeddedToxiproxy`` runs one on a private thread and loop (uvloop when installed) and
is what fixtures use from synchronous code::

    with EmbeddedToxiproxy() as toxiproxy:
        client = ToxiproxyClient(toxiproxy.url)
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from .api import Api
from .collection import ProxyCollection
from .http import serve_connection
from .ledger import DEFAULT_CAPACITY
from .metrics import Metrics

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class ToxiproxyServer:
    """The API and its proxies on the event loop that calls :meth:`start`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ledger: bool = True,
        ledger_capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        self.host = host
        self.port = port
        self._server: asyncio.AbstractServer | None = None
        self._collection: ProxyCollection | None = None
        self.metrics = Metrics()
        self.metrics.ledger.configure(enabled=ledger, capacity=ledger_capacity)
        self._connections: dict[asyncio.StreamWriter, asyncio.Task[object] | None] = {}

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the embedded Toxiproxy is not started; call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def collection(self) -> ProxyCollection:
        if self._collection is None:
            raise RuntimeError("the embedded Toxiproxy is not started; call start() first")
        return self._collection

    def count_unhandled_errors(self, loop: asyncio.AbstractEventLoop) -> None:
        """Count (and still log) exceptions nothing handled, in ``/metrics``.

        Only for loops this server owns (the thread runner, the CLI): the handler is
        loop-wide.
        """

        def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            self.metrics.internal_errors += 1
            loop.default_exception_handler(context)

        loop.set_exception_handler(handler)

    async def start(self) -> str:
        loop = asyncio.get_running_loop()
        metrics = self.metrics
        self._collection = ProxyCollection(loop, metrics)
        api = Api(self._collection, metrics)

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._connections[writer] = asyncio.current_task()
            try:
                await serve_connection(reader, writer, api.handle)
            finally:
                self._connections.pop(writer, None)

        self._server = await asyncio.start_server(on_client, self.host, self.port)
        sockname = self._server.sockets[0].getsockname()
        self.port = int(sockname[1])
        return self.url

    async def stop(self) -> None:
        """Close the API, every proxy listener and every proxied connection."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        # Closing the API connections ends their handlers (their next read sees EOF);
        # cancelling them instead makes asyncio's stream callback log a traceback.
        handlers = [task for task in self._connections.values() if task is not None]
        for writer in list(self._connections):
            writer.close()
        if handlers:
            await asyncio.wait(handlers, timeout=STOP_TIMEOUT)
        if self._collection is not None:
            for proxy in list(self._collection.proxies.values()):
                await proxy.stop()
            self._collection.proxies.clear()
        if server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_TIMEOUT):
                    await server.wait_closed()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when it is installed (the proxy's throughput and latency depend on it)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


class EmbeddedToxiproxy:
    """A :class:`ToxiproxyServer` on a daemon thread with its own loop; sync start/stop."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        loop_factory: Callable[[], asyncio.AbstractEventLoop] = new_event_loop,
        *,
        ledger: bool = True,
        ledger_capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        self._server = ToxiproxyServer(host, port, ledger=ledger, ledger_capacity=ledger_capacity)
        self._loop_factory = loop_factory
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopping: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> str:
        if self._thread is not None:
            raise RuntimeError("this EmbeddedToxiproxy was already started")
        self._thread = threading.Thread(target=self._run, name="aistack-toxiproxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError(f"the embedded Toxiproxy did not start within {START_TIMEOUT} s")
        if self._error is not None:
            raise RuntimeError(f"the embedded Toxiproxy failed to start: {self._error}")
        return self.url

    def _run(self) -> None:
        loop = self._loop_factory()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        self._server.count_unhandled_errors(asyncio.get_running_loop())
        try:
            await self._server.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            await self._server.stop()
            # Let cancelled stage tasks finish before the loop closes.
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    def stop(self) -> None:
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None or loop is None or stopping is None:
            return
        if thread.is_alive():
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stopping.set)
            thread.join(STOP_TIMEOUT)
            if thread.is_alive():
                raise RuntimeError(f"the embedded Toxiproxy did not stop within {STOP_TIMEOUT} s")

    def __enter__(self) -> EmbeddedToxiproxy:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
