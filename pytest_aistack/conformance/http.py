"""Bounded HTTP calls for the checks: every call has a deadline, every outcome is kept.

:func:`call` makes one request and returns an :class:`Answer` whatever happens (a
status, or the transport error, or "no answer within N s"); :class:`BackgroundStream`
holds a long request open in a thread (to fill a server's slots, or to be in flight
at SIGTERM) and can be told to let go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from pytest_aistack.llm.stream import StreamRecorder, StreamTimeouts
from pytest_aistack.metrics.record import Outcome


@dataclass
class Answer:
    status: int | None  # None: no status line (refused, reset, timed out)
    elapsed: float
    headers: Mapping[str, str] = field(default_factory=dict)
    text: str = ""
    error: str | None = None  # transport error, or "no answer within N s"
    timed_out: bool = False

    @property
    def refused(self) -> bool:
        """The connection was refused or dropped before any answer (a stopped listener)."""
        return self.status is None and not self.timed_out

    def json(self) -> Any:
        import json

        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def describe(self) -> str:
        if self.status is None:
            return f"{self.error} after {self.elapsed:.2f} s"
        extra = ""
        if self.status in (429, 503):  # where a Retry-After is owed
            retry = self.headers.get("retry-after")
            extra = f", Retry-After {retry}" if retry is not None else ", no Retry-After"
        return f"{self.status}{extra} after {self.elapsed:.2f} s: {self.text[:160]!r}"


def call(
    method: str, url: str, *, json: Any = None, timeout: float = 5.0, connect: float = 1.0
) -> Answer:
    """One request, answered or not within ``timeout`` seconds."""
    started = time.monotonic()
    try:
        response = httpx.request(
            method, url, json=json, timeout=httpx.Timeout(timeout, connect=min(connect, timeout))
        )
    except httpx.TimeoutException:
        elapsed = time.monotonic() - started
        return Answer(None, elapsed, error=f"no answer within {timeout:g} s", timed_out=True)
    except httpx.HTTPError as exc:
        elapsed = time.monotonic() - started
        return Answer(None, elapsed, error=f"{type(exc).__name__}: {exc}")
    elapsed = time.monotonic() - started
    return Answer(response.status_code, elapsed, dict(response.headers), response.text)


class BackgroundStream:
    """A request read to its end in a thread; ``release()`` makes the reader let go."""

    def __init__(self, url: str, body: Mapping[str, Any], *, deadline_s: float) -> None:
        self.url = url
        self.body = dict(body)
        self.deadline_s = deadline_s
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.started = time.monotonic()
        self.answered_at: float | None = None  # seconds from start to the status line
        self.ended_at: float | None = None
        # Read to its end and judged complete by the stream classifier the scenarios and
        # load runs use (outcome ok: finish_reason and [DONE] for a stream).
        self.complete = False
        self.outcome: Outcome | None = None
        self.error: str | None = None
        self.text = ""
        self._release = threading.Event()
        self._answered = threading.Event()
        self._thread = threading.Thread(target=self._run, name="conformance-stream", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        chunks: list[bytes] = []
        recorder = StreamRecorder(
            "conformance",
            time.monotonic_ns(),
            timeouts=StreamTimeouts(
                first_token=self.deadline_s, idle=self.deadline_s, total=self.deadline_s
            ),
        )
        try:
            timeout = httpx.Timeout(self.deadline_s, connect=2.0)
            with (
                httpx.Client(timeout=timeout) as client,
                client.stream("POST", self.url, json=self.body) as response,
            ):
                self.status = response.status_code
                self.headers = dict(response.headers)
                self.answered_at = time.monotonic() - self.started
                recorder.on_headers(
                    response.status_code,
                    response.headers.get("content-type", ""),
                    time.monotonic_ns(),
                )
                self._answered.set()
                for chunk in response.iter_raw():
                    chunks.append(chunk)
                    recorder.on_bytes(chunk, time.monotonic_ns())
                    if self._release.is_set():
                        self.error = "released by the check"
                        return
                    if time.monotonic() - self.started > self.deadline_s:
                        self.error = f"still streaming after {self.deadline_s:g} s"
                        return
            self.text = b"".join(chunks).decode(errors="replace")
            record = recorder.finish(time.monotonic_ns())
            self.outcome = record.outcome
            self.complete = record.outcome is Outcome.OK
            if not self.complete:
                self.error = f"{record.outcome}: {record.error}"
        except httpx.HTTPError as exc:
            self.error = f"{type(exc).__name__}: {exc}".strip()
        finally:
            self.ended_at = time.monotonic() - self.started
            if not self.text:
                self.text = b"".join(chunks).decode(errors="replace")
            self._answered.set()

    def wait_answered(self, timeout: float) -> bool:
        """True once the status line arrived (or the request failed) within ``timeout``."""
        return self._answered.wait(timeout)

    def release(self) -> None:
        self._release.set()

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def describe(self) -> str:
        if self.status is None:
            return f"no answer ({self.error})"
        how = "complete" if self.complete else f"not complete ({self.error})"
        ended = f" after {self.ended_at:.2f} s" if self.ended_at is not None else ""
        return f"{self.status}, {how}{ended}"
