"""The transport-independent answer to a request: a Plan.

A Plan says what to send and when: status and headers (at ``headers_at``, a
``time.monotonic()`` deadline), then either a complete ``body`` or ``steps``, an
iterator of ``(deadline, payload, content_tokens, action)`` with absolute deadlines.
Both servers (the raw asyncio one and the ASGI adapter) only execute plans, so the
behaviour they show is the same; only how they wait differs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .stats import ServedRequest, Stats

# Step actions.
DATA = 0  # write the payload
CUT = 1  # close the connection abruptly (no terminating chunk)
HANG = 2  # send nothing more; wait for the client to go away or for shutdown

Step = tuple[float, bytes, int, int]


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes
    # Wall-clock time the request's first bytes were read (0.0: stamp when handled).
    received_at: float = 0.0


class Plan:
    __slots__ = (
        "_finished",
        "body",
        "content_length",
        "headers",
        "headers_at",
        "on_finish",
        "planned_outcome",
        "record",
        "stats",
        "status",
        "steps",
    )

    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]],
        *,
        body: bytes | None = None,
        steps: Iterator[Step] | None = None,
        content_length: int | None = None,
        headers_at: float = 0.0,
        record: ServedRequest | None = None,
        stats: Stats | None = None,
        planned_outcome: str = "completed",
        on_finish: Callable[[Plan, str], None] | None = None,
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.steps = steps
        # None with steps: chunked transfer encoding (a stream).
        self.content_length = len(body) if body is not None else content_length
        self.headers_at = headers_at
        self.record = record
        self.stats = stats
        self.planned_outcome = planned_outcome
        self.on_finish = on_finish
        self._finished = False

    @property
    def hangs_before_headers(self) -> bool:
        return math.isinf(self.headers_at)

    def headers_sent(self) -> None:
        if self.record is not None:
            self.record.headers_at = time.time()

    def tokens_sent(self, tokens: int) -> None:
        """Count ``tokens`` whose write is about to be issued: call it just BEFORE the write.

        The stamps are the mock's ground truth for TTFT/ITL (docs/mock_llm.md); stamped
        after the write, they would include the send syscall (the loopback delivery).
        """
        record = self.record
        if record is not None:
            token_times = record.token_times
            if not record.tokens_sent or token_times is not None:
                now = time.time()
                if not record.tokens_sent:
                    record.first_token_at = now
                if token_times is not None:
                    token_times.extend([now] * tokens)
            record.tokens_sent += tokens
        if self.stats is not None:
            self.stats.tokens_sent += tokens

    def finish(self, outcome: str | None = None) -> None:
        """Record the end of the response once: ``outcome`` overrides the planned one."""
        if self._finished:
            return
        self._finished = True
        final = outcome or self.planned_outcome
        if self.record is not None:
            self.record.outcome = final
            self.record.finished_at = time.time()
            if self.stats is not None:
                self.stats.seal(self.record)
        if self.on_finish is not None:
            self.on_finish(self, final)
