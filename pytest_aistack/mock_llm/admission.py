"""Admission of generation requests: bounded concurrency, a FIFO queue, drain.

At most ``max_concurrency`` requests run at once (0 = unlimited); the excess waits in a
FIFO queue of ``queue_depth`` for up to ``queue_timeout_s`` (then 429), and a request
that finds the queue full is shed (503) at once. A finished request hands its slot to
the oldest waiter. ``--disable queue_timeout`` / ``shedding`` (behaviours.py) remove
the timeout and the depth limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from .config import MockConfig

WAIT = "wait"  # admit_now: no slot free, room in the queue


class Slots:
    def __init__(self, config: MockConfig) -> None:
        self.max_concurrency = config.max_concurrency
        self.queue_depth = config.queue_depth
        self.queue_timeout_s = (
            None if "queue_timeout" in config.disabled else config.queue_timeout_s
        )
        self.sheds = "shedding" not in config.disabled
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[bool]] = deque()
        self._idle: asyncio.Event | None = None

    @property
    def queued(self) -> int:
        return len(self._waiters)

    def reject_waiting(self) -> None:
        """SIGTERM: every queued request is refused (as draining)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(False)

    async def wait_idle(self, within_s: float | None) -> bool:
        """True when no generation request is in flight (waiting up to ``within_s``; None:
        no limit)."""
        if self.in_flight == 0:
            return True
        self._idle = asyncio.Event()  # fresh: an earlier "idle" must not count now
        try:
            await asyncio.wait_for(self._idle.wait(), within_s)
        except TimeoutError:
            return self.in_flight == 0
        return True

    def admit_now(self) -> str | None:
        """Take a slot at once: None (admitted), "shed", or WAIT (queue for one)."""
        cap = self.max_concurrency
        if cap == 0 or (self.in_flight < cap and not self._waiters):
            self.in_flight += 1
            return None
        if self.sheds and len(self._waiters) >= self.queue_depth:
            return "shed"
        return WAIT

    async def admit_queued(self) -> str | None:
        """Wait in the queue for a slot; return None, or why the request is rejected."""
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait({waiter}, timeout=self.queue_timeout_s)
        except BaseException:
            # Cancelled (client gone) after the slot was handed over: give it back.
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.release()
            raise
        finally:
            if not waiter.done():
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
        if waiter.cancelled():
            return "queue_timeout"
        return None if waiter.result() else "draining"

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)  # the slot passes to the oldest waiter
                return
        self.in_flight -= 1
        if self.in_flight == 0 and self._idle is not None:
            self._idle.set()
