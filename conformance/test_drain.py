"""Graceful drain on SIGTERM (the harness sends it to an instance it started)."""

from __future__ import annotations

import pytest

from pytest_aistack.conformance.drain import (
    Drain,
    exit_problems,
    inflight_problems,
    observe_drain,
    refusal_problems,
)
from pytest_aistack.conformance.observations import Observations
from pytest_aistack.conformance.servers import ServerUnderCheck
from pytest_aistack.conformance.verdict import assert_kept, needs_process, promise_of

pytestmark = pytest.mark.conformance


def drain(server: ServerUnderCheck, observations: Observations) -> Drain:
    promise = promise_of(server, "drain")
    needs_process(server, "send it SIGTERM")
    startup = server.profile.startup
    return observations.get("drain", server.name, lambda: observe_drain(server, promise, startup))


def test_drain_finishes_inflight_streams(
    server: ServerUnderCheck, observations: Observations
) -> None:
    assert_kept(inflight_problems(drain(server, observations)))


def test_drain_refuses_new_requests(server: ServerUnderCheck, observations: Observations) -> None:
    assert_kept(refusal_problems(drain(server, observations)))


def test_drain_exits_within_timeout(server: ServerUnderCheck, observations: Observations) -> None:
    assert_kept(exit_problems(drain(server, observations)))
