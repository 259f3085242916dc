"""Input limits: a request over a limit gets a clear 4xx, one at the limit is served.

"Clear" is what a client can act on: a 4xx status (not a 500, not a hang, not a
silently truncated answer) and a body that names the limit (its number, written
``10000`` or ``10,000``). At the limit the request must be served (2xx): a limit
lower than the one stated is a broken promise too. ``max_tokens`` is only checked
above the cap (at the cap a real model may generate for a long time).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pytest_aistack.conformance.http import Answer, call
from pytest_aistack.conformance.servers import ServerUnderCheck

TIMEOUT_S = 30.0


def _names_limit(answer: Answer, limit: int) -> bool:
    """The body has the number as a number of its own (not a part of 3200 or 1,024)."""
    return any(
        re.search(rf"(?<!\d)(?<!\d[,.]){re.escape(text)}(?!\d|[,.]\d)", answer.text)
        for text in (str(limit), f"{limit:,}")
    )


def _check(
    server: ServerUnderCheck,
    promise: str,
    limit: int,
    build: Callable[[int], dict[str, Any]],
    *,
    at_limit: bool = True,
) -> list[str]:
    problems = []
    over = call("POST", server.endpoint_url, json=build(limit + 1), timeout=TIMEOUT_S)
    head = f"{server.name}: promise {promise} broken"
    if over.status is None or not 400 <= over.status < 500:
        problems.append(f"{head}: {limit + 1} got {over.describe()}; expected a 4xx")
    elif not _names_limit(over, limit):
        problems.append(
            f"{head}: the {over.status} for {limit + 1} does not name the limit {limit}: "
            f"{over.text[:200]!r}"
        )
    if at_limit:
        exact = call("POST", server.endpoint_url, json=build(limit), timeout=TIMEOUT_S)
        if exact.status is None or not 200 <= exact.status < 300:
            problems.append(f"{head}: exactly {limit} got {exact.describe()}; expected a 2xx")
    return problems


def max_messages_problems(server: ServerUnderCheck, limit: int) -> list[str]:
    def build(n: int) -> dict[str, Any]:
        return server.profile.body({"messages": [{"role": "user", "content": "hi"}] * n})

    return _check(server, f"limits.max_messages ({limit} messages)", limit, build)


def max_tokens_problems(server: ServerUnderCheck, limit: int) -> list[str]:
    def build(n: int) -> dict[str, Any]:
        return server.profile.body({"max_tokens": n})

    return _check(server, f"limits.max_tokens ({limit})", limit, build, at_limit=False)


def max_inputs_problems(server: ServerUnderCheck, limit: int) -> list[str]:
    def build(n: int) -> dict[str, Any]:
        return server.profile.body({"input": [f"text {i}" for i in range(n)]})

    return _check(server, f"limits.max_inputs ({limit} inputs)", limit, build)


def max_input_chars_problems(server: ServerUnderCheck, limit: int) -> list[str]:
    def build(n: int) -> dict[str, Any]:
        return server.profile.body({"input": ["x" * n]})

    return _check(server, f"limits.max_input_chars ({limit} characters)", limit, build)
