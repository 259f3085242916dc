"""One direction of one proxied connection: source -> chain of toxic stages -> destination.

Re-expresses toxiproxy ``link.go`` and ``toxics/toxic.go`` on asyncio:

- A link owns one *stage* per toxic of its direction, in the order the toxics were added
  (``toxic_collection.go`` appends to the chain). A stage has an input queue and a task
  running the toxic's behaviour; it hands chunks to the next stage or to the sink.
- With no toxics the source writes straight to the destination (no queue, no task):
  that is the fast path the benchmark measures.
- Toxics added, updated or removed while the connection is open apply to it at once:
  a stage's task is cancelled (the toxic's "interrupt"); behaviours hand back the chunk
  they were holding, so no data is dropped or reordered (``link.go`` RemoveToxic).
- Each chunk carries its arrival time, so ``latency`` delays each chunk from when it
  arrived and pipelined data is not serialised (``toxics/latency.go``).
- Closing a stage (a toxic ending the stream) sends end-of-stream down the chain; the
  sink then closes the destination, which ends the other direction too (``link.go`` write).
- Flow control: a link stops reading its source while its destination's write buffer is
  full or more than ``HIGH_WATER`` bytes wait in its stages, and resumes below ``LOW_WATER``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .toxic_types import Chunk, EmbeddedToxic
from .toxics import run_noop

# Upstream buffers up to 1024 chunks of 32 KiB in front of a latency toxic
# (toxics/latency.go GetBufferSize); the same order of bytes keeps a 100 ms latency from
# capping throughput at HIGH_WATER / latency.
HIGH_WATER = 32 << 20
LOW_WATER = 8 << 20


class StageClosed(Exception):
    """Raised inside a behaviour when its stage was closed underneath it."""


class Stage:
    """One toxic running on one link (upstream's ToxicStub); behaviours see it as a
    :class:`~.toxic_types.ToxicStage`."""

    def __init__(self, link: Link, toxic: EmbeddedToxic) -> None:
        self.link = link
        self.toxic = toxic
        self.queue: deque[Chunk | None] = deque()
        self.next: Stage | None = None
        self.closed = False
        # Per-connection state of stateful toxics (limit_data) survives updates.
        self.state: dict[str, Any] = {}
        self.carried = False
        self._waiter: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self.active = False

    def is_closed(self) -> bool:
        return self.closed

    # -- used by the link and the previous stage -------------------------------------
    def push(self, chunk: Chunk | None) -> None:
        if self.closed:
            return
        if chunk is not None:
            self.link.buffered += len(chunk.data)
            if not self.carried:
                self.carried = True
                self.link.on_toxic_carried(self.toxic.name)
            if self.link.buffered > HIGH_WATER:
                self.link.pause_source("chain")
        self.queue.append(chunk)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def start(self) -> None:
        # Toxicity is rolled when the toxic starts on this connection and again when the
        # toxic is updated; upstream rolls on every (re)start of a stub (toxics/toxic.go Run).
        self.active = random.random() < self.toxic.toxicity
        self._task = self.link.loop.create_task(self._run(), name=f"toxic-{self.toxic.name}")

    async def _run(self) -> None:
        behaviour = self.toxic.kind.run if self.active else run_noop
        with contextlib.suppress(StageClosed):
            await behaviour(self, dict(self.toxic.attributes))

    async def interrupt(self) -> None:
        """Stop the behaviour; it hands back any chunk it holds (upstream InterruptToxic)."""
        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    # -- used by behaviours ----------------------------------------------------------
    async def receive(self) -> Chunk | None:
        """The next chunk, or None at end of stream."""
        while not self.queue:
            if self.closed:
                raise StageClosed
            self._waiter = self.link.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        chunk = self.queue.popleft()
        if chunk is not None:
            self.link.took(len(chunk.data))
        return chunk

    def unreceive(self, chunk: Chunk | None) -> None:
        """Put a chunk back at the head of the queue (an interrupted behaviour's chunk)."""
        if chunk is not None:
            self.link.buffered += len(chunk.data)
        self.queue.appendleft(chunk)

    def emit(self, chunk: Chunk) -> None:
        nxt = self.next
        if nxt is None:
            self.link.deliver(chunk.data)
        else:
            nxt.push(chunk)

    def close(self) -> None:
        """End the stream here: drop what waits, pass end-of-stream on (stub Close)."""
        if self.closed:
            return
        self.closed = True
        while self.queue:
            chunk = self.queue.popleft()
            if chunk is not None:
                self.link.took(len(chunk.data))
        nxt = self.next
        if nxt is None:
            self.link.deliver_eof()
        else:
            nxt.push(None)

    def flush_into_next(self) -> None:
        """Move everything still queued here to the next stage (toxic removal)."""
        while self.queue:
            chunk = self.queue.popleft()
            if chunk is None:
                self.close()
                return
            self.link.took(len(chunk.data))
            self.emit(chunk)


@dataclass(eq=False)
class Link:
    """Bytes of one direction: ``source`` reads feed it, it writes to ``dest``."""

    loop: asyncio.AbstractEventLoop
    direction: str
    source: asyncio.Transport
    dest: asyncio.Transport
    on_received: Callable[[int], None]
    on_sent: Callable[[int], None]
    on_toxic_carried: Callable[[str], None]
    on_latency_lateness: Callable[[float], None]
    on_done: Callable[[Link], None]
    reset_connection: Callable[[], None]
    stages: list[Stage] = field(default_factory=list)
    # Reads each chunk once it is written to ``dest`` (the request ledger's watch).
    tap: Callable[[bytes], None] | None = None
    buffered: int = 0
    eof_in: bool = False
    done: bool = False
    _pause_reasons: set[str] = field(default_factory=set)

    # -- structure -------------------------------------------------------------------
    def _relink(self) -> None:
        for index, stage in enumerate(self.stages):
            stage.next = self.stages[index + 1] if index + 1 < len(self.stages) else None

    def add_toxic(self, toxic: EmbeddedToxic) -> None:
        if self.done:
            return
        stage = Stage(self, toxic)
        self.stages.append(stage)
        self._relink()
        stage.start()

    async def update_toxic(self, toxic: EmbeddedToxic) -> None:
        stage = self._stage_of(toxic.name)
        if stage is None or stage.closed:
            return
        await stage.interrupt()
        if stage.is_closed():  # the behaviour may have ended the stream meanwhile
            return
        stage.toxic = toxic
        stage.start()

    async def remove_toxic(self, name: str, *, closes_connection: bool) -> None:
        stage = self._stage_of(name)
        if stage is None:
            return
        await stage.interrupt()
        if closes_connection:
            # A timeout toxic's cleanup ends the stream (toxics/timeout.go Cleanup).
            stage.close()
        else:
            stage.flush_into_next()
        if stage in self.stages:
            self.stages.remove(stage)
            self._relink()
        self.took(0)

    def _stage_of(self, name: str) -> Stage | None:
        for stage in self.stages:
            if stage.toxic.name == name:
                return stage
        return None

    # -- data in ---------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self.eof_in:
            return
        self.on_received(len(data))
        if self.stages:
            self.stages[0].push(Chunk(data, time.monotonic()))
        else:
            self.deliver(data)

    def feed_eof(self) -> None:
        if self.eof_in:
            return
        self.eof_in = True
        if self.stages:
            self.stages[0].push(None)
        else:
            self.deliver_eof()

    # -- data out --------------------------------------------------------------------
    def deliver(self, data: bytes) -> None:
        if self.done or not data:
            return
        if self.dest.is_closing():
            return
        self.dest.write(data)
        self.on_sent(len(data))
        tap = self.tap
        if tap is not None:
            tap(data)

    def deliver_eof(self) -> None:
        if self.done:
            return
        self.done = True
        for stage in self.stages:
            stage.cancel()
        # Upstream closes the destination connection entirely (link.go write -> dest.Close).
        if not self.dest.is_closing():
            self.dest.close()
        self.on_done(self)

    def abort(self) -> None:
        if self.done:
            return
        self.done = True
        for stage in self.stages:
            stage.cancel()
        self.on_done(self)

    # -- flow control ----------------------------------------------------------------
    def took(self, nbytes: int) -> None:
        self.buffered -= nbytes
        if self.buffered <= LOW_WATER and "chain" in self._pause_reasons:
            self.resume_source("chain")

    def pause_source(self, reason: str) -> None:
        if reason in self._pause_reasons:
            return
        self._pause_reasons.add(reason)
        if len(self._pause_reasons) == 1 and not self.source.is_closing():
            self.source.pause_reading()

    def resume_source(self, reason: str) -> None:
        if reason not in self._pause_reasons:
            return
        self._pause_reasons.discard(reason)
        if not self._pause_reasons and not self.source.is_closing():
            self.source.resume_reading()
