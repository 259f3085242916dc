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
from typing import Any, ClassVar, Protocol

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


class _OpenAIFormat:
    """An OpenAI API's output as vLLM sends it; a subclass names its objects and fields.

    Every event starts with the same ``{"id":…,"object":…,"created":…,"model":…,`` head
    and a choice ``{"index":0,`` followed by the format's text field, so the templates
    below are joined once per request and ``token`` only formats the index in.
    """

    media_type = "text/event-stream"
    supports_ping = True
    _chunk_object: ClassVar[str]  # "object" of a streamed chunk
    _body_object: ClassVar[str]  # "object" of a non-streamed answer
    _text_field: ClassVar[str]  # a chunk's text field, up to its string's opening quote
    _token_end: ClassVar[bytes]  # a token chunk after its text
    _finish_field: ClassVar[str]  # the finish chunk's empty text field
    _opening_choice: ClassVar[str] = ""  # a chunk of its own before the first token's

    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool) -> None:
        self._id = completion_id
        self._created = created
        self._model = model
        self._include_usage = include_usage
        self._head = (
            f'{{"id":{_dumps(completion_id)},"object":"{self._chunk_object}",'
            f'"created":{created},"model":{_dumps(model)},'
        )
        self._choice = "data: " + self._head + '"choices":[{"index":0,'
        self._prefix = (self._choice + self._text_field + '"').encode()
        self._suffix = self._token_end
        self._spaced = self._prefix + b" tok"
        first = self._prefix + b"tok0" + self._suffix
        if self._opening_choice:
            first = (self._choice + self._opening_choice + "}]}\n\n").encode() + first
        self._first = first

    def token(self, index: int) -> bytes:
        if index:  # the hot path: one formatting operation per token
            return b"%b%d%b" % (self._spaced, index, self._suffix)
        return self._first

    def malformed(self) -> bytes:
        return (self._choice + self._text_field + "\n\n").encode()

    def inband_error(self, message: str) -> bytes:
        error = {"error": {"message": message, "type": "server_error", "param": None, "code": 500}}
        return f"data: {_dumps(error)}\n\n".encode()

    def finish(self, reason: str, usage: Usage, timings: Timings) -> bytes:
        out = (
            self._choice
            + self._finish_field
            + f'"logprobs":null,"finish_reason":{_dumps(reason)},"stop_reason":null}}]}}\n\n'
        )
        if self._include_usage:
            out += "data: " + self._head + f'"choices":[],"usage":{_dumps(usage.as_json())}}}\n\n'
        return out.encode() + SSE_DONE

    def _whole_text(self, text: str) -> dict[str, Any]:
        raise NotImplementedError

    def full_body(self, tokens: int, reason: str, usage: Usage, timings: Timings) -> bytes:
        choice = {
            "index": 0,
            **self._whole_text(full_text(tokens)),
            "logprobs": None,
            "finish_reason": reason,
            "stop_reason": None,
        }
        body = {
            "id": self._id,
            "object": self._body_object,
            "created": self._created,
            "model": self._model,
            "choices": [choice],
            "usage": usage.as_json(),
        }
        return _dumps(body).encode()


class OpenAIChatFormat(_OpenAIFormat):
    _chunk_object = "chat.completion.chunk"
    _body_object = "chat.completion"
    _text_field = '"delta":{"content":'
    _token_end = b'"},"logprobs":null,"finish_reason":null}]}\n\n'
    _finish_field = '"delta":{},'
    _opening_choice = (
        '"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null'
    )

    def _whole_text(self, text: str) -> dict[str, Any]:
        return {"message": {"role": "assistant", "content": text}}


class OpenAICompletionFormat(_OpenAIFormat):
    _chunk_object = "text_completion"
    _body_object = "text_completion"
    _text_field = '"text":'
    _token_end = b'","logprobs":null,"finish_reason":null,"stop_reason":null}]}\n\n'
    _finish_field = '"text":"",'

    def _whole_text(self, text: str) -> dict[str, Any]:
        return {"text": text}


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
