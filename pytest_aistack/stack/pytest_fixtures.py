"""pytest wiring of the stack: the lazy session fixture ``aistack_stack``.

Nothing starts until a test asks for ``aistack_stack``; then the backend chosen by
``--aistack-backend`` (local by default, or one a plugin adds through the
``pytest_aistack_make_backend`` hook) brings the stack of ``--aistack-stack-file``
(the reference stack by default) up once for the session and
tears it down at the end — also when tests fail or the run is interrupted with Ctrl-C.
``--aistack-keep-up`` leaves it running and says how to stop it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_aistack.settings import Settings
    from pytest_aistack.stack.handle import AIStack


@pytest.fixture(scope="session")
def aistack_stack(aistack_settings: Settings, pytestconfig: pytest.Config) -> Iterator[AIStack]:
    from pytest_aistack.settings import get_resolved
    from pytest_aistack.stack.factory import make_backend
    from pytest_aistack.stack.failures import Refusal, attempt
    from pytest_aistack.stack.handle import AIStack

    # Failures below are every test's failure, said once, without a traceback through
    # our internals (stack/failures.py decides which errors those are). The stack file
    # and profile are loaded and checked against each other before anything starts.
    made = attempt(
        lambda: make_backend(
            aistack_settings,
            origins=get_resolved(pytestconfig).origins,
            hook=pytestconfig.hook,
        )
    )
    if isinstance(made, Refusal):
        pytest.fail(made.message, pytrace=False)
    backend, profile = made
    stack = attempt(backend.up)
    if isinstance(stack, Refusal):
        pytest.fail(stack.message, pytrace=False)
    try:
        yield AIStack(stack, profile)
    finally:
        backend.down()
        if aistack_settings.keep_up and stack.backend != "external":
            reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(
                    f"aistack: stack left running (--aistack-keep-up); gateway "
                    f"{stack.gateway_url}; stop it with: aistack down"
                )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A check the stack's ground truth cannot make is a skip with what is missing (a
    failure under ``--aistack-strict``, as for requires_* markers), never an error."""
    from pytest_aistack.settings import get_settings
    from pytest_aistack.stack.ground_truth import GroundTruthUnavailable

    try:
        return (yield)
    except GroundTruthUnavailable as exc:
        message = f"ground truth unavailable: {exc}"
        if not get_settings(item.config).strict:
            raise pytest.skip.Exception(message, _use_item_location=True) from None
    # Outside the except block, so no exception chain is printed with the reason.
    pytest.fail(message, pytrace=False)
