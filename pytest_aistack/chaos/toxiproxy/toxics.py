"""The toxic kinds (``KINDS``: type, attributes) and their behaviour on a stream
(toxiproxy ``toxics/``); the data model is in :mod:`.toxic_types`.

Each behaviour reads chunks from its stage (:class:`~.toxic_types.ToxicStage`) and
writes to the next one. When its stage is
interrupted (cancelled: the toxic is updated or removed, or another change re-runs it) a
behaviour hands back the chunk it holds so that nothing is dropped (upstream's
"don't drop any data on the floor"). Divergences from upstream are noted where they
replace a crash or a hang in upstream with the evident intent.
"""

from __future__ import annotations

import asyncio
import random
import time

from .toxic_types import ToxicKind, ToxicStage

# uvloop's timers tick in whole milliseconds from a clock read once per loop iteration, so
# a timer alone fires up to ~1 ms early or late. Deadlines are kept on time.monotonic();
# the timer wakes the task about a millisecond early and the rest is waited by yielding
# to the loop, which keeps a latency toxic within a fraction of a millisecond.
_TIMER_SLACK = 0.001


async def sleep_until(deadline: float) -> None:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        await asyncio.sleep(remaining - _TIMER_SLACK if remaining > _TIMER_SLACK else 0)


async def run_noop(stage: ToxicStage, attrs: dict[str, int]) -> None:
    """Pass everything through (toxics/noop.go); also what a toxic does when its roll fails."""
    while True:
        chunk = await stage.receive()
        if chunk is None:
            stage.close()
            return
        stage.emit(chunk)


async def _run_latency(stage: ToxicStage, attrs: dict[str, int]) -> None:
    """Delay each chunk by latency +/- jitter ms from its arrival (toxics/latency.go)."""
    latency, jitter = attrs["latency"], attrs["jitter"]
    while True:
        chunk = await stage.receive()
        if chunk is None:
            stage.close()
            return
        delay_ms = latency
        if jitter > 0:
            delay_ms += random.randrange(-jitter, jitter)
        sleep = delay_ms / 1000.0 - (time.monotonic() - chunk.timestamp)
        if sleep > 0:
            due = chunk.timestamp + delay_ms / 1000.0
            try:
                await sleep_until(due)
            except asyncio.CancelledError:
                stage.emit(chunk)  # interrupted: pass it on without the delay
                raise
            stage.link.on_latency_lateness(time.monotonic() - due)
        chunk.timestamp += sleep
        stage.emit(chunk)


async def _run_bandwidth(stage: ToxicStage, attrs: dict[str, int]) -> None:
    """Limit throughput to ``rate`` KB/s, in pieces of at most 100 ms (toxics/bandwidth.go).

    Upstream loops forever on ``rate <= 0``; here 0 means no limit, its evident intent.
    """
    rate = attrs["rate"]
    debt = 0.0  # seconds the stream is ahead of the allowed rate
    while True:
        chunk = await stage.receive()
        if chunk is None:
            stage.close()
            return
        if rate <= 0:
            stage.emit(chunk)
            continue
        debt += len(chunk.data) / (rate * 1000.0)
        piece = rate * 100
        try:
            while len(chunk.data) > piece:
                await asyncio.sleep(0.1)
                stage.emit(type(chunk)(chunk.data[:piece], chunk.timestamp))
                chunk.data = chunk.data[piece:]
                debt -= 0.1
            started = time.monotonic()
            if debt > 0:
                await asyncio.sleep(debt)
            debt -= time.monotonic() - started
        except asyncio.CancelledError:
            stage.emit(chunk)
            raise
        stage.emit(chunk)


async def _run_slow_close(stage: ToxicStage, attrs: dict[str, int]) -> None:
    """Pass data; hold the end of stream for ``delay`` ms (toxics/slow_close.go)."""
    while True:
        chunk = await stage.receive()
        if chunk is None:
            try:
                await asyncio.sleep(attrs["delay"] / 1000.0)
            except asyncio.CancelledError:
                # Upstream loses the end of stream here and the link never closes;
                # put it back so that whatever runs next still closes.
                stage.unreceive(None)
                raise
            stage.close()
            return
        stage.emit(chunk)


async def _run_timeout(stage: ToxicStage, attrs: dict[str, int]) -> None:
    """Drop all data; end the stream ``timeout`` ms after the last chunk, never if 0.

    The timer restarts with every chunk (toxics/timeout.go: a fresh ``time.After`` per
    loop); removing the toxic ends the stream of the connections it sits on (Cleanup).
    """
    timeout = attrs["timeout"] / 1000.0
    while True:
        if timeout > 0:
            try:
                async with asyncio.timeout(timeout):
                    chunk = await stage.receive()
            except TimeoutError:
                stage.close()
                return
        else:
            chunk = await stage.receive()
        if chunk is None:
            stage.close()
            return


async def _run_reset_peer(stage: ToxicStage, attrs: dict[str, int]) -> None:
    """On the first chunk, wait ``timeout`` ms, then reset both sides with RST.

    toxics/reset_peer.go closes with SO_LINGER 0 (link.go sets it on both sockets), so
    the peers see ECONNRESET rather than an orderly end. Once triggered the reset cannot
    be called off: upstream's wait is not interruptible either.
    """
    await stage.receive()
    loop = stage.link.loop
    due = loop.time() + attrs["timeout"] / 1000.0
    try:
        await asyncio.sleep(due - loop.time())
    except asyncio.CancelledError:
        loop.call_at(due, stage.link.reset_connection)
        raise
    stage.link.reset_connection()


def slice_bounds(size: int, average: int, variation: int) -> list[tuple[int, int]]:
    """Cut ``size`` bytes into pieces of about ``average`` +/- ``variation`` bytes.

    Same splitting as toxics/slicer.go (halve with a random offset until a piece is
    within the variation of the average), done iteratively and never producing an
    empty piece: upstream panics on ``size_variation`` 0 and recurses forever on tiny sizes.
    """
    pieces: list[tuple[int, int]] = []
    stack = [(0, size)]
    while stack:
        start, end = stack.pop()
        length = end - start
        if length - average <= variation or length <= 1:
            pieces.append((start, end))
            continue
        offset = random.randrange(-variation, variation) if variation > 0 else 0
        mid = min(max(start + length // 2 + offset, start + 1), end - 1)
        # Right half pushed first so that the left half is cut (and sent) first.
        stack.append((mid, end))
        stack.append((start, mid))
    return pieces


async def _run_slicer(stage: ToxicStage, attrs: dict[str, int]) -> None:
    """Send each chunk as smaller pieces, ``delay`` microseconds apart (toxics/slicer.go)."""
    average, variation = attrs["average_size"], attrs["size_variation"]
    delay = attrs["delay"] / 1_000_000.0
    while True:
        chunk = await stage.receive()
        if chunk is None:
            stage.close()
            return
        for start, end in slice_bounds(len(chunk.data), average, variation):
            stage.emit(type(chunk)(chunk.data[start:end], chunk.timestamp))
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                if end < len(chunk.data):
                    stage.emit(type(chunk)(chunk.data[end:], chunk.timestamp))
                raise


async def _run_limit_data(stage: ToxicStage, attrs: dict[str, int]) -> None:
    """Pass at most ``bytes`` bytes on this connection, then end it (toxics/limit_data.go).

    The count is per connection and survives updates of the toxic (a stateful toxic).
    """
    limit = attrs["bytes"]
    sent: int = stage.state.setdefault("sent", 0)
    while True:
        chunk = await stage.receive()
        if chunk is None:
            stage.close()
            return
        remaining = max(limit - sent, 0)
        if remaining < len(chunk.data):
            chunk.data = chunk.data[:remaining]
        if chunk.data:
            stage.emit(chunk)
            sent += len(chunk.data)
            stage.state["sent"] = sent
        if limit - sent <= 0:
            stage.close()
            return


KINDS: dict[str, ToxicKind] = {
    kind.type: kind
    for kind in (
        ToxicKind("noop", "NoopToxic", {}, run_noop),
        ToxicKind("latency", "LatencyToxic", {"latency": "int64", "jitter": "int64"}, _run_latency),
        ToxicKind("bandwidth", "BandwidthToxic", {"rate": "int64"}, _run_bandwidth),
        ToxicKind("slow_close", "SlowCloseToxic", {"delay": "int64"}, _run_slow_close),
        ToxicKind(
            "timeout", "TimeoutToxic", {"timeout": "int64"}, _run_timeout, closes_on_removal=True
        ),
        ToxicKind("reset_peer", "ResetToxic", {"timeout": "int64"}, _run_reset_peer),
        ToxicKind(
            "slicer",
            "SlicerToxic",
            {"average_size": "int", "size_variation": "int", "delay": "int"},
            _run_slicer,
        ),
        ToxicKind("limit_data", "LimitDataToxic", {"bytes": "int64"}, _run_limit_data),
    )
}
