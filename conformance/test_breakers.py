"""Circuit breakers seen in /health and /metrics while a dependency is cut and after."""

from __future__ import annotations

import pytest

from pytest_aistack.chaos.client import ToxiproxyClient
from pytest_aistack.conformance.breakers import (
    BreakerRun,
    observe_breaker,
    opening_problems,
    recovery_problems,
)
from pytest_aistack.conformance.observations import Observations
from pytest_aistack.conformance.profile import BreakerPromise
from pytest_aistack.conformance.servers import ServerUnderCheck
from pytest_aistack.conformance.verdict import assert_kept

pytestmark = pytest.mark.conformance


def breaker_run(
    server: ServerUnderCheck,
    breaker: BreakerPromise,
    toxiproxy: ToxiproxyClient,
    observations: Observations,
) -> BreakerRun:
    def cut() -> None:
        toxiproxy.disable(breaker.proxy)

    def restore() -> None:
        toxiproxy.enable(breaker.proxy)

    return observations.get(
        f"breaker-{breaker.name}",
        server.name,
        lambda: observe_breaker(server, breaker, cut, restore),
    )


def test_breaker_opens_while_dependency_down(
    server: ServerUnderCheck,
    breaker: BreakerPromise,
    toxiproxy: ToxiproxyClient,
    observations: Observations,
) -> None:
    assert_kept(opening_problems(breaker_run(server, breaker, toxiproxy, observations)))


def test_breaker_half_opens_then_closes(
    server: ServerUnderCheck,
    breaker: BreakerPromise,
    toxiproxy: ToxiproxyClient,
    observations: Observations,
) -> None:
    assert_kept(recovery_problems(breaker_run(server, breaker, toxiproxy, observations)))
