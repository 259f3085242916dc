"""Run the raw server in this process until SIGTERM/SIGINT, then drain (docs/mock_llm.md)."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from pytest_aistack.runtime.process import announce_ready

from .config import MockConfig
from .engine import Engine
from .server import MockHttpServer


def _runner(loop: str) -> Callable[[Coroutine[Any, Any, int]], int]:
    if loop in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if loop == "uvloop":
                raise SystemExit(
                    "aistack mock-llm: --loop uvloop but uvloop is not installed; "
                    "pip install uvloop, or use --loop asyncio"
                ) from None
        else:
            return lambda coro: uvloop.run(coro)
    return asyncio.run


def serve(config: MockConfig, host: str, port: int, loop: str = "auto") -> int:
    return _runner(loop)(_serve(config, host, port))


async def _serve(config: MockConfig, host: str, port: int) -> int:
    engine = Engine(config)
    server = MockHttpServer(engine)
    bound_host, bound_port = await server.start(host, port)
    engine.start()
    # Everything alive now (modules, classes, the server) lives forever: move it out of
    # the collector's view, so a full collection under load scans only request objects
    # (~20,000 fewer; a full collection went from ~24 ms to a few ms of CPU).
    gc.collect()
    gc.freeze()
    # Request objects die by reference counting within a stream's lifetime, so an older-
    # generation collection costs about the same however often it runs (it scans the
    # live streams' objects: ~5 ms at 1,000 streams). Run those 10x less often than the
    # default; young collections stay small and frequent.
    gc.set_threshold(700, 100, 100)
    signals = asyncio.Queue[int]()
    running = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        running.add_signal_handler(sig, signals.put_nowait, int(sig))
    announce_ready(
        "mock-llm",
        url=f"http://{bound_host}:{bound_port}",
        name=config.name,
        models=list(config.models),
        admin_token=config.admin_token,
        pid=_pid(),
    )
    try:
        await signals.get()
        engine.begin_drain()
        # --disable drain / drain_deadline (behaviours.py): no wait, or no limit on it.
        within_s: float | None = config.drain_timeout_s
        if "drain" in engine.off:
            within_s = 0.0
        elif "drain_deadline" in engine.off:
            within_s = None
        log(f"draining: {engine.in_flight} in flight, up to {within_s} s")
        drained = asyncio.ensure_future(engine.wait_idle(within_s))
        second = asyncio.ensure_future(signals.get())
        await asyncio.wait({drained, second}, return_when=asyncio.FIRST_COMPLETED)
        second.cancel()
        if not drained.done() or not drained.result():
            drained.cancel()
            log(f"cutting {engine.in_flight} request(s) still in flight")
        else:
            log("drained")
    finally:
        if engine.dependency is not None:
            engine.dependency.stop()
        await server.close()
    return 0


def _pid() -> int:
    import os

    return os.getpid()


def log(message: str) -> None:
    print(f"mock-llm: {message}", file=sys.stderr, flush=True)
