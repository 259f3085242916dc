"""What one ``data:`` payload of an OpenAI-compatible stream says, decoded cheaply.

Most chunks of a stream differ only in their text: vLLM, LiteLLM and the OpenAI API
send ``{"id":"X",...,"choices":[{"index":0,"delta":{"content":"` + text + `"},...}]}``
with the same bytes around the text every time. After fully decoding one content
chunk, :class:`ChunkInspector` learns that prefix and suffix as a *template* and
verifies it (decoding the template with a stand-in text must give the same object
with only the text replaced). A later chunk that starts with the prefix, ends with
the suffix and whose middle is printable ASCII without ``"`` or ``\\`` is then
exactly that object with a new non-empty text — same id, model, no finish_reason,
no usage, no error — without decoding it. Anything else (escapes, non-ASCII, other
fields, a new id) falls back to a full ``json.loads``, so the fast path can only
make the inspector faster, never different (tests/llm/test_chunks.py checks both
paths agree on generated chunks).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_PLAIN_TEXT = re.compile(rb"[\x20\x21\x23-\x5b\x5d-\x7e]+")
_TEXT_KEYS = ("content", "reasoning_content", "reasoning")
_MAX_TEMPLATES = 4


class MalformedChunk(ValueError):
    """The payload is not JSON, or not shaped like a completion chunk."""


@dataclass(slots=True)
class ChunkInfo:
    """The fields of a chunk the classifier needs."""

    text: str = ""  # concatenated non-empty content/reasoning/text of all choices
    finish_reason: str | None = None
    error: Any = None
    id: str | None = None
    model: str | None = None
    completion_tokens: int | None = None
    prompt_tokens: int | None = None


def analyse(payload: bytes) -> ChunkInfo:
    """Full decode of one payload (the slow path, and the reference for the fast one)."""
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise MalformedChunk(f"not JSON: {exc}") from None
    return analyse_object(obj)


def analyse_object(obj: Any) -> ChunkInfo:
    if not isinstance(obj, dict):
        raise MalformedChunk(f"expected a JSON object, got {type(obj).__name__}")
    info = ChunkInfo()
    if "error" in obj or obj.get("object") == "error":
        info.error = obj.get("error", obj)
        return info
    info.id = _optional_str(obj, "id")
    info.model = _optional_str(obj, "model")
    choices = obj.get("choices", [])
    if not isinstance(choices, list):
        raise MalformedChunk("'choices' is not a list")
    texts: list[str] = []
    for choice in choices:
        if not isinstance(choice, dict):
            raise MalformedChunk("a choice is not an object")
        delta = choice.get("delta")
        if delta is not None:
            if not isinstance(delta, dict):
                raise MalformedChunk("'delta' is not an object")
            texts.extend(_texts(delta, _TEXT_KEYS))
        texts.extend(_texts(choice, ("text",)))
        finish = choice.get("finish_reason")
        if finish is not None:
            info.finish_reason = str(finish)
    info.text = "".join(texts)
    usage = obj.get("usage")
    if isinstance(usage, dict):
        completion = usage.get("completion_tokens")
        prompt = usage.get("prompt_tokens")
        if isinstance(completion, int) and not isinstance(completion, bool):
            info.completion_tokens = completion
        if isinstance(prompt, int) and not isinstance(prompt, bool):
            info.prompt_tokens = prompt
    return info


def _texts(container: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    found = []
    for key in keys:
        value = container.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise MalformedChunk(f"{key!r} is not a string")
        if value:
            found.append(value)
    return found


def _optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


class ChunkInspector:
    """Per-stream: learns templates from decoded chunks, then matches later ones by bytes."""

    __slots__ = ("_templates", "fast_hits", "full_decodes")

    def __init__(self) -> None:
        self._templates: list[tuple[bytes, bytes, int]] = []
        self.fast_hits = 0
        self.full_decodes = 0

    def fast_text(self, payload: bytes) -> bytes | None:
        """The text of a chunk that matches a learned template, else None."""
        size = len(payload)
        for prefix, suffix, fixed in self._templates:
            if (
                size > fixed
                and payload.startswith(prefix)
                and payload.endswith(suffix)
                and _PLAIN_TEXT.fullmatch(payload, len(prefix), size - len(suffix))
            ):
                self.fast_hits += 1
                return payload[len(prefix) : size - len(suffix)]
        return None

    def inspect(self, payload: bytes) -> ChunkInfo:
        """Full decode; learns a template from a plain content chunk."""
        self.full_decodes += 1
        try:
            obj = json.loads(payload)
        except (ValueError, RecursionError) as exc:
            raise MalformedChunk(f"not JSON: {exc}") from None
        info = analyse_object(obj)
        if (
            info.text
            and info.finish_reason is None
            and info.error is None
            and "usage" not in obj
            and len(self._templates) < _MAX_TEMPLATES
        ):
            self._learn(payload, obj)
        return info

    def _learn(self, payload: bytes, obj: dict[str, Any]) -> None:
        choices = obj.get("choices")
        if not isinstance(choices, list) or len(choices) != 1:
            return
        choice = choices[0]
        holder, key = _single_text_slot(choice)
        if holder is None:
            return
        text = holder[key]
        for encoded in {json.dumps(text).encode(), json.dumps(text, ensure_ascii=False).encode()}:
            for separator in (b":", b": "):
                needle = b'"' + key.encode() + b'"' + separator + encoded
                if payload.count(needle) != 1:
                    continue
                start = payload.index(needle) + len(needle) - len(encoded) + 1
                end = start + len(encoded) - 2
                prefix, suffix = payload[:start], payload[end:]
                if self._verified(prefix, suffix, payload, key):
                    self._templates.append((prefix, suffix, len(prefix) + len(suffix)))
                    return

    @staticmethod
    def _verified(prefix: bytes, suffix: bytes, payload: bytes, key: str) -> bool:
        try:
            probe = json.loads(prefix + b"x" + suffix)
        except ValueError:
            return False
        expected = json.loads(payload)  # a fresh copy; cheaper than deepcopy
        holder, _ = _single_text_slot(expected["choices"][0])
        assert holder is not None
        holder[key] = "x"
        return bool(probe == expected)


def _single_text_slot(choice: Any) -> tuple[dict[str, Any] | None, str]:
    """The one dict/key holding this choice's text, if exactly one is non-empty."""
    if not isinstance(choice, dict):
        return None, ""
    slots: list[tuple[dict[str, Any], str]] = []
    delta = choice.get("delta")
    if isinstance(delta, dict):
        slots.extend((delta, k) for k in _TEXT_KEYS if delta.get(k))
    if choice.get("text"):
        slots.append((choice, "text"))
    if len(slots) != 1:
        return None, ""
    return slots[0]
