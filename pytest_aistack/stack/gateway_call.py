"""One call to the gateway as a scenario sees it, judged by the stream classifier.

``AIStack.chat`` sends through :func:`call_gateway`. The verdict on the answer is
:class:`pytest_aistack.llm.StreamRecorder`'s — the same ten outcomes the load generator
and ``pytest_aistack.asgi`` report (docs/metrics.md, "Outcomes") — so a scenario, a load
run and an in-process test cannot disagree on whether a stream was complete.
:class:`ChatResult` adds what the scenarios check beside it: the response headers (the
gateway's own account: ``x-litellm-model-id``, ``retry-after``), the SSE payloads in
order and whether ``[DONE]`` came.

Deadlines: ``deadline`` bounds connecting (at most 5 s of it), every gap between bytes
(httpx's read timeout) and, checked after each read, the whole call; a stream whose
bytes trickle without content (keep-alive pings) is a ``stall`` once ``deadline`` has
passed. A silent connection therefore ends at the latest one read timeout after the
deadline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from pytest_aistack.llm.sse import SSEParser
from pytest_aistack.llm.stream import StreamRecorder, StreamTimeouts
from pytest_aistack.metrics.record import Outcome, RequestRecord

# A non-stream answer (a completion, an error body) is kept for the scenarios' messages.
MAX_BODY_BYTES = 1 << 20
_DONE = b"[DONE]"
# Outcomes a client that trusts status 200 and [DONE] would not notice.
_LOOKS_COMPLETE = frozenset({Outcome.OK, Outcome.SPLICED})


@dataclass
class ChatResult:
    """One gateway call: the classifier's :attr:`record` and what the client saw."""

    request_id: str
    record: RequestRecord
    headers: Mapping[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None  # a non-stream answer (or error body) as JSON
    events: list[str] = field(default_factory=list)  # SSE data payloads, in order
    saw_done: bool = False

    @property
    def outcome(self) -> Outcome:
        return self.record.outcome

    @property
    def status(self) -> int | None:
        """None: the transport failed before a status line."""
        return self.record.status

    @property
    def elapsed(self) -> float:
        """Seconds from sending to the end of the answer (or of reading it)."""
        return (self.record.end_ns - self.record.sent_ns) / 1e9

    @property
    def error(self) -> str | None:
        """Why the outcome is not ``ok`` (transport error, in-band error, HTTP status…)."""
        return self.record.error or None

    @property
    def content(self) -> str:
        """The answer's text (the stream's content deltas, or the message content)."""
        return self.record.text or ""

    @property
    def ok(self) -> bool:
        """The classifier's verdict: a complete, well-formed answer (outcome ``ok``)."""
        return self.record.outcome is Outcome.OK

    @property
    def clean_success(self) -> bool:
        """What a client would take for a complete answer, rightly or not.

        ``ok``, and also the failures a client cannot see: a spliced stream, or one that
        ends with ``[DONE]`` but no ``finish_reason``. A scenario asserting that a fault
        never yields a clean-looking answer checks this; one asserting a real answer
        checks :attr:`ok`.
        """
        if self.record.outcome in (Outcome.TRUNCATED_CLEAN, Outcome.SPLICED):
            # Unnoticed only in a stream that still ends with [DONE] and shows no error
            # event: LiteLLM's mid-stream fallback splices the next group's stream in and
            # may then fail it (seen on llama.cpp backends), which a client does see.
            return self.saw_done and not any(_is_error_event(e) for e in self.events)
        return self.record.outcome in _LOOKS_COMPLETE

    @property
    def served_by(self) -> str | None:
        """The deployment id the gateway reports (``x-litellm-model-id``)."""
        return self.headers.get("x-litellm-model-id")

    @property
    def model_group(self) -> str | None:
        return self.headers.get("x-litellm-model-group")

    def describe(self) -> str:
        via = f" via {self.served_by}" if self.served_by else ""
        why = f": {self.error}" if self.error else ""
        return f"{self.status}{via} in {self.elapsed:.2f}s {self.outcome}{why}"


def call_gateway(
    url: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    *,
    request_id: str,
    deadline: float,
) -> ChatResult:
    """POST ``body`` to ``url`` and judge the answer; never waits much past ``deadline``."""
    timeouts = StreamTimeouts(
        connect=min(5.0, deadline), first_token=deadline, idle=deadline, total=deadline
    )
    recorder = StreamRecorder(request_id, time.monotonic_ns(), timeouts=timeouts, collect_text=True)
    reader = _BodyReader()
    result_headers: dict[str, str] = {}
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(deadline, connect=timeouts.connect)) as client,
            client.stream("POST", url, json=dict(body), headers=dict(headers)) as response,
        ):
            result_headers = dict(response.headers)
            content_type = response.headers.get("content-type", "")
            recorder.on_headers(response.status_code, content_type, time.monotonic_ns())
            reader.expect(response.status_code, content_type)
            # Decoded bytes: LiteLLM gzips error bodies for clients that accept gzip (as
            # httpx does by default); an identity body passes through as it arrived.
            for chunk in response.iter_bytes():
                now = time.monotonic_ns()
                recorder.on_bytes(chunk, now)
                reader.feed(chunk)
                if reader.saw_done:
                    break
                if now >= recorder.read_deadline_ns():
                    recorder.deadline_passed(now)
                    break
    except httpx.ConnectTimeout as exc:
        recorder.fail(Outcome.TIMEOUT, f"connect timeout: {exc!r}")
    except httpx.TimeoutException:
        # A gap between bytes as long as the whole deadline: it has passed.
        recorder.deadline_passed(time.monotonic_ns())
    except httpx.ConnectError as exc:
        recorder.transport_error(f"connect failed: {exc!r}", time.monotonic_ns(), connected=False)
    except httpx.TransportError as exc:
        recorder.transport_error(repr(exc), time.monotonic_ns(), connected=True)
    record = recorder.finish(time.monotonic_ns())
    return ChatResult(
        request_id=request_id,
        record=record,
        headers=result_headers,
        body=reader.json_body(),
        events=reader.events,
        saw_done=reader.saw_done,
    )


class _BodyReader:
    """The SSE payloads of a stream (the recorder's own parser), or a bounded body."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.saw_done = False
        self._sse: SSEParser | None = None
        self._body = bytearray()

    def expect(self, status: int, content_type: str) -> None:
        # The same rule as the recorder's: only a 2xx event stream is read as events.
        media = content_type.split(";", 1)[0].strip().lower()
        if 200 <= status < 300 and media == "text/event-stream":
            self._sse = SSEParser()

    def feed(self, chunk: bytes) -> None:
        if self._sse is None:
            if len(self._body) < MAX_BODY_BYTES:
                self._body += chunk[: MAX_BODY_BYTES - len(self._body)]
            return
        for event in self._sse.feed(chunk):
            if event.data == _DONE:
                self.saw_done = True
                return
            self.events.append(event.data.decode("utf-8", "replace"))

    def json_body(self) -> dict[str, Any] | None:
        if self._sse is not None or not self._body:
            return None
        try:
            value = json.loads(self._body)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


def _is_error_event(payload: str) -> bool:
    try:
        event = json.loads(payload)
    except ValueError:
        return False
    return isinstance(event, dict) and "error" in event
