"""Shared set-up of the resilience scenarios.

Faults come from the ``chaos`` fixture (pytest_aistack.chaos), pointed at the stack's
own Toxiproxy by the ``aistack_toxiproxy`` override below; it removes every fault and
resets every proxy after each scenario. Each scenario also starts with the mock
backends' counters cleared and no deployment still cooling down from the scenario
before (breaker state lives in the gateway: see :class:`BreakerWindow`).

Each scenario fills its row of the resiliency matrix through the plugin's ``scenario``
fixture (:mod:`pytest_aistack.resilience.fixtures`): ``dependency`` (what it broke: a
backend name, "redis", "gateway"), ``promise`` (the policy key(s) it checks, e.g.
"policy.allowed_fails"), ``fault``, ``expected`` and ``observe(line)``; the verdict
comes from the test outcome and the session writes ``<report_dir>/resilience.json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from pytest_aistack.resilience.breakers import BreakerWindow
from pytest_aistack.settings import get_settings
from pytest_aistack.stack.handle import AIStack

if TYPE_CHECKING:
    from pytest_aistack.chaos.client import ToxiproxyClient


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per fallback chain of the profile (``fallback_chain``: the group first).

    A profile that cannot be read gives one placeholder case: the ``aistack_stack``
    fixture then reports the profile's own error instead of collection failing.
    """
    if "fallback_chain" not in metafunc.fixturenames:
        return
    from pytest_aistack.errors import ConfigError
    from pytest_aistack.stack.factory import load_selected_profile

    try:
        profile = load_selected_profile(get_settings(metafunc.config))
    except ConfigError:
        chains: list[tuple[str, ...]] = [()]
    else:
        chains = [
            profile.fallback_chain(name) for name, g in profile.model_groups.items() if g.fallbacks
        ] or [()]
    metafunc.parametrize("fallback_chain", chains, ids=[c[0] if c else "none" for c in chains])


@pytest.fixture
def stack(aistack_stack: AIStack) -> AIStack:
    return aistack_stack


@pytest.fixture(scope="session")
def aistack_toxiproxy(aistack_stack: AIStack) -> Iterator[ToxiproxyClient]:
    """The stack's own Toxiproxy (overrides the chaos plugin's standalone one)."""
    from pytest_aistack.chaos.client import ToxiproxyClient

    if aistack_stack.toxiproxy_url is None:
        pytest.skip("this stack has no Toxiproxy (profile key toxiproxy.url is empty)")
    with ToxiproxyClient(aistack_stack.toxiproxy_url) as client:
        yield client


@pytest.fixture(autouse=True)
def clean_stack(request: pytest.FixtureRequest) -> Iterator[None]:
    """Before: breakers settled, backend counters cleared. After (last, once ``chaos``
    has removed its faults): start the next cooldown window."""
    if "stack" not in request.fixturenames:
        yield
        return
    stack: AIStack = request.getfixturevalue("stack")
    window: BreakerWindow = request.getfixturevalue("breakers")
    window.wait()
    stack.reset_backends()
    try:
        yield
    finally:
        window.faults_ended()
