"""wait_until: the value, the deadline, giving up early, pauses and predicate errors.

Time bounds are generous (the machine is shared): they tell "waited for the deadline"
from "did not", never measure the pause itself.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

import pytest_aistack
from pytest_aistack.runtime.waiting import WaitAborted, WaitTimeout, wait_until

T = TypeVar("T")


def _sequence(*values: T) -> tuple[Callable[[], T], list[float]]:
    """A predicate returning ``values`` in turn (the last one for ever), and its call times."""
    calls: list[float] = []

    def predicate() -> T:
        calls.append(time.monotonic())
        return values[min(len(calls), len(values)) - 1]

    return predicate, calls


def test_returns_the_first_truthy_value() -> None:
    predicate, calls = _sequence(None, None, {"port": 8080}, {"port": 9090})
    assert wait_until(predicate, timeout=30, what="a port") == {"port": 8080}
    assert len(calls) == 3


def test_a_true_condition_returns_at_once_without_pausing() -> None:
    started = time.monotonic()
    assert wait_until(lambda: True, timeout=30, what="nothing", interval=30) is True
    assert time.monotonic() - started < 5


def test_times_out_naming_what_and_the_timeout() -> None:
    predicate, calls = _sequence(False)
    started = time.monotonic()
    with pytest.raises(WaitTimeout) as caught:
        wait_until(predicate, timeout=0.3, what="the flag file")
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 10
    assert str(caught.value) == "timed out after 0.3 s waiting for the flag file"
    assert isinstance(caught.value, TimeoutError)
    assert (caught.value.what, caught.value.timeout, caught.value.last) == (
        "the flag file",
        0.3,
        None,
    )
    assert len(calls) >= 2  # polled, not checked once


def test_zero_timeout_checks_exactly_once() -> None:
    predicate, calls = _sequence(None)
    with pytest.raises(WaitTimeout):
        wait_until(predicate, timeout=0, what="anything")
    assert len(calls) == 1


def test_an_informative_falsy_value_is_reported() -> None:
    queued = 0  # e.g. a count read from /metrics: 0 says more than False would
    with pytest.raises(WaitTimeout, match=r"waiting for a queued request; last seen: returned 0$"):
        wait_until(lambda: queued, timeout=0.1, what="a queued request")
    empty: list[str] = []
    with pytest.raises(WaitTimeout, match=r"; last seen: returned \[\]$"):
        wait_until(lambda: empty, timeout=0.1, what="a reply")


def test_give_up_fails_fast_with_its_reason() -> None:
    predicate, calls = _sequence(False)
    reasons = iter([None, None, "mock-llm exited with code 3"])
    started = time.monotonic()
    with pytest.raises(WaitAborted) as caught:
        wait_until(predicate, timeout=60, what="the port", give_up=lambda: next(reasons))
    assert time.monotonic() - started < 10  # did not wait for the 60 s deadline
    assert str(caught.value) == "gave up waiting for the port: mock-llm exited with code 3"
    assert caught.value.reason == "mock-llm exited with code 3"
    assert not isinstance(caught.value, TimeoutError)
    assert len(calls) == 3


def test_the_condition_is_checked_before_giving_up() -> None:
    # A service that answered and then exited still answered: the value wins.
    assert wait_until(lambda: "up", timeout=30, what="x", give_up=lambda: "exited") == "up"


def test_a_long_interval_never_sleeps_past_the_deadline() -> None:
    predicate, calls = _sequence(False)
    started = time.monotonic()
    with pytest.raises(WaitTimeout):
        wait_until(predicate, timeout=0.5, what="x", interval=60)
    assert time.monotonic() - started < 10  # not 60 s
    # Once at the start, once at the deadline: the last check is not skipped.
    assert len(calls) == 2
    assert calls[1] - started >= 0.5


def test_max_interval_backs_off() -> None:
    # A fixed 10 ms pause would poll ~100 times in 1 s; doubling to 160 ms polls ~11
    # times (fewer on a busy machine, never more).
    backing_off, calls = _sequence(False)
    with pytest.raises(WaitTimeout):
        wait_until(backing_off, timeout=1.0, what="x", interval=0.01, max_interval=0.16)
    assert 2 <= len(calls) <= 15
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert max(gaps) >= 0.16  # it did reach the cap


def test_a_predicate_error_propagates_at_once() -> None:
    calls: list[int] = []

    def broken() -> bool:
        calls.append(1)
        raise KeyError("requests")

    with pytest.raises(KeyError, match="requests"):
        wait_until(broken, timeout=60, what="x", retry_on=(ConnectionError,))
    assert len(calls) == 1


def test_retry_on_errors_mean_not_yet_and_the_last_is_reported() -> None:
    attempts: list[int] = []

    def refused_twice() -> str:
        attempts.append(1)
        if len(attempts) <= 2:
            raise ConnectionRefusedError(f"attempt {len(attempts)}")
        return "answered"

    assert wait_until(refused_twice, timeout=30, what="x", retry_on=(OSError,)) == "answered"

    def refused() -> bool:
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    with pytest.raises(WaitTimeout) as caught:
        wait_until(refused, timeout=0.2, what="the API", retry_on=(OSError,))
    assert str(caught.value) == (
        "timed out after 0.2 s waiting for the API; "
        "last seen: ConnectionRefusedError: [Errno 111] Connection refused"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout": -1}, r"wait_until\('x'\): timeout and interval must be >= 0, got timeout=-1"),
        ({"timeout": 1, "interval": -0.1}, r"got timeout=1, interval=-0.1"),
        (
            {"timeout": 1, "interval": 0.5, "max_interval": 0.1},
            r"max_interval \(0.1\) must be >= interval \(0.5\), or None for a fixed interval",
        ),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wait_until(lambda: True, what="x", **kwargs)  # type: ignore[arg-type]


def test_exported_from_the_package() -> None:
    assert pytest_aistack.wait_until is wait_until
    assert pytest_aistack.WaitTimeout is WaitTimeout
    assert pytest_aistack.WaitAborted is WaitAborted
