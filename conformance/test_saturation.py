"""Saturation: the queue timeout (429), load shedding (503) and Retry-After bounds."""

from __future__ import annotations

import pytest

from pytest_aistack.conformance.observations import Observations
from pytest_aistack.conformance.saturation import (
    Saturation,
    observe_saturation,
    queue_timeout_problems,
    retry_after_problems,
    shedding_problems,
)
from pytest_aistack.conformance.servers import ServerUnderCheck
from pytest_aistack.conformance.verdict import assert_kept, promise_of

pytestmark = pytest.mark.conformance


def saturation(server: ServerUnderCheck, observations: Observations) -> Saturation:
    promise = promise_of(server, "saturation")
    return observations.get("saturation", server.name, lambda: observe_saturation(server, promise))


def test_queue_timeout_answers_429(server: ServerUnderCheck, observations: Observations) -> None:
    assert_kept(queue_timeout_problems(saturation(server, observations)))


def test_full_queue_sheds_503(server: ServerUnderCheck, observations: Observations) -> None:
    assert_kept(shedding_problems(saturation(server, observations)))


def test_rejections_carry_retry_after(server: ServerUnderCheck, observations: Observations) -> None:
    assert_kept(retry_after_problems(saturation(server, observations)))
