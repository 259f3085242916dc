"""Wire encodings of generated output, pre-encoded per request.

Token ``i`` is the text ``tok<i>`` (delta ``"tok0"``, then ``" tok1"``...), so a client
can detect truncation, duplication and reordering. Each format builds its constant
JSON prefix and suffix once per request; a token chunk is then prefix + text + suffix,
with no JSON encoding on the hot path.

Shapes follow the real servers (golden examples in fixtures/): OpenAI chat/completions
streaming as vLLM sends it (vllm/entrypoints/openai/serving_chat.py: role chunk first,
``finish_reason`` chunk, optional usage chunk with empty ``choices``, ``data: [DONE]``),
and Ollama NDJSON (ollama api/types.go ChatResponse/GenerateResponse, durations in ns).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

SSE_PING = b": ping\n\n"
SSE_DONE = b"data: [DONE]\n\n"


def token_text(index: int) -> str:
    return f"tok{index}" if index == 0 else f" tok{index}"


def full_text(tokens: int) -> str:
    return " ".join(f"tok{i}" for i in range(tokens))


def count_tokens_before_stop(tokens: int, stop: list[str]) -> int | None:
    """Index of the first token whose text contains a stop string, if any."""
    if not stop:
        return None
    for i in range(tokens):
        text = f"tok{i}"
        if any(s and s in text for s in stop):
            return i
    return None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    def as_json(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "completion_tokens": self.completion_tokens,
        }


@dataclass(frozen=True, slots=True)
class Timings:
    """Planned durations (seconds) for the Ollama statistics fields."""

    ttft_s: float
    generation_s: float


class StreamFormat(Protocol):
    media_type: str
    supports_ping: bool

    def token(self, index: int) -> bytes: ...
    def malformed(self) -> bytes: ...
    def inband_error(self, message: str) -> bytes: ...
    def finish(self, reason: str, usage: Usage, timings: Timings) -> bytes: ...
    def full_body(self, tokens: int, reason: str, usage: Usage, timings: Timings) -> bytes: ...


class OpenAIChatFormat:
    media_type = "text/event-stream"
    supports_ping = True

    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool) -> None:
        self._head = (
            f'{{"id":{_dumps(completion_id)},"object":"chat.completion.chunk",'
            f'"created":{created},"model":{_dumps(model)},'
        )
        self._id = completion_id
        self._created = created
        self._model = model
        self._include_usage = include_usage
        self._prefix = (
            "data: " + self._head + '"choices":[{"index":0,"delta":{"content":"'
        ).encode()
        self._suffix = b'"},"logprobs":null,"finish_reason":null}]}\n\n'
        self._spaced = self._prefix + b" tok"
        self._role = (
            "data: "
            + self._head
            + '"choices":[{"index":0,"delta":{"role":"assistant","content":""},'
            + '"logprobs":null,"finish_reason":null}]}\n\n'
        ).encode()

    def token(self, index: int) -> bytes:
        if index:  # the hot path: one formatting operation per token
            return b"%b%d%b" % (self._spaced, index, self._suffix)
        return self._role + self._prefix + b"tok0" + self._suffix

    def malformed(self) -> bytes:
        return ("data: " + self._head + '"choices":[{"index":0,"delta":{"content":\n\n').encode()

    def inband_error(self, message: str) -> bytes:
        error = {"error": {"message": message, "type": "server_error", "param": None, "code": 500}}
        return f"data: {_dumps(error)}\n\n".encode()

    def finish(self, reason: str, usage: Usage, timings: Timings) -> bytes:
        out = (
            "data: "
            + self._head
            + '"choices":[{"index":0,"delta":{},"logprobs":null,'
            + f'"finish_reason":{_dumps(reason)},"stop_reason":null}}]}}\n\n'
        )
        if self._include_usage:
            out += "data: " + self._head + f'"choices":[],"usage":{_dumps(usage.as_json())}}}\n\n'
        return out.encode() + SSE_DONE

    def full_body(self, tokens: int, reason: str, usage: Usage, timings: Timings) -> bytes:
        body = {
            "id": self._id,
            "object": "chat.completion",
            "created": self._created,
            "model": self._model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": full_text(tokens)},
                    "logprobs": None,
                    "finish_reason": reason,
                    "stop_reason": None,
                }
            ],
            "usage": usage.as_json(),
        }
        return _dumps(body).encode()


class OpenAICompletionFormat(OpenAIChatFormat):
    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool) -> None:
        super().__init__(completion_id, created, model, include_usage)
        self._head = (
            f'{{"id":{_dumps(completion_id)},"object":"text_completion",'
            f'"created":{created},"model":{_dumps(model)},'
        )
        self._prefix = ("data: " + self._head + '"choices":[{"index":0,"text":"').encode()
        self._suffix = b'","logprobs":null,"finish_reason":null,"stop_reason":null}]}\n\n'
        self._spaced = self._prefix + b" tok"

    def token(self, index: int) -> bytes:
        if index:
            return b"%b%d%b" % (self._spaced, index, self._suffix)
        return self._prefix + b"tok0" + self._suffix

    def malformed(self) -> bytes:
        return ("data: " + self._head + '"choices":[{"index":0,"text":\n\n').encode()

    def finish(self, reason: str, usage: Usage, timings: Timings) -> bytes:
        out = (
            "data: "
            + self._head
            + '"choices":[{"index":0,"text":"","logprobs":null,'
            + f'"finish_reason":{_dumps(reason)},"stop_reason":null}}]}}\n\n'
        )
        if self._include_usage:
            out += "data: " + self._head + f'"choices":[],"usage":{_dumps(usage.as_json())}}}\n\n'
        return out.encode() + SSE_DONE

    def full_body(self, tokens: int, reason: str, usage: Usage, timings: Timings) -> bytes:
        body = {
            "id": self._id,
            "object": "text_completion",
            "created": self._created,
            "model": self._model,
            "choices": [
                {
                    "index": 0,
                    "text": full_text(tokens),
                    "logprobs": None,
                    "finish_reason": reason,
                    "stop_reason": None,
                }
            ],
            "usage": usage.as_json(),
        }
        return _dumps(body).encode()


LOAD_DURATION_NS = 1_000_000  # the mock's model is always "loaded"; 1 ms, like a warm Ollama


class OllamaFormat:
    """NDJSON lines of ``/api/chat`` (``message``) or ``/api/generate`` (``response``)."""

    media_type = "application/x-ndjson"
    supports_ping = False  # NDJSON has no comment syntax; a blank line breaks clients

    def __init__(self, model: str, created_at: str, chat: bool) -> None:
        self._chat = chat
        self._model = model
        self._created_at = created_at
        self._head = f'{{"model":{_dumps(model)},"created_at":{_dumps(created_at)},'
        if chat:
            self._prefix = (self._head + '"message":{"role":"assistant","content":"').encode()
            self._suffix = b'"},"done":false}\n'
        else:
            self._prefix = (self._head + '"response":"').encode()
            self._suffix = b'","done":false}\n'

    def token(self, index: int) -> bytes:
        return self._prefix + token_text(index).encode() + self._suffix

    def malformed(self) -> bytes:
        return (self._head + '"message":{"role":"assistant","content":\n').encode()

    def inband_error(self, message: str) -> bytes:
        return (_dumps({"error": message}) + "\n").encode()

    def _final(self, content: str, reason: str, usage: Usage, timings: Timings) -> dict[str, Any]:
        ttft_ns = round(timings.ttft_s * 1e9)
        eval_ns = round(timings.generation_s * 1e9)
        body: dict[str, Any] = {"model": self._model, "created_at": self._created_at}
        if self._chat:
            body["message"] = {"role": "assistant", "content": content}
        else:
            body["response"] = content
        body.update(
            done_reason=reason,
            done=True,
            total_duration=LOAD_DURATION_NS + ttft_ns + eval_ns,
            load_duration=LOAD_DURATION_NS,
            prompt_eval_count=usage.prompt_tokens,
            prompt_eval_duration=ttft_ns,
            eval_count=usage.completion_tokens,
            eval_duration=eval_ns,
        )
        if not self._chat:
            body["context"] = list(range(usage.prompt_tokens + usage.completion_tokens))[:64]
        return body

    def finish(self, reason: str, usage: Usage, timings: Timings) -> bytes:
        return (_dumps(self._final("", reason, usage, timings)) + "\n").encode()

    def full_body(self, tokens: int, reason: str, usage: Usage, timings: Timings) -> bytes:
        return _dumps(self._final(full_text(tokens), reason, usage, timings)).encode()
