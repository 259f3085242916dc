"""The stream classifier: bytes and transport events in, one RequestRecord out.

:class:`StreamRecorder` is sans-IO: a transport (the httpx client in
``llm/client.py``, the gevent client of the load generator) tells it what happened
and when, and it decides the request's one outcome:

=================== ==========================================================
``ok``              ``[DONE]`` (or a clean end) after a chunk with finish_reason
``http_error``      the response status was not 2xx
``timeout``         no response headers, or no end, before the deadline
``refused``         the connection could not be opened
``truncated_abrupt`` transport error after the headers (reset, cut chunked body)
``truncated_clean`` the body ended cleanly but without finish_reason or ``[DONE]``
``inband_error``    a ``data: {"error": ...}`` payload (or ``event: error``)
``stall``           no content event within the idle deadline (pings do not count)
``malformed``       a payload that is not a JSON completion chunk
``spliced``         the chunk ``id`` or ``model`` changed mid-stream
=================== ==========================================================

The first decided outcome wins; a transport stops reading once :attr:`outcome` is set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pytest_aistack.metrics.record import Outcome, RequestRecord

from .chunks import ChunkInfo, ChunkInspector, MalformedChunk
from .sse import SSEParser

_DONE = b"[DONE]"
_MAX_ERROR_BODY = 4096


@dataclass(frozen=True, slots=True)
class StreamTimeouts:
    """Deadlines in seconds; every read of a stream is bounded by one of them."""

    connect: float = 10.0
    # send -> response headers and send -> first content event.
    first_token: float = 60.0
    # Longest gap between content events once content has started.
    idle: float = 30.0
    total: float = 600.0

    def __post_init__(self) -> None:
        for name in ("connect", "first_token", "idle", "total"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"StreamTimeouts.{name} must be > 0 seconds, got {value!r}")


class StreamRecorder:
    """Observes one request and builds its :class:`RequestRecord`."""

    __slots__ = (
        "_body",
        "_done_ns",
        "_finish_reason",
        "_first_id",
        "_first_model",
        "_inspector",
        "_json_body",
        "_parser",
        "_texts",
        "_timeouts_ns",
        "completion_tokens",
        "content_ns",
        "error",
        "first_byte_ns",
        "headers_ns",
        "outcome",
        "prompt_tokens",
        "request_id",
        "scheduled_ns",
        "sent_ns",
        "status",
    )

    def __init__(
        self,
        request_id: str,
        sent_ns: int,
        *,
        timeouts: StreamTimeouts,
        scheduled_ns: int | None = None,
        collect_text: bool = False,
    ) -> None:
        self.request_id = request_id
        self.sent_ns = sent_ns
        self.scheduled_ns = scheduled_ns
        self._timeouts_ns = (
            int(timeouts.first_token * 1e9),
            int(timeouts.idle * 1e9),
            int(timeouts.total * 1e9),
        )
        self.headers_ns: int | None = None
        self.first_byte_ns: int | None = None
        self.content_ns: list[int] = []
        self.status: int | None = None
        self.outcome: Outcome | None = None
        self.error = ""
        self.completion_tokens: int | None = None
        self.prompt_tokens: int | None = None
        self._finish_reason: str | None = None
        self._done_ns: int | None = None
        self._first_id: str | None = None
        self._first_model: str | None = None
        self._parser = SSEParser()
        self._inspector = ChunkInspector()
        self._texts: list[str] | None = [] if collect_text else None
        self._json_body = False
        self._body = bytearray()

    # -- deadlines --------------------------------------------------------------

    def read_deadline_ns(self) -> int:
        """The monotonic time by which the next byte must have brought progress."""
        first_token, idle, total = self._timeouts_ns
        # Only content is progress: pings and role/usage chunks do not move this.
        progress = self.content_ns[-1] + idle if self.content_ns else self.sent_ns + first_token
        return min(progress, self.sent_ns + total)

    def deadline_passed(self, now_ns: int) -> None:
        """The transport hit :meth:`read_deadline_ns` without progress."""
        first_token, idle, total = self._timeouts_ns
        if now_ns >= self.sent_ns + total:
            self._decide(Outcome.TIMEOUT, f"no end of response within {total / 1e9:g} s")
        elif self.headers_ns is None:
            self._decide(Outcome.TIMEOUT, f"no response headers within {first_token / 1e9:g} s")
        elif not self.content_ns:
            self._decide(
                Outcome.STALL,
                f"no content within {first_token / 1e9:g} s of sending "
                f"({self._parser.comments} keep-alive comments do not count)",
            )
        else:
            self._decide(
                Outcome.STALL,
                f"no content for {idle / 1e9:g} s after {len(self.content_ns)} content "
                f"events ({self._parser.comments} keep-alive comments do not count)",
            )

    # -- transport events ---------------------------------------------------------

    def on_headers(self, status: int, content_type: str, now_ns: int) -> None:
        self.headers_ns = now_ns
        if self.first_byte_ns is None:
            # Transports that cannot see the first byte before the headers are parsed
            # (httpx) report TTFB as time to headers; the raw transport sets it earlier.
            self.first_byte_ns = now_ns
        self.status = status
        media = content_type.split(";", 1)[0].strip().lower()
        self._json_body = not 200 <= status < 300 or media != "text/event-stream"

    def on_bytes(self, data: bytes, now_ns: int) -> None:
        if self.first_byte_ns is None:
            self.first_byte_ns = now_ns
        if self.outcome is not None or self._done_ns is not None:
            return
        if self._json_body:
            if len(self._body) < _MAX_ERROR_BODY * 16:
                self._body += data
            return
        parser = self._parser
        for event in parser.feed(data):
            self._on_event(event.data, event.event, now_ns)
            if self.finished_reading:
                return
        if parser.overflow:
            self._decide(Outcome.MALFORMED, "an SSE line longer than 1 MiB")

    def _on_event(self, payload: bytes, event_type: bytes, now_ns: int) -> None:
        if event_type == b"error":
            self._decide(Outcome.INBAND_ERROR, "event: error " + _short(payload))
            return
        fast = self._inspector.fast_text(payload)
        if fast is not None:
            self.content_ns.append(now_ns)
            if self._texts is not None:
                self._texts.append(fast.decode("ascii"))
            return
        if payload == _DONE:
            self._done_ns = now_ns
            return
        try:
            info = self._inspector.inspect(payload)
        except MalformedChunk as exc:
            self._decide(Outcome.MALFORMED, f"{exc}: {_short(payload)}")
            return
        self._apply(info, now_ns)

    def _apply(self, info: ChunkInfo, now_ns: int) -> None:
        if info.error is not None:
            self._decide(Outcome.INBAND_ERROR, "in-band error: " + _short(info.error))
            return
        if not self._same_stream(info):
            return
        if info.text:
            self.content_ns.append(now_ns)
            if self._texts is not None:
                self._texts.append(info.text)
        if info.finish_reason is not None:
            self._finish_reason = info.finish_reason
        if info.completion_tokens is not None:
            self.completion_tokens = info.completion_tokens
        if info.prompt_tokens is not None:
            self.prompt_tokens = info.prompt_tokens

    def _same_stream(self, info: ChunkInfo) -> bool:
        for attr, seen, label in (
            ("_first_id", info.id, "id"),
            ("_first_model", info.model, "model"),
        ):
            if seen is None:
                continue
            first = getattr(self, attr)
            if first is None:
                setattr(self, attr, seen)
            elif first != seen:
                self._decide(Outcome.SPLICED, f"chunk {label} changed from {first!r} to {seen!r}")
                return False
        return True

    @property
    def succeeded(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def finished_reading(self) -> bool:
        """An outcome is decided or ``[DONE]`` arrived: nothing more to read for timing."""
        return self.outcome is not None or self._done_ns is not None

    @property
    def done(self) -> bool:
        """``[DONE]`` arrived: the transport may stop reading."""
        return self._done_ns is not None

    def transport_error(self, error: str, now_ns: int, *, connected: bool) -> None:
        if not connected:
            self._decide(Outcome.REFUSED, error)
        elif self.headers_ns is None:
            self._decide(Outcome.TRUNCATED_ABRUPT, "connection lost before headers: " + error)
        else:
            self._decide(Outcome.TRUNCATED_ABRUPT, error)

    def fail(self, outcome: Outcome, error: str) -> None:
        """Decide an outcome the transport saw itself (e.g. a connect timeout)."""
        self._decide(outcome, error)

    def _decide(self, outcome: Outcome, error: str) -> None:
        if self.outcome is None:
            self.outcome = outcome
            self.error = error

    # -- the end ------------------------------------------------------------------

    def finish(self, now_ns: int) -> RequestRecord:
        """Build the record; ``now_ns`` is when the body ended or reading stopped."""
        end_ns = now_ns
        if self.outcome is None:
            if self._json_body:
                self._classify_json_body()
            else:
                self._classify_stream_end()
            if self._done_ns is not None and self.succeeded:
                # E2E ends at [DONE]; bytes after it (the chunked terminator) are not latency.
                end_ns = self._done_ns
        assert self.outcome is not None
        text = "".join(self._texts) if self._texts is not None else None
        return RequestRecord(
            request_id=self.request_id,
            sent_ns=self.sent_ns,
            end_ns=end_ns,
            outcome=self.outcome,
            scheduled_ns=self.scheduled_ns,
            headers_ns=self.headers_ns,
            first_byte_ns=self.first_byte_ns,
            content_ns=self.content_ns,
            status=self.status,
            error=self.error,
            usage_output_tokens=self.completion_tokens,
            usage_prompt_tokens=self.prompt_tokens,
            finish_reason=self._finish_reason,
            model=self._first_model,
            text=text,
        )

    def _classify_stream_end(self) -> None:
        if self._done_ns is None and self._finish_reason is None:
            self._decide(Outcome.TRUNCATED_CLEAN, "stream ended without finish_reason and [DONE]")
        elif self._done_ns is None:
            self._decide(Outcome.TRUNCATED_CLEAN, "stream ended without [DONE]")
        elif self._finish_reason is None:
            self._decide(Outcome.TRUNCATED_CLEAN, "stream ended without a finish_reason")
        else:
            self._decide(Outcome.OK, "")

    def _classify_json_body(self) -> None:
        body = bytes(self._body)
        status = self.status or 0
        if not 200 <= status < 300:
            self._decide(Outcome.HTTP_ERROR, f"HTTP {status}: {_short(body)}")
            return
        try:
            obj = json.loads(body)
        except ValueError:
            self._decide(
                Outcome.MALFORMED, "response is neither an event stream nor JSON: " + _short(body)
            )
            return
        if isinstance(obj, dict) and ("error" in obj or obj.get("object") == "error"):
            self._decide(Outcome.INBAND_ERROR, "error body with 2xx status: " + _short(body))
            return
        self._apply_json_completion(obj)

    def _apply_json_completion(self, obj: object) -> None:
        """A non-streamed completion: tokens from usage, no per-token timing."""
        if not isinstance(obj, dict) or not isinstance(obj.get("choices"), list):
            self._decide(Outcome.MALFORMED, "JSON response without 'choices'")
            return
        choice = obj["choices"][0] if obj["choices"] else {}
        message = choice.get("message") if isinstance(choice, dict) else None
        text = ""
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            text = message["content"]
        elif isinstance(choice, dict) and isinstance(choice.get("text"), str):
            text = choice["text"]
        if self._texts is not None:
            self._texts.append(text)
        usage = obj.get("usage")
        if isinstance(usage, dict):
            if isinstance(usage.get("completion_tokens"), int):
                self.completion_tokens = usage["completion_tokens"]
            if isinstance(usage.get("prompt_tokens"), int):
                self.prompt_tokens = usage["prompt_tokens"]
        if isinstance(choice, dict) and choice.get("finish_reason") is not None:
            self._finish_reason = str(choice["finish_reason"])
        model = obj.get("model")
        self._first_model = model if isinstance(model, str) else None
        self._decide(Outcome.OK, "")


def _short(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        text = bytes(value[:300]).decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value[:300]
    else:
        text = json.dumps(value)[:300]
    return text
