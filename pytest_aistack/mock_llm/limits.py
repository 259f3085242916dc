"""Input limits of chat requests (``--max-messages``, ``--max-tokens-cap``).

A hardened inference server refuses a request that would cost more than it is sized
for, with a 400 naming the parameter and the limit (vLLM answers an over-long
``max_tokens`` the same way). The embeddings limits live with the input parsing
(generation.py), where each input is read.
"""

from __future__ import annotations

from typing import Any

from .config import MockConfig
from .generation import CHAT, OLLAMA_CHAT, BadRequest, GenerationRequest


def limit_violation(
    config: MockConfig, parsed: GenerationRequest, body: dict[str, Any]
) -> BadRequest | None:
    if config.max_messages and parsed.path in (CHAT, OLLAMA_CHAT):
        count = len(body.get("messages") or [])
        if count > config.max_messages:
            return BadRequest(
                400,
                f"messages has {count} items; at most {config.max_messages} messages are "
                "allowed per request, shorten the conversation",
                "messages",
                "too_many_messages",
            )
    cap = config.max_tokens_cap
    if cap and parsed.max_tokens is not None and parsed.max_tokens > cap:
        return BadRequest(
            400,
            f"max_tokens={parsed.max_tokens} is above the cap of {cap} tokens; "
            f"ask for at most {cap}",
            "max_tokens",
            "max_tokens_too_large",
        )
    return None
