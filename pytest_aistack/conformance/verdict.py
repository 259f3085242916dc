"""How a check ends: kept, broken (each broken promise on its own line), or skipped
with the exact reason (a promise the profile does not make, a process not the harness's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from pytest_aistack.conformance.servers import ServerUnderCheck


def promise_of(server: ServerUnderCheck, key: str) -> Any:
    """The server's promise ``key`` (startup, saturation, drain, limits), or skip saying so."""
    value = getattr(server.profile, key)
    if value is None:
        pytest.skip(
            f"server {server.name!r} makes no {key} promise "
            f"(add conformance.servers.{server.name}.{key} to check one)"
        )
    return value


def limit_of(server: ServerUnderCheck, key: str) -> int:
    limits = promise_of(server, "limits")
    value: int | None = getattr(limits, key)
    if value is None:
        pytest.skip(
            f"server {server.name!r} states no {key} limit "
            f"(add conformance.servers.{server.name}.limits.{key} to check one)"
        )
    return value


def needs_process(server: ServerUnderCheck, what: str) -> None:
    reason = server.unmanaged_reason(what)
    if reason is not None:
        pytest.skip(reason)


def assert_kept(problems: Sequence[str]) -> None:
    """Fail with every broken promise, each on its own line (no traceback: the message is it)."""
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
