"""Hooks pytest-aistack calls, for plugins and ``conftest.py`` files to implement.

On pytest-xdist's model (``xdist/newhooks.py``, added by its ``pytest_addhooks``):
the plugin registers these specs in ``pytest_addhooks``. Outside pytest (``aistack
up``, ``aistack nightly``, scripts/demo.py, the benchmarks),
:func:`pytest_aistack.stack.factory.plugin_manager` registers the same specs on a
pluggy manager of its own and loads the plugins of the ``aistack`` entry-point group,
so both see the same backends. README.md, "Adding a backend", shows a whole one.
"""

# Specifications have no body; pluggy calls the implementations.
# mypy: disable-error-code="empty-body"

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_aistack.settings import Settings
    from pytest_aistack.stack.backend import StackBackend
    from pytest_aistack.stack.profile import Profile
    from pytest_aistack.stack.spec import StackSpec


@pytest.hookspec(firstresult=True)
def pytest_aistack_make_backend(
    name: str,
    settings: Settings,
    profile: Profile,
    load_stack: Callable[[], StackSpec],
    kind: str,
) -> StackBackend | None:
    """The backend called ``name`` (the ``backend`` setting), or ``None`` if it is not yours.

    :param name: the backend asked for, e.g. ``"local"`` or a plugin's own name.
    :param settings: the resolved settings.
    :param profile: the profile the scenarios assert.
    :param load_stack: reads the stack file of the ``stack_file`` setting (default: the
        reference stack) and checks it provides what ``profile`` expects; a problem is a
        :class:`~pytest_aistack.stack.spec.StackSpecError`. Call it only if the backend
        runs a stack file (the external backend does not).
    :param kind: who asks (``"pytest"``, ``"up"``, ``"demo"``, ...); it labels the run
        in ``aistack status``.

    The first implementation to return a backend wins. The built-in ``local``,
    ``docker`` and ``external`` backends are ``trylast`` implementations, so a plugin
    answering for one of their names replaces it. Raise a
    :class:`~pytest_aistack.errors.ConfigError` for settings the backend refuses; it is
    shown as its message, without a traceback.
    """


@pytest.hookspec
def pytest_aistack_backend_names() -> list[str]:
    """The names your ``pytest_aistack_make_backend`` answers for.

    They are the names an unknown ``backend`` setting is told to choose from.
    """
