"""Prompts for load tests: ``fixtures/prompts.jsonl``, one JSON object per line.

Each line is ``{"prompt": "text"}`` or ``{"messages": [{"role": ..., "content": ...}]}``,
optionally with ``"max_tokens": N``. Blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_aistack.errors import LoadError

DEFAULT_PROMPTS = Path(__file__).resolve().parents[2] / "fixtures" / "prompts.jsonl"


class PromptFileError(LoadError):
    pass


@dataclass(frozen=True, slots=True)
class Prompt:
    content: str | list[dict[str, Any]]
    max_tokens: int | None = None


def load_prompts(path: Path) -> list[Prompt]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise PromptFileError(
            f"cannot read prompts file {path}: {exc.strerror}; pass --llm-prompts PATH "
            f'(JSON lines: {{"prompt": "..."}} or {{"messages": [...]}})'
        ) from None
    prompts = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        prompts.append(_parse_line(path, number, line))
    if not prompts:
        raise PromptFileError(f"{path}: no prompts (one JSON object per line expected)")
    return prompts


def _parse_line(path: Path, number: int, line: str) -> Prompt:
    where = f"{path}:{number}"
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise PromptFileError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise PromptFileError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    max_tokens = obj.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise PromptFileError(
            f"{where}: 'max_tokens' must be a positive integer, got {max_tokens!r}"
        )
    if isinstance(obj.get("prompt"), str):
        return Prompt(obj["prompt"], max_tokens)
    messages = obj.get("messages")
    if (
        isinstance(messages, list)
        and messages
        and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and "content" in m
            for m in messages
        )
    ):
        return Prompt(messages, max_tokens)
    raise PromptFileError(
        f"{where}: expected 'prompt' (a string) or 'messages' (a non-empty list of "
        f'{{"role": ..., "content": ...}} objects)'
    )
