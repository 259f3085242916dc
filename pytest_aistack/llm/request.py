"""Building OpenAI-compatible request bodies and URLs (shared by both clients)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Kind = Literal["chat", "completions"]
PATHS: dict[str, str] = {"chat": "/chat/completions", "completions": "/completions"}


def endpoint_path(base_path: str, kind: Kind) -> str:
    """``/v1/chat/completions`` under ``base_path`` ("", "/", "/v1" or a prefix)."""
    if kind not in PATHS:
        raise ValueError(f"unknown request kind {kind!r}; use 'chat' or 'completions'")
    base = base_path.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    return base + PATHS[kind]


def build_body(
    kind: Kind,
    prompt: str | list[dict[str, Any]],
    *,
    model: str,
    max_tokens: int | None = None,
    stream: bool = True,
    include_usage: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "stream": stream}
    if kind == "chat":
        body["messages"] = (
            [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        )
    else:
        # A prompts file may mix both forms; the completions API gets the message
        # contents joined, one per line.
        body["prompt"] = (
            prompt if isinstance(prompt, str) else "\n".join(str(m["content"]) for m in prompt)
        )
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if stream and include_usage:
        # Token counts from the server instead of counting events (DESIGN.md, metrics).
        body["stream_options"] = {"include_usage": True}
    if extra:
        body.update(extra)
    return body


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}
