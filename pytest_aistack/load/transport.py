"""The load generator's HTTP/1.1 client: gevent sockets, no HTTP library in the hot path.

Why not Locust's FastHttpUser or requests: the measurements must sit at the floor a
raw socket reader achieves. geventhttpclient (FastHttpUser) adds buffering layers,
and a line iterator over a response buffers whole reads before yielding. Here the
bytes of each read go straight to the sans-IO
:class:`~pytest_aistack.llm.stream.StreamRecorder`, stamped with when they arrived
(the kernel's receive timestamp on Linux, else when the read returned); framing is
decoded by ``http11``. One request at a time per connection, keep-alive between them.

Every socket operation is bounded: connect and send by ``StreamTimeouts.connect``,
reading by a per-response watchdog at the recorder's current read deadline.
"""

from __future__ import annotations

import socket
import ssl
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent import socket as gsocket

from pytest_aistack.llm.stream import StreamRecorder, StreamTimeouts
from pytest_aistack.metrics.histogram import Histogram
from pytest_aistack.metrics.record import Outcome, RequestRecord

from .http11 import (
    Body,
    ChunkedBody,
    CloseBody,
    LengthBody,
    ProtocolError,
    Target,
    parse_head,
    whole_chunk_length,
)

_RECV_BYTES = 65536
# Kernel receive timestamps (Linux SO_TIMESTAMPNS, socket(7)): the time the last
# packet of a read reached the socket, so a generator busy with other streams still
# stamps bytes with when they arrived, not when it got round to reading them. The
# constant is 35 on Linux (asm-generic/socket.h); Python does not export it.
_SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@qq")
_CMSG_SPACE = socket.CMSG_SPACE(_TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 0
_MAX_PLAUSIBLE_LAG_NS = 60 * 1_000_000_000
# Read lag above which the next reads take one HTTP chunk at a time (see _recv), and
# for how long after such a read every stream of the process does so.
_PRECISE_AFTER_LAG_NS = 1_000_000
_PRECISE_FOR_NS = 50_000_000
_MAX_HEAD_BYTES = 65536
_DRAIN_AFTER_DONE_S = 0.25


# How long after arrival this process read its bytes (only with kernel timestamps);
# reported by the self-check.
READ_LAG = Histogram()


class _Behind:
    """Until when every reader takes one HTTP chunk per read (process-wide).

    A lagging read in one stream means the whole process was busy (a GC pause, another
    process on the core): every other stream's socket has queued packets too, and
    each one's first read after the pause would stamp several tokens with the last
    one's arrival. Switching all streams at once leaves that error to the first
    reader only, instead of to the first read of every stream.

    It cannot recover what the kernel already merged: a segment that arrives while an
    earlier one still waits in the receive queue is coalesced into it, and the merged
    buffer keeps the later timestamp (net/ipv4/tcp_input.c, ``tcp_try_coalesce``). A
    generator that falls more than one inter-token gap behind loses the earlier
    token's arrival time; the self-check's loop lag reports that case.
    """

    until_ns = 0


class Connection:
    """One keep-alive connection to the target; used by one greenlet at a time."""

    def __init__(self, target: Target, timeouts: StreamTimeouts) -> None:
        self.target = target
        self.timeouts = timeouts
        self.sock: Any = None
        self.kernel_stamps = False

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()

    def _connect(self) -> None:
        sock = gsocket.create_connection(
            (self.target.host, self.target.port), timeout=self.timeouts.connect
        )
        sock.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
        self.kernel_stamps = False
        if self.target.tls:
            context = ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=self.target.host)
        elif sys.platform == "linux" and _CMSG_SPACE:
            try:
                sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
                self.kernel_stamps = True
            except OSError:
                pass
        self.sock = sock

    def exchange(self, request: bytes, new_recorder: Callable[[], StreamRecorder]) -> RequestRecord:
        """Send one request, observe its response, return its record.

        A request on a reused connection that gets no response byte at all is sent
        once more on a new connection: the server may have closed the idle
        connection just before we wrote (the case RFC 9112, section 9.3.1 allows a
        client to retry automatically).
        """
        reused = self.sock is not None
        recorder = new_recorder()
        if not reused and not self._open(recorder):
            return recorder.finish(time.monotonic_ns())
        answered, end_ns = self._exchange(request, recorder)
        if not answered and reused and recorder.outcome is Outcome.TRUNCATED_ABRUPT:
            self.close()
            recorder = new_recorder()
            if not self._open(recorder):
                return recorder.finish(time.monotonic_ns())
            _, end_ns = self._exchange(request, recorder)
        return recorder.finish(end_ns)

    def _open(self, recorder: StreamRecorder) -> bool:
        try:
            self._connect()
        except OSError as exc:
            self.close()
            error = f"connect to {self.target.host}:{self.target.port} failed: {exc!r}"
            if isinstance(exc, TimeoutError | gsocket.timeout):
                recorder.fail(Outcome.TIMEOUT, error)
            else:
                recorder.transport_error(error, time.monotonic_ns(), connected=False)
            return False
        return True

    def _exchange(self, request: bytes, recorder: StreamRecorder) -> tuple[bool, int]:
        """Returns (any response byte arrived?, when reading stopped)."""
        sock = self.sock
        sock.settimeout(self.timeouts.connect)
        recorder.sent_ns = time.monotonic_ns()
        try:
            sock.sendall(request)
        except OSError as exc:
            self.close()
            recorder.transport_error(f"send failed: {exc!r}", time.monotonic_ns(), connected=True)
            return False, time.monotonic_ns()
        reader = _ResponseReader(sock, recorder, self.kernel_stamps)
        try:
            keep = reader.read()
        except ProtocolError as exc:
            recorder.transport_error(
                f"HTTP framing error: {exc}", time.monotonic_ns(), connected=True
            )
            keep = False
        if not keep:
            self.close()
        return reader.answered, reader.end_ns


class _DeadlinePassed(Exception):
    """Thrown into the reading greenlet by its :class:`_Watchdog`."""


class _Watchdog:
    """One timer per response instead of one per ``recv``.

    A socket timeout would start and cancel a timer on every read (dozens per
    stream). This timer is armed at the recorder's read deadline; when it fires and
    the deadline has moved on (content arrived meanwhile) it re-arms, otherwise it
    throws :class:`_DeadlinePassed` into the reading greenlet — the mechanism
    ``gevent.Timeout`` uses (gevent/timeout.py: ``timer.start(greenlet.throw, ...)``).
    """

    __slots__ = ("_armed_ns", "_greenlet", "_loop", "_recorder", "_timer")

    def __init__(self, recorder: StreamRecorder) -> None:
        self._recorder = recorder
        self._greenlet = gevent.getcurrent()
        self._loop = gevent.get_hub().loop
        self._timer: Any = None
        self._armed_ns = 0
        self._arm()

    def _arm(self) -> None:
        self._armed_ns = self._recorder.read_deadline_ns()
        remaining = (self._armed_ns - time.monotonic_ns()) / 1e9
        self._timer = self._loop.timer(max(remaining, 0.0))
        self._timer.start(self._fire)

    def tighten(self) -> None:
        """After progress: the deadline can move *earlier* (first-token deadline ->
        idle deadline); a later one is picked up when the timer fires."""
        if self._recorder.read_deadline_ns() < self._armed_ns:
            self.cancel()
            self._arm()

    def _fire(self) -> None:
        self._timer.close()
        if self._recorder.read_deadline_ns() > time.monotonic_ns():
            self._arm()
        else:
            self._timer = None
            self._greenlet.throw(_DeadlinePassed)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer.close()
            self._timer = None


class _ResponseReader:
    """Reads one response from ``sock`` into ``recorder``; every recv has a deadline."""

    __slots__ = (
        "answered",
        "chunks",
        "end_ns",
        "kernel_stamps",
        "lagging",
        "recorder",
        "sock",
        "watchdog",
    )

    def __init__(self, sock: Any, recorder: StreamRecorder, kernel_stamps: bool) -> None:
        self.sock = sock
        self.recorder = recorder
        self.kernel_stamps = kernel_stamps
        self.answered = False
        self.end_ns = 0
        self.watchdog: _Watchdog | None = None
        self.chunks: ChunkedBody | None = None
        self.lagging = False

    def _recv(self) -> bytes | None:
        """The next bytes; b"" at EOF; None when the read deadline passed (decided).

        Sets ``end_ns`` to when the bytes arrived: the kernel's receive timestamp
        carried over to the monotonic clock (``now - (realtime_now - stamp)``, immune
        to realtime steps between reads), else the time the read returned.
        """
        try:
            if self.kernel_stamps:
                size = _RECV_BYTES
                chunks = self.chunks
                behind = self.lagging or _Behind.until_ns > time.monotonic_ns()
                if behind and chunks is not None and chunks.at_boundary:
                    # Behind: packets are queueing, and one big read would stamp them
                    # all with the last one's time. Take one HTTP chunk (one token,
                    # usually one packet) at a time until the lag is gone.
                    peeked = self.sock.recv(16, socket.MSG_PEEK)
                    size = whole_chunk_length(peeked) or _RECV_BYTES
                data, ancillary, _, _ = self.sock.recvmsg(size, _CMSG_SPACE)
            else:
                data = self.sock.recv(_RECV_BYTES)
                ancillary = None
        except _DeadlinePassed:
            self.end_ns = time.monotonic_ns()
            self.recorder.deadline_passed(self.end_ns)
            return None
        now = time.monotonic_ns()
        if ancillary:
            _, kind, raw = ancillary[0]
            if kind == _SO_TIMESTAMPNS and len(raw) >= _TIMESPEC.size:
                seconds, nanoseconds = _TIMESPEC.unpack_from(raw)
                lag = time.time_ns() - (seconds * 1_000_000_000 + nanoseconds)
                if 0 < lag < _MAX_PLAUSIBLE_LAG_NS:
                    READ_LAG.record(lag)
                    self.lagging = lag > _PRECISE_AFTER_LAG_NS
                    if self.lagging:
                        _Behind.until_ns = now + _PRECISE_FOR_NS
                    now -= lag
        # Never before the previous read or the send (clock conversion noise).
        self.end_ns = max(now, self.end_ns, self.recorder.sent_ns)
        return bytes(data)

    def read(self) -> bool:
        """Returns whether the connection can be reused."""
        self.sock.settimeout(None)  # the watchdog bounds every read instead
        watchdog = self.watchdog = _Watchdog(self.recorder)
        try:
            keep, body = self._read()
        finally:
            watchdog.cancel()
        if keep and body is not None and not body.complete:
            # [DONE] or a decided outcome: the rest (usually just the terminating
            # chunk) is read briefly so the connection can be reused.
            return self._drain(body)
        return keep

    def _read(self) -> tuple[bool, Body | None]:
        recorder = self.recorder
        head = b""
        while True:
            try:
                data = self._recv()
            except OSError as exc:
                self.end_ns = time.monotonic_ns()
                recorder.transport_error(repr(exc), self.end_ns, connected=True)
                return False, None
            if data is None:
                return False, None
            if not data:
                where = "inside the response headers" if head else "before any response byte"
                recorder.transport_error(f"connection closed {where}", self.end_ns, connected=True)
                return False, None
            if not head:
                self.answered = True
                recorder.first_byte_ns = self.end_ns
            head += data
            end = head.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(head) > _MAX_HEAD_BYTES:
                raise ProtocolError("response headers larger than 64 KiB")
        status, headers = parse_head(head[:end])
        recorder.on_headers(status, headers.get("content-type", ""), self.end_ns)
        keep_alive = headers.get("connection", "").lower() != "close"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self.chunks = ChunkedBody()
            body: Body = self.chunks
        elif "content-length" in headers:
            try:
                body = LengthBody(int(headers["content-length"]))
            except ValueError:
                raise ProtocolError(f"bad Content-Length {headers['content-length']!r}") from None
        else:
            body, keep_alive = CloseBody(), False
        payload = body.feed(head[end + 4 :])
        if payload:
            recorder.on_bytes(payload, self.end_ns)
        assert self.watchdog is not None
        self.watchdog.tighten()
        while not body.complete and not recorder.finished_reading:
            try:
                data = self._recv()
            except OSError as exc:
                recorder.transport_error(repr(exc), self.end_ns, connected=True)
                return False, None
            if data is None:
                return False, None
            if not data:
                if not isinstance(body, CloseBody):
                    recorder.transport_error(
                        "connection closed before the end of the response body",
                        self.end_ns,
                        connected=True,
                    )
                return False, None
            payload = body.feed(data)
            if payload:
                recorder.on_bytes(payload, self.end_ns)
                self.watchdog.tighten()
        return keep_alive, body

    def _drain(self, body: Body) -> bool:
        deadline = time.monotonic() + _DRAIN_AFTER_DONE_S
        while not body.complete:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(_RECV_BYTES)
                if not data:
                    return False
                body.feed(data)
            except (OSError, ProtocolError):
                return False
        return True
