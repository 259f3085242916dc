"""One timer for every stream of the raw server (``server.py``).

Why not one timer (or one coroutine) per stream: at 1,000 concurrent streams the
per-token wake-ups cost more CPU than one core has (a Starlette StreamingResponse tops
out near 23k events/s here). Streams sit in a timing wheel by next deadline; each tick
writes everything that is due (several steps of one stream in one write) and re-arms
for the earliest next deadline. Deadlines are absolute, so a late tick never shifts
later tokens.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from typing import Protocol

from .plan import Step
from .stats import LatenessHistogram

# Steps due within this window are written in the current tick: it bounds wake-ups
# to about two per millisecond whatever the number of streams, and matches the event
# loop's timer resolution (uvloop/libuv round timer delays to whole milliseconds).
EARLY_S = 0.0005
SLOTS_PER_S = 4000  # timing wheel slots of 0.25 ms
# Streams advanced per timer callback before the loop gets a turn: when a tick has more
# due than this (a late tick, a burst), the rest continues in a call_soon callback, so
# the loop polls its sockets in between and a new request is read (and its TTFT clock
# started) within about one batch instead of after the whole backlog. ~64 writes are
# ~0.5 ms of CPU here.
TICK_BATCH = 64
# --precise-timers: write a step at most this early, and wake a millisecond ahead then
# spin (call_soon) to the deadline, because uvloop's timers have 1 ms resolution: the
# default mode's +-0.5 ms shows up as ~0.4 ms ITL error at p50 even with one stream,
# too coarse for a truth server that calibrates a load generator to ~0.1 ms. The
# price: the loop never sleeps while streams are active (100% of its core).
PRECISE_EARLY_S = 0.00002
PRECISE_WAKE_AHEAD_S = 0.001


class ScheduledStream(Protocol):
    """What the scheduler drives: a response with its next step pending (HttpConnection)."""

    closed: bool
    pending: Step | None  # the next step to write; None when nothing is scheduled

    def advance(self, horizon: float) -> None:
        """Write every step due by ``horizon``, then schedule the next one (or finish)."""
        ...


class Scheduler:
    """One timer for all streams: a timing wheel of 1/SLOTS_PER_S-wide buckets of streams.

    A bucket holds the streams whose next step falls in its slot; a small heap
    orders the non-empty slots. Per step that is a list append (plus a heap push for the
    first stream in a slot) instead of a heap push and pop of a (deadline, seq, conn)
    tuple with tuple comparisons, which perf showed as ~4% of the server's CPU at 1,000
    streams. A slot is written whole, so a step leaves at most EARLY_S + one slot early.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, lateness: LatenessHistogram, precise: bool = False
    ) -> None:
        self._loop = loop
        self._precise = precise
        self.early = PRECISE_EARLY_S if precise else EARLY_S
        self._lateness = lateness
        self._buckets: dict[int, list[ScheduledStream]] = {}
        self._slots: list[int] = []  # heap of the slot numbers that have a bucket
        self._handle: asyncio.Handle | None = None
        # Streams whose FIRST content token is next: a heap by deadline, served before
        # the wheel in every tick. When the loop is behind (1,000 streams keep the core
        # ~90% busy), a first token would otherwise wait behind the whole backlog of
        # later tokens (TTFT error p99 +25 ms); a later token's lateness does not
        # accumulate (absolute deadlines), a first token's is the TTFT error itself.
        self._first: list[tuple[float, int, ScheduledStream]] = []
        self._first_seq = 0
        self._armed_slot = 0
        self._in_tick = False

    def schedule(self, conn: ScheduledStream, deadline: float) -> None:
        slot = int(deadline * SLOTS_PER_S)
        bucket = self._buckets.get(slot)
        if bucket is not None:
            bucket.append(conn)
            return
        self._buckets[slot] = [conn]
        heapq.heappush(self._slots, slot)
        # Inside a tick the timer is re-armed once at its end, not once per stream.
        if not self._in_tick and (self._handle is None or slot < self._armed_slot):
            self._arm()

    def schedule_first(self, conn: ScheduledStream, deadline: float) -> None:
        """Like schedule(), for a stream whose next step carries its first token."""
        self._first_seq += 1
        heapq.heappush(self._first, (deadline, self._first_seq, conn))
        slot = int(deadline * SLOTS_PER_S)
        if not self._in_tick and (self._handle is None or slot < self._armed_slot):
            self._arm()

    def _arm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if not self._slots and not self._first:
            return
        if not self._slots:
            slot = int(self._first[0][0] * SLOTS_PER_S)
        elif self._first:
            slot = min(self._slots[0], int(self._first[0][0] * SLOTS_PER_S))
        else:
            slot = self._slots[0]
        self._armed_slot = slot
        # uvloop rounds timer delays to the nearest millisecond, so the tick fires within
        # +-0.5 ms of the slot's start; writing what is due within EARLY_S of "now" then
        # always reaches that slot (no spinning on early wake-ups).
        delay = slot / SLOTS_PER_S - time.monotonic()
        if self._precise:
            if delay > PRECISE_WAKE_AHEAD_S + 0.0005:
                self._handle = self._loop.call_later(delay - PRECISE_WAKE_AHEAD_S, self._tick)
            else:
                self._handle = self._loop.call_soon(self._tick)  # spin to the deadline
            return
        self._handle = self._loop.call_later(delay if delay > EARLY_S else 0, self._tick)

    def _tick(self) -> None:
        self._handle = None
        self._in_tick = True
        try:
            now = time.monotonic()
            precise = self._precise
            due_by = now + self.early
            last_slot = int(due_by * SLOTS_PER_S)
            budget = TICK_BATCH
            not_due: list[ScheduledStream] = []
            slots = self._slots
            buckets = self._buckets
            pop = heapq.heappop
            lateness = self._lateness
            record = lateness.record
            counts = lateness.counts
            total = 0
            first = self._first
            while first and first[0][0] <= due_by:
                _, _, conn = pop(first)
                pending = conn.pending
                if not conn.closed and pending is not None:
                    late = now - pending[0]
                    if late > 0.0:
                        record(late)
                    else:
                        counts[0] += 1
                        total += 1
                    conn.advance(due_by)
            while slots and slots[0] <= last_slot:
                slot = pop(slots)
                # The whole slot is written, and when behind, everything overdue in one
                # write per stream (never one write per late step: that would feed on itself).
                horizon = due_by if precise else max(due_by, (slot + 1) / SLOTS_PER_S)
                bucket = buckets.pop(slot)
                if len(bucket) > budget:
                    # Put the rest back and yield to the loop after this batch (TICK_BATCH).
                    buckets[slot] = bucket[budget:]
                    heapq.heappush(slots, slot)
                    bucket = bucket[:budget]
                budget -= len(bucket)
                for conn in bucket:
                    pending = conn.pending
                    if not conn.closed and pending is not None:
                        if precise and pending[0] > due_by:
                            not_due.append(conn)  # in this slot but not yet due
                            continue
                        late = now - pending[0]
                        if late > 0.0:  # early writes (within the window) are not late
                            record(late)
                        else:
                            counts[0] += 1
                            total += 1
                        conn.advance(horizon)
                if budget <= 0:
                    break
            lateness.total += total
            for conn in not_due:
                if conn.pending is not None:
                    self.schedule(conn, conn.pending[0])
        finally:
            self._in_tick = False
            if budget <= 0 and slots and slots[0] <= last_slot:  # (first tokens: done above)
                # More is due: continue after the loop's next I/O poll (see TICK_BATCH).
                # uvloop runs a callback scheduled from inside a ready callback only in
                # the next loop iteration, after polling sockets.
                self._armed_slot = -1  # a schedule() meanwhile must not re-arm
                self._handle = self._loop.call_soon(self._tick)
            else:
                self._arm()
