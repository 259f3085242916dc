"""In-process ASGI testing (no socket): lifespan, an httpx client, OpenAI SSE parsing.

The code is in :mod:`pytest_aistack.asgi.client`; ``fixtures`` holds the pytest
fixtures the plugin registers.
"""

from __future__ import annotations

from pytest_aistack.asgi.client import (
    DeadlineASGITransport,
    OpenAIEvent,
    OpenAIStream,
    aiter_openai_events,
    asgi_lifespan_client,
    collect_openai_stream,
    parse_openai_event,
)

__all__ = [
    "DeadlineASGITransport",
    "OpenAIEvent",
    "OpenAIStream",
    "aiter_openai_events",
    "asgi_lifespan_client",
    "collect_openai_stream",
    "parse_openai_event",
]
