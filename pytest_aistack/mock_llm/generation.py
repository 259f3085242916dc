"""Generation endpoints: parse an OpenAI/Ollama request body, then plan the answer."""

from __future__ import annotations

import base64
import hashlib
import math
import random
import struct
from dataclasses import dataclass
from typing import Any

from .config import TimingProfile
from .content import (
    OllamaFormat,
    OpenAIChatFormat,
    OpenAICompletionFormat,
    StreamFormat,
    Timings,
    Usage,
    count_tokens_before_stop,
)
from .faults import Faults
from .steps import planned_outcome, stream_steps

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
EMBEDDINGS = "/v1/embeddings"
OLLAMA_CHAT = "/api/chat"
OLLAMA_GENERATE = "/api/generate"
GENERATION_PATHS = (CHAT, COMPLETIONS, EMBEDDINGS, OLLAMA_CHAT, OLLAMA_GENERATE)

# Embeddings input limits, as an embeddings service enforces them (Hugging Face TEI:
# a batch above max_client_batch_size is a validation error, answered 413).
MAX_EMBEDDING_INPUTS = 32
MAX_EMBEDDING_INPUT_CHARS = 10_000


class BadRequest(Exception):
    def __init__(
        self, status: int, message: str, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code


@dataclass(slots=True)
class GenerationRequest:
    path: str
    model: str
    stream: bool
    include_usage: bool
    max_tokens: int | None
    stop: list[str]
    prompt_tokens: int
    profile: Any  # the body's mock_profile, if any
    fault: Any  # the body's mock_fault, if any
    inputs: list[str]
    encoding_format: str
    dimensions: int | None


def _words(text: str) -> int:
    return len(text.split())


def _content_words(content: Any, param: str) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return _words(content)
    if isinstance(content, list):  # OpenAI content parts
        return sum(
            _words(part["text"])
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    raise BadRequest(400, f"{param} must be a string or a list of content parts", param)


def _int_param(body: dict[str, Any], key: str, minimum: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise BadRequest(
            400, f"{key}={value!r} is invalid; it must be an integer >= {minimum}", key
        )
    return value


def parse_generation(
    path: str,
    body: Any,
    *,
    max_inputs: int = MAX_EMBEDDING_INPUTS,
    max_chars: int = MAX_EMBEDDING_INPUT_CHARS,
) -> GenerationRequest:
    """The request, validated; embeddings limits of 0 mean no limit."""
    if not isinstance(body, dict):
        raise BadRequest(400, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest(400, "'model' is required and must be a string", "model")
    ollama = path in (OLLAMA_CHAT, OLLAMA_GENERATE)
    stream_default = ollama  # Ollama streams unless told not to; OpenAI does not
    stream = body.get("stream", stream_default)
    if not isinstance(stream, bool):
        raise BadRequest(400, f"stream={stream!r} must be true or false", "stream")
    options = body.get("options") if ollama else None
    max_tokens: int | None
    if ollama:
        num_predict = options.get("num_predict") if isinstance(options, dict) else None
        max_tokens = num_predict if isinstance(num_predict, int) and num_predict > 0 else None
    else:
        max_tokens = _int_param(body, "max_completion_tokens", 1)
        if max_tokens is None:
            max_tokens = _int_param(body, "max_tokens", 1)
        n = body.get("n", 1)
        if n != 1:
            raise BadRequest(400, f"n={n!r} is not supported; the mock generates n=1", "n")
    stop_raw = body.get("stop")
    stop: list[str]
    if stop_raw is None:
        stop = []
    elif isinstance(stop_raw, str):
        stop = [stop_raw]
    elif isinstance(stop_raw, list) and all(isinstance(s, str) for s in stop_raw):
        stop = list(stop_raw)
    else:
        raise BadRequest(400, "stop must be a string or a list of strings", "stop")
    stream_options = body.get("stream_options")
    include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage") is True

    prompt_words = 0
    inputs: list[str] = []
    if path in (CHAT, OLLAMA_CHAT):
        messages = body.get("messages")
        if not isinstance(messages, list):
            raise BadRequest(400, "'messages' is required and must be a list", "messages")
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                raise BadRequest(400, f"messages[{i}] must be an object", f"messages[{i}]")
            prompt_words += _content_words(message.get("content"), f"messages[{i}].content")
    elif path in (COMPLETIONS, OLLAMA_GENERATE):
        prompt = body.get("prompt", "")
        if isinstance(prompt, list):
            prompt = " ".join(str(p) for p in prompt)
        if not isinstance(prompt, str):
            raise BadRequest(400, "'prompt' must be a string", "prompt")
        prompt_words = _words(prompt)
    else:
        inputs = _embedding_inputs(body.get("input"), max_inputs, max_chars)
        prompt_words = sum(_words(text) for text in inputs)
    encoding_format = body.get("encoding_format") or "float"
    if encoding_format not in ("float", "base64"):
        raise BadRequest(400, "encoding_format must be 'float' or 'base64'", "encoding_format")
    return GenerationRequest(
        path=path,
        model=model,
        stream=stream and path != EMBEDDINGS,
        include_usage=include_usage,
        max_tokens=max_tokens,
        stop=stop,
        prompt_tokens=max(1, prompt_words),
        profile=body.get("mock_profile"),
        fault=body.get("mock_fault"),
        inputs=inputs,
        encoding_format=str(encoding_format),
        dimensions=_int_param(body, "dimensions", 1) if path == EMBEDDINGS else None,
    )


def _embedding_inputs(raw: Any, max_inputs: int, max_chars: int) -> list[str]:
    if isinstance(raw, str):
        items: list[Any] = [raw]
    elif isinstance(raw, list) and raw:
        # A list of token ids is one input; a list of lists is several.
        items = [raw] if all(isinstance(t, int) for t in raw) else raw
    else:
        raise BadRequest(400, "'input' must be a string or a non-empty list", "input")
    if max_inputs and len(items) > max_inputs:
        raise BadRequest(
            413,
            f"input has {len(items)} items; at most {max_inputs} are allowed per "
            "request, split it into several requests",
            "input",
        )
    texts: list[str] = []
    for i, item in enumerate(items):
        if isinstance(item, list) and all(isinstance(t, int) for t in item):
            item = " ".join(str(t) for t in item)
        if not isinstance(item, str):
            raise BadRequest(400, f"input[{i}] must be a string or a list of token ids", "input")
        if max_chars and len(item) > max_chars:
            raise BadRequest(
                400,
                f"input[{i}] has {len(item)} characters; the maximum is {max_chars}, shorten it",
                "input",
            )
        texts.append(item)
    return texts


def embedding_vector(text: str, dim: int) -> list[float]:
    """A unit vector determined by the text alone (blake2b-seeded), same on every run."""
    seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
    rng = random.Random(seed)
    raw = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [v / norm for v in raw]


def embeddings_body(req: GenerationRequest, dim: int) -> dict[str, Any]:
    data: list[dict[str, Any]] = []
    for index, text in enumerate(req.inputs):
        vector = embedding_vector(text, req.dimensions or dim)
        embedding: Any = vector
        if req.encoding_format == "base64":
            # What the openai client asks for by default: little-endian float32.
            packed = struct.pack(f"<{len(vector)}f", *vector)
            embedding = base64.b64encode(packed).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    return {
        "object": "list",
        "data": data,
        "model": req.model,
        "usage": {"prompt_tokens": req.prompt_tokens, "total_tokens": req.prompt_tokens},
    }


@dataclass(slots=True)
class Generated:
    """The planned output of one generation request."""

    tokens: int
    finish_reason: str
    usage: Usage
    fmt: StreamFormat
    outcome: str


def make_format(
    req: GenerationRequest, completion_id: str, created: int, created_at: str
) -> StreamFormat:
    if req.path == CHAT:
        return OpenAIChatFormat("chatcmpl-" + completion_id, created, req.model, req.include_usage)
    if req.path == COMPLETIONS:
        return OpenAICompletionFormat(
            "cmpl-" + completion_id, created, req.model, req.include_usage
        )
    return OllamaFormat(req.model, created_at, chat=req.path == OLLAMA_CHAT)


def plan_output(
    req: GenerationRequest,
    profile: TimingProfile,
    rng: random.Random,
    fmt: StreamFormat,
    faults: Faults,
) -> Generated:
    tokens, hit_max = profile.output_tokens.draw(rng, req.max_tokens)
    finish_reason = "length" if hit_max else "stop"
    stop_at = count_tokens_before_stop(tokens, req.stop)
    if stop_at is not None:
        tokens, finish_reason = stop_at, "stop"
    usage = Usage(req.prompt_tokens, tokens)
    return Generated(tokens, finish_reason, usage, fmt, planned_outcome(faults, tokens))


def steps_for(
    t0: float,
    gen: Generated,
    profile: TimingProfile,
    rng: random.Random,
    faults: Faults,
    prompt_tokens: int,
    error_message: str,
) -> Any:
    offsets = profile.token_offsets(rng, prompt_tokens)
    timings = _timings(profile, prompt_tokens, gen.tokens)
    finish = gen.fmt.finish(gen.finish_reason, gen.usage, timings)
    return stream_steps(t0, offsets, gen.tokens, gen.fmt, faults, finish, error_message)


def _timings(profile: TimingProfile, prompt_tokens: int, tokens: int) -> Timings:
    ttft = (profile.ttft_ms + profile.prefill_us_per_token * prompt_tokens / 1000.0) / 1000.0
    return Timings(ttft, max(0, tokens - 1) * profile.itl_ms / 1000.0)


def full_body(gen: Generated, profile: TimingProfile, prompt_tokens: int) -> bytes:
    timings = _timings(profile, prompt_tokens, gen.tokens)
    return gen.fmt.full_body(gen.tokens, gen.finish_reason, gen.usage, timings)
