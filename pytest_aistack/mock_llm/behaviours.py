"""The hardening behaviours of the mock that ``--disable NAME`` switches off.

The conformance suite (docs/conformance.md) checks these promises against any server;
its own tests run it against the mock with one behaviour off at a time and assert that
exactly the check of that promise fails. Each entry: what the server does *without* it.
Limits and the circuit breaker are switched off by their numbers instead
(``--max-messages 0``, ``--breaker-failures 0``...).
"""

from __future__ import annotations

BEHAVIOURS: dict[str, str] = {
    "liveness": "/healthz answers 503 until the model is loaded (liveness tied to readiness)",
    "readiness": "/readyz answers 200 while loading and while draining",
    "loading_refusal": "requests during loading wait until the model is loaded instead of 503",
    "queue_timeout": "a queued request waits for a slot however long it takes (no 429)",
    "shedding": "the queue has no depth limit (no 503 when it is full)",
    "retry_after": "capacity and lifecycle rejections carry no Retry-After header",
    "drain": "SIGTERM cuts in-flight streams and exits at once",
    "drain_refusal": "requests arriving after SIGTERM are still served",
    "drain_deadline": "SIGTERM waits for in-flight requests however long they take",
    "dependency_readiness": "ready before the dependency (--dependency-url) was reached",
}
