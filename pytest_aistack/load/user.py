"""``LLMUser``: a Locust user that streams completions and measures them exactly.

Subclass it in a locustfile::

    from pytest_aistack.load.user import LLMUser

    class ChatUser(LLMUser):
        model = "qwen"
        max_tokens = 64
        extra_body = {"temperature": 0}

Closed loop by default (each user sends its next request when the previous ends);
``arrival = "poisson"`` with ``rate = 2.0`` (or ``--llm-arrival poisson --llm-rate 2``)
makes each user an open-loop arrival stream of ``rate`` requests/s.

``start_spread = 0.5`` (or ``--llm-start-spread 0.5``) starts each user at a seeded
random offset in [0, 0.5 s). Locust starts a batch of users in the same instant, and
closed-loop users against a server with steady timing stay in that lockstep for the
whole run: every request then arrives in a herd, and the last of the herd waits for
the server to read all the others (a queueing delay that belongs to the herd, not to
the server's steady state). Spreading the starts over about one request's duration
removes the herd; 0 (the default) keeps Locust's behaviour.

Timing uses the process's monotonic clock around raw socket reads
(``load/transport.py``); Locust gets a ``TTFT`` and an ``E2E`` request event per
request (so its UI and CSV show them), and the exact histograms go to our result
files. The hot path per content event is: one ``recv``, one timestamp, an SSE split
and a byte-template match (``llm/chunks.py``) — no JSON decode.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from pathlib import Path
from typing import Any, ClassVar

import gevent
import gevent.pool
from locust import User, constant, task

from pytest_aistack.llm.request import Kind, auth_headers, build_body, endpoint_path
from pytest_aistack.llm.stream import StreamRecorder, StreamTimeouts
from pytest_aistack.metrics import definitions
from pytest_aistack.metrics.record import Outcome, RequestRecord

from . import collector as llm_collector
from . import options as llm_options
from .arrival import Arrival, IntervalStream
from .http11 import Target, build_request_head
from .prompts import DEFAULT_PROMPTS, Prompt, load_prompts
from .transport import Connection

llm_collector.register()

_user_numbers = itertools.count()
_request_numbers = itertools.count(1)
_ENCODED: dict[tuple[Any, ...], list[bytes]] = {}


class LLMRequestFailed(Exception):
    """Shown in Locust's failure table: the outcome (and HTTP status)."""


class LLMUser(User):
    abstract = True
    wait_time = constant(0)

    kind: ClassVar[Kind] = "chat"
    model: ClassVar[str] = os.environ.get("AISTACK_MODEL", "mock-model")
    max_tokens: ClassVar[int | None] = 32
    stream: ClassVar[bool] = True
    include_usage: ClassVar[bool] = True
    extra_body: ClassVar[dict[str, Any]] = {}
    extra_headers: ClassVar[dict[str, str]] = {}
    prompts_file: ClassVar[Path | str | None] = None
    # Open loop: "constant", "poisson" or "gamma" with `rate` requests/s per user.
    arrival: ClassVar[str] = "closed"
    rate: ClassVar[float] = 1.0
    burstiness: ClassVar[float] = 1.0
    max_in_flight: ClassVar[int] = 2000
    # Seconds over which the users' first requests are spread (see the module doc).
    start_spread: ClassVar[float] = 0.0
    # Default SLO of runs of this user class (``--slo`` overrides).
    slo: ClassVar[str] = ""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self._number = next(_user_numbers)
        self._collector = llm_collector.collector_for(environment)
        opts = self._collector.options
        self._timeouts: StreamTimeouts = opts.timeouts
        self._arrival: Arrival = llm_options.arrival_for(opts, type(self))
        self._seed = opts.seed * 1_000_003 + self._number
        spread = llm_options.start_spread_for(opts, type(self))
        # Its own generator: the arrival draws stay what they are without a spread.
        self._start_delay_s = random.Random(self._seed).random() * spread
        model = opts.model or self.model
        kind: Kind = opts.kind or self.kind  # type: ignore[assignment]
        if not self.host:
            raise ValueError("LLMUser needs --host (e.g. http://127.0.0.1:4000 for the gateway)")
        self._target = Target.from_url(self.host)
        headers = {**auth_headers(opts.api_key), **self.extra_headers}
        self._head = build_request_head(
            self._target, endpoint_path(self._target.base_path, kind), headers
        )
        self._bodies = self._encoded_prompts(kind, model, opts.max_tokens, opts.prompts)
        self._next_prompt = self._seed % len(self._bodies)
        self._idle: list[Connection] = []
        self._in_flight = gevent.pool.Pool(self.max_in_flight)
        self._collector.describe_users(
            model=model,
            kind=kind,
            arrival=self._arrival.kind,
            rate_per_user=self._arrival.rate if self._arrival.open_loop else None,
            burstiness=self._arrival.burstiness if self._arrival.kind == "gamma" else None,
            prompts=len(self._bodies),
            stream=self.stream,
            include_usage=self.include_usage,
            user_class=type(self).__name__,
            slo=self._collector.options.slo.to_list(),
            start_spread_s=spread,
        )

    @classmethod
    def _encoded_prompts(
        cls, kind: Kind, model: str, max_tokens: int, path: Path | None
    ) -> list[bytes]:
        # Users spawn in bursts of hundreds: read and encode the prompts once per class.
        key = (cls, kind, model, max_tokens, path)
        bodies = _ENCODED.get(key)
        if bodies is None:
            prompts = load_prompts(Path(path or cls.prompts_file or DEFAULT_PROMPTS))
            bodies = [cls._encode(kind, model, p, max_tokens) for p in prompts]
            _ENCODED[key] = bodies
        return bodies

    @classmethod
    def _encode(cls, kind: Kind, model: str, prompt: Prompt, max_tokens: int) -> bytes:
        body = build_body(
            kind,
            prompt.content,
            model=model,
            max_tokens=max_tokens or prompt.max_tokens or cls.max_tokens,
            stream=cls.stream,
            include_usage=cls.include_usage,
            extra=cls.extra_body,
        )
        return json.dumps(body, separators=(",", ":")).encode()

    @task
    def generate(self) -> None:
        if self._start_delay_s:
            delay, self._start_delay_s = self._start_delay_s, 0.0
            # A scheduled start phase, not a readiness wait; killed with the user at stop.
            gevent.sleep(delay)
        if self._arrival.open_loop:
            self._open_loop(self._arrival.intervals(self._seed))
        else:
            self.request(None)

    def _open_loop(self, intervals: IntervalStream) -> None:
        next_ns = time.monotonic_ns()
        while True:
            next_ns += int(intervals.next() * 1e9)
            delay = (next_ns - time.monotonic_ns()) / 1e9
            if delay > 0:
                gevent.sleep(delay)
            # Blocks when max_in_flight requests are running; the lateness then shows
            # up as start lag and scheduled latency instead of being hidden.
            self._in_flight.spawn(self.request, next_ns)

    def on_stop(self) -> None:
        self._in_flight.kill(block=True, timeout=5)
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    def request(self, scheduled_ns: int | None) -> RequestRecord:
        """Send one request (the next prompt) and account for it."""
        body = self._bodies[self._next_prompt]
        self._next_prompt = (self._next_prompt + 1) % len(self._bodies)
        # 32 hex digits (pid, then a counter) parse as a UUID, the only x-request-id
        # llama-cpp-python's server accepts (its starlette-context RequestIdPlugin
        # validates it; anything else is an empty 400).
        request_id = f"{os.getpid():08x}{next(_request_numbers):024x}"
        request = b"%sx-request-id: %s\r\nContent-Length: %d\r\n\r\n%s" % (
            self._head,
            request_id.encode(),
            len(body),
            body,
        )
        timeouts = self._timeouts
        connection = self._idle.pop() if self._idle else Connection(self._target, timeouts)

        def new_recorder() -> StreamRecorder:
            return StreamRecorder(
                request_id, time.monotonic_ns(), timeouts=timeouts, scheduled_ns=scheduled_ns
            )

        try:
            record = connection.exchange(request, new_recorder)
        except BaseException:
            # Killed at the end of the run (GreenletExit) or a bug: not a server outcome.
            connection.close()
            self._collector.note_interrupted()
            raise
        if connection.sock is not None:
            self._idle.append(connection)
        self._collector.add(record)
        self._fire_events(record)
        self.on_record(record)
        return record

    def on_record(self, record: RequestRecord) -> None:
        """Override to look at every record (e.g. assert on content); default: nothing."""

    def _fire_events(self, record: RequestRecord) -> None:
        fire = self.environment.events.request.fire
        tokens, _ = definitions.output_tokens(record)
        e2e_ms = definitions.e2e_ns(record) / 1e6
        if record.outcome is Outcome.OK:
            ttft = definitions.ttft_ns(record)
            if ttft is not None:
                fire(
                    request_type="LLM",
                    name="TTFT",
                    response_time=ttft / 1e6,
                    response_length=tokens,
                    exception=None,
                    context={},
                )
            exception: Exception | None = None
        else:
            status = f" {record.status}" if record.outcome is Outcome.HTTP_ERROR else ""
            exception = LLMRequestFailed(f"{record.outcome.value}{status}")
        fire(
            request_type="LLM",
            name="E2E",
            response_time=e2e_ms,
            response_length=tokens,
            exception=exception,
            context={},
        )
