"""Plans for admitted generation requests: streams and timed non-stream bodies."""

from __future__ import annotations

import datetime
import json
import math
import random
import time
import zlib
from typing import Any

from .config import TimingProfile
from .faults import Faults
from .generation import (
    EMBEDDINGS,
    GenerationRequest,
    embeddings_body,
    full_body,
    make_format,
    plan_output,
    steps_for,
)
from .plan import CUT, DATA, HANG, Plan
from .stats import ServedRequest

JSON = "application/json"


def json_bytes(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def generation_plan(
    parsed: GenerationRequest,
    profile: TimingProfile,
    faults: Faults,
    *,
    t0: float,
    request_id: str,
    completion_id: str,
    base_headers: list[tuple[str, str]],
    embedding_dim: int,
    record: ServedRequest,
) -> Plan:
    """The answer to an admitted generation request, timed from ``t0`` (monotonic)."""
    headers = [*base_headers, ("x-request-id", request_id)]
    seed = profile.seed if profile.seed is not None else 0
    # Same seed + same request id = same draws. An int seed: seeding from a str hashes
    # it with SHA-512, the largest single cost of planning a request.
    rng = random.Random((seed << 32) ^ zlib.crc32(request_id.encode()))
    if parsed.path == EMBEDDINGS:
        body = json_bytes(embeddings_body(parsed, embedding_dim))
        deadline = t0 + (profile.ttft_ms / 1000.0)
        return body_plan(headers, body, deadline, faults, 0)
    now_wall = time.time()
    created_at = (
        datetime.datetime.fromtimestamp(now_wall, datetime.UTC)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z")
    )
    fmt = make_format(parsed, completion_id, int(now_wall), created_at)
    gen = plan_output(parsed, profile, rng, fmt, faults)
    record.tokens_planned = gen.tokens
    error_message = faults.message or "injected fault: in-band error"
    if parsed.stream:
        steps = steps_for(t0, gen, profile, rng, faults, parsed.prompt_tokens, error_message)
        return Plan(
            200,
            [("content-type", fmt.media_type), ("cache-control", "no-cache"), *headers],
            steps=steps,
            planned_outcome=gen.outcome,
        )
    # Non-stream: the whole body leaves when the last token would have.
    last = t0
    for deadline, _payload, _tokens, action in steps_for(
        t0, gen, profile, rng, faults, parsed.prompt_tokens, error_message
    ):
        if action == HANG:
            last = math.inf  # a stall forever before the end: the answer never comes
            break
        if action == CUT:
            break
        last = deadline
    body = full_body(gen, profile, parsed.prompt_tokens)
    if faults.inband_error_at is not None:
        error = {"message": error_message, "type": "server_error", "param": None, "code": 500}
        body = json_bytes({"error": error})
    return body_plan(headers, body, last, faults, gen.tokens)


def body_plan(
    headers: list[tuple[str, str]],
    body: bytes,
    deadline: float,
    faults: Faults,
    tokens: int,
) -> Plan:
    """A non-stream answer at ``deadline``; stream faults corrupt or cut the body."""
    headers = [("content-type", JSON), *headers]
    if faults.cut_after is not None:
        # Content-Length promises the whole body; half of it arrives, then the close.
        steps = iter([(deadline, body[: len(body) // 2], 0, DATA), (deadline, b"", 0, CUT)])
        return Plan(
            200,
            headers,
            steps=steps,
            content_length=len(body),
            headers_at=deadline,
            planned_outcome="cut",
        )
    outcome = "completed"
    if faults.truncate_after is not None:
        body, outcome = body[: len(body) // 2], "truncated"
    elif faults.malformed_at is not None:
        body, outcome = body[: len(body) // 2] + b"\n", "malformed"
    elif faults.inband_error_at is not None:
        outcome = "inband_error"
    steps = iter([(deadline, body, tokens if outcome == "completed" else 0, DATA)])
    return Plan(
        200,
        headers,
        steps=steps,
        content_length=len(body),
        headers_at=deadline,
        planned_outcome=outcome,
    )


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    408: "timeout_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


def error_body(
    status: int, message: str, param: str | None = None, code: Any = None, ollama: bool = False
) -> bytes:
    if ollama:
        return json_bytes({"error": message})
    kind = _ERROR_TYPES.get(status, "server_error")
    return json_bytes(
        {"error": {"message": message, "type": kind, "param": param, "code": code or status}}
    )


def retry_after_header(seconds: float) -> str:
    # Retry-After is integer seconds (RFC 9110 10.2.3); round up so clients never retry early.
    return str(max(0, math.ceil(seconds)))
