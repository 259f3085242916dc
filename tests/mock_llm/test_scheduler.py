"""The raw server's Scheduler: first tokens before the backlog; bounded work per tick."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_aistack.mock_llm.scheduler import TICK_BATCH, Scheduler
from pytest_aistack.mock_llm.stats import LatenessHistogram


class FakeConnection:
    """A ScheduledStream that records when the scheduler advanced it."""

    def __init__(self, name: str, deadline: float, order: list[str]) -> None:
        self.name = name
        self.closed = False
        self.pending: tuple[float, bytes, int, int] | None = (deadline, b"x", 1, 0)
        self.order = order

    def advance(self, horizon: float) -> None:
        self.order.append(self.name)
        self.pending = None  # the stream is done: nothing rescheduled


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_a_due_first_token_goes_before_the_backlog(loop: asyncio.AbstractEventLoop) -> None:
    scheduler = Scheduler(loop, LatenessHistogram())
    order: list[str] = []
    past = time.monotonic() - 0.010  # everything is 10 ms overdue
    for i in range(TICK_BATCH * 3):
        scheduler.schedule(FakeConnection(f"later-{i}", past, order), past)
    scheduler.schedule_first(FakeConnection("first", past + 0.001, order), past + 0.001)
    scheduler._tick()
    # The first token is due later than the whole backlog, and still goes first.
    assert order[0] == "first"
    # One tick does at most TICK_BATCH streams of the wheel, then yields to the loop.
    assert len(order) == 1 + TICK_BATCH


def test_the_rest_of_the_backlog_runs_after_the_loop_polls(
    loop: asyncio.AbstractEventLoop,
) -> None:
    scheduler = Scheduler(loop, LatenessHistogram())
    order: list[str] = []
    past = time.monotonic() - 0.010
    total = TICK_BATCH * 3 + 5
    for i in range(total):
        scheduler.schedule(FakeConnection(f"s{i}", past, order), past)

    done = asyncio.Event()

    async def until_done() -> None:
        while len(order) < total:
            done.clear()
            loop.call_later(0.001, done.set)
            await asyncio.wait_for(done.wait(), 5.0)

    loop.run_until_complete(asyncio.wait_for(until_done(), 5.0))
    assert sorted(order) == sorted(f"s{i}" for i in range(total))  # each exactly once
    lateness: Any = scheduler._lateness
    assert lateness.total == total
