"""Poll a condition until a deadline: the one loop behind every "wait until ..." here.

::

    port = wait_until(read_port, timeout=30, what="the master to write its port")

``wait_until`` calls the predicate until it returns something truthy and returns that
value. It fails with:

- :class:`WaitTimeout` (a :class:`TimeoutError`) at the deadline; the message names
  what was awaited, the timeout and, when there was one, the last thing seen;
- :class:`WaitAborted` as soon as ``give_up()`` gives a reason (the process that
  should answer has exited): waiting on for the deadline would only delay the error.

An exception from the predicate propagates at once (a bug in the predicate should not
look like a slow service) unless its type is in ``retry_on`` (e.g. connection refused
while a server starts): then it counts as "not yet" and the timeout reports the last
one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

__all__ = ["WaitAborted", "WaitTimeout", "wait_until"]


class WaitTimeout(TimeoutError):
    """The condition did not hold by the deadline."""

    def __init__(self, what: str, timeout: float, last: str | None = None) -> None:
        self.what = what
        self.timeout = timeout
        self.last = last  # the last informative "not yet" (an exception, a falsy value)
        message = f"timed out after {timeout:g} s waiting for {what}"
        super().__init__(f"{message}; last seen: {last}" if last else message)


class WaitAborted(RuntimeError):
    """``give_up()`` said the condition can no longer hold (e.g. the process exited)."""

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(f"gave up waiting for {what}: {reason}")


def wait_until(
    predicate: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.02,
    max_interval: float | None = None,
    give_up: Callable[[], str | None] | None = None,
    retry_on: tuple[type[Exception], ...] = (),
) -> T:
    """Call ``predicate`` until it returns something truthy; return that value.

    ``what`` completes "waiting for ..." in the errors. The predicate runs at least
    once, and once more at the deadline; each of its own calls must be bounded (a
    probe with its own timeout), as a call in progress is not interrupted.
    ``interval`` is the pause between calls; with ``max_interval`` it doubles after
    each pause up to that cap, so a slow starter is not hammered. ``give_up()`` runs
    after each falsy result: a reason fails the wait at once with :class:`WaitAborted`.
    """
    if timeout < 0 or interval < 0:
        raise ValueError(
            f"wait_until({what!r}): timeout and interval must be >= 0, "
            f"got timeout={timeout}, interval={interval}"
        )
    if max_interval is not None and max_interval < interval:
        raise ValueError(
            f"wait_until({what!r}): max_interval ({max_interval}) must be >= interval "
            f"({interval}), or None for a fixed interval"
        )
    deadline = time.monotonic() + timeout
    last: str | None = None
    pause = interval
    while True:
        try:
            value = predicate()
        except retry_on as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if value:
                return value
            # None and False say nothing; 0, "" or [] may (a count, a reply).
            if value is not None and value is not False:
                last = f"returned {value!r}"
        if give_up is not None:
            reason = give_up()
            if reason is not None:
                raise WaitAborted(what, reason)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(what, timeout, last)
        # A poll interval, not a readiness guess: the predicate decides when we are
        # done; the pause only spaces the checks, and never sleeps past the deadline.
        time.sleep(min(pause, remaining))
        if max_interval is not None:
            pause = min(pause * 2, max_interval)
