"""Start and readiness timeline, and health-ordered start (docs/conformance.md)."""

from __future__ import annotations

import pytest

from pytest_aistack.conformance.observations import Observations
from pytest_aistack.conformance.servers import ServerUnderCheck
from pytest_aistack.conformance.timeline import (
    Timeline,
    dependency_order_problems,
    liveness_problems,
    loading_observed,
    observe_dependency_order,
    observe_start,
    readiness_problems,
    refusal_problems,
)
from pytest_aistack.conformance.verdict import assert_kept, needs_process, promise_of

pytestmark = pytest.mark.conformance


def start_timeline(server: ServerUnderCheck, observations: Observations) -> Timeline:
    promise = promise_of(server, "startup")
    needs_process(server, "watch it start")
    return observations.get("start", server.name, lambda: observe_start(server, promise))


def loading_timeline(server: ServerUnderCheck, observations: Observations) -> Timeline:
    timeline = start_timeline(server, observations)
    if not loading_observed(timeline):
        pytest.skip(
            f"server {server.name!r} served its first answered request: no loading phase "
            f"to check\n{timeline.table()}"
        )
    return timeline


def test_liveness_while_loading(server: ServerUnderCheck, observations: Observations) -> None:
    assert_kept(liveness_problems(loading_timeline(server, observations)))


def test_readiness_while_loading(server: ServerUnderCheck, observations: Observations) -> None:
    assert_kept(readiness_problems(start_timeline(server, observations)))


def test_requests_refused_while_loading(
    server: ServerUnderCheck, observations: Observations
) -> None:
    assert_kept(refusal_problems(loading_timeline(server, observations)))


def test_ready_only_after_dependencies(
    server: ServerUnderCheck, request: pytest.FixtureRequest
) -> None:
    promise = promise_of(server, "startup")
    if not promise.dependency_proxies:
        pytest.skip(
            f"server {server.name!r} names no dependencies "
            f"(conformance.servers.{server.name}.startup.dependency_proxies)"
        )
    needs_process(server, "start it while its dependencies are down")
    toxiproxy = request.getfixturevalue("toxiproxy")

    def cut() -> None:
        for proxy in promise.dependency_proxies:
            toxiproxy.disable(proxy)

    def restore() -> None:
        for proxy in promise.dependency_proxies:
            toxiproxy.enable(proxy)

    order = observe_dependency_order(server, promise, cut, restore)
    assert_kept(dependency_order_problems(order, promise.ready_within_s))
