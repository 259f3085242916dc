"""The one place that decides which errors of making or starting a stack are shown as
their message, for the ``aistack_stack`` fixture and ``aistack up`` alike.

Every error pytest-aistack raises on purpose says what is wrong and what to do (or
carries the services' log tail), so a :class:`~pytest_aistack.errors.ConfigError` or
:class:`~pytest_aistack.errors.StackError` of any backend (local, docker, external, a
plugin's) is shown as its message, not as a traceback through our internals. Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pytest_aistack.errors import ConfigError, StackError

T = TypeVar("T")


@dataclass(frozen=True)
class Refusal:
    """Why the stack could not be made or started, as the user should read it."""

    message: str


def attempt(step: Callable[[], T]) -> T | Refusal:
    """``step()``, or the :class:`Refusal` of the config or stack error it raised.

    Returning (not raising) lets the caller report outside the ``except`` block, so no
    exception chain is printed with the message.
    """
    try:
        return step()
    except (ConfigError, StackError) as exc:
        return Refusal(str(exc))
