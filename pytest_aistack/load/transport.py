"""The load generator's HTTP/1.1 client: gevent sockets, no HTTP library in the hot path.

Why not Locust's FastHttpUser or requests: the measurements must sit at the floor a
raw socket reader achieves. geventhttpclient (FastHttpUser) adds buffering layers,
and a line iterator over a response buffers whole reads before yielding. Here each
``recv`` is timestamped the moment it returns and goes straight to the sans-IO
:class:`~pytest_aistack.llm.stream.StreamRecorder`; HTTP framing (chunked,
Content-Length, close-delimited) is decoded inline. One request at a time per
connection, keep-alive between requests.

Every socket operation has a timeout: connect (``StreamTimeouts.connect``), send
(the same), and each ``recv`` (the recorder's current read deadline).
"""

from __future__ import annotations

import socket
import ssl
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import gevent
from gevent import socket as gsocket

from pytest_aistack.llm.stream import StreamRecorder, StreamTimeouts
from pytest_aistack.metrics.histogram import Histogram
from pytest_aistack.metrics.record import Outcome, RequestRecord

_RECV_BYTES = 65536
# Kernel receive timestamps (Linux SO_TIMESTAMPNS, socket(7)): the time the last
# packet of a read reached the socket, so a generator busy with other streams still
# stamps bytes with when they arrived, not when it got round to reading them. The
# constant is 35 on Linux (asm-generic/socket.h); Python does not export it.
_SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@qq")
_CMSG_SPACE = socket.CMSG_SPACE(_TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 0
_MAX_PLAUSIBLE_LAG_NS = 60 * 1_000_000_000
_MAX_HEAD_BYTES = 65536
_DRAIN_AFTER_DONE_S = 0.25


# How long after arrival this process read its bytes (only with kernel timestamps);
# reported by the self-check.
READ_LAG = Histogram()


class ProtocolError(Exception):
    """The server broke HTTP/1.1 framing."""


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int
    tls: bool
    base_path: str
    host_header: str

    @classmethod
    def from_url(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"--host {url!r}: expected http://HOST:PORT or https://HOST:PORT "
                f"(an OpenAI-compatible server or gateway)"
            )
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        return cls(parts.hostname, port, tls, parts.path, parts.netloc)


class ChunkedDecoder:
    """Incremental ``Transfer-Encoding: chunked`` decoder (RFC 9112, section 7.1)."""

    __slots__ = ("_buffer", "_remaining", "_state", "finished")

    _SIZE, _DATA, _DATA_END, _TRAILER = range(4)

    def __init__(self) -> None:
        self._buffer = b""
        self._remaining = 0
        self._state = self._SIZE
        self.finished = False

    def feed(self, data: bytes) -> bytes:
        buffer = self._buffer + data if self._buffer else data
        self._buffer = b""
        head: list[bytes] = []
        if self._state == self._SIZE:
            # Fast path, exact: whole chunks back to back (the usual read) are cut out
            # with find/slice; anything else (partial, last chunk, extensions, errors)
            # is left to the state machine below.
            pos = 0
            size_all = len(buffer)
            while True:
                end = buffer.find(b"\r\n", pos, pos + 10)
                if end < 0:
                    break
                try:
                    size = int(buffer[pos:end], 16)
                except ValueError:
                    break
                stop = end + 2 + size
                if size <= 0 or stop + 2 > size_all or buffer[stop : stop + 2] != b"\r\n":
                    break
                head.append(buffer[end + 2 : stop])
                pos = stop + 2
            if pos == size_all:
                return head[0] if len(head) == 1 else b"".join(head)
            buffer = buffer[pos:]
        tail = self._feed_slow(buffer)
        if head:
            return b"".join(head) + tail
        return tail

    def _feed_slow(self, buffer: bytes) -> bytes:
        out: list[bytes] = []
        pos = 0
        size = len(buffer)
        while pos < size and not self.finished:
            state = self._state
            if state == self._DATA:
                take = min(self._remaining, size - pos)
                out.append(buffer[pos : pos + take])
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = self._DATA_END
            elif state == self._DATA_END:
                if size - pos < 2:
                    break
                if buffer[pos : pos + 2] != b"\r\n":
                    raise ProtocolError("chunk data not followed by CRLF")
                pos += 2
                self._state = self._SIZE
            else:
                end = buffer.find(b"\r\n", pos)
                if end < 0:
                    if size - pos > 4096:
                        raise ProtocolError("chunk size line longer than 4 KiB")
                    break
                line = buffer[pos:end]
                pos = end + 2
                if state == self._TRAILER:
                    if not line:
                        self.finished = True
                    continue
                try:
                    chunk_size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise ProtocolError(f"bad chunk size line {line[:40]!r}") from None
                if chunk_size < 0:
                    raise ProtocolError(f"negative chunk size {line[:40]!r}")
                if chunk_size == 0:
                    self._state = self._TRAILER
                else:
                    self._remaining = chunk_size
                    self._state = self._DATA
        self._buffer = buffer[pos:]
        return b"".join(out) if len(out) != 1 else out[0]


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

    __slots__ = ("answered", "end_ns", "kernel_stamps", "recorder", "sock", "watchdog")

    def __init__(self, sock: Any, recorder: StreamRecorder, kernel_stamps: bool) -> None:
        self.sock = sock
        self.recorder = recorder
        self.kernel_stamps = kernel_stamps
        self.answered = False
        self.end_ns = 0
        self.watchdog: _Watchdog | None = None

    def _recv(self) -> bytes | None:
        """The next bytes; b"" at EOF; None when the read deadline passed (decided).

        Sets ``end_ns`` to when the bytes arrived: the kernel's receive timestamp
        carried over to the monotonic clock (``now - (realtime_now - stamp)``, immune
        to realtime steps between reads), else the time the read returned.
        """
        try:
            if self.kernel_stamps:
                data, ancillary, _, _ = self.sock.recvmsg(_RECV_BYTES, _CMSG_SPACE)
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
                    now -= lag
                    READ_LAG.record(lag)
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

    def _read(self) -> tuple[bool, _Body | None]:
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
        status, headers = _parse_head(head[:end])
        recorder.on_headers(status, headers.get("content-type", ""), self.end_ns)
        keep_alive = headers.get("connection", "").lower() != "close"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body: _Body = _ChunkedBody()
        elif "content-length" in headers:
            try:
                body = _LengthBody(int(headers["content-length"]))
            except ValueError:
                raise ProtocolError(f"bad Content-Length {headers['content-length']!r}") from None
        else:
            body, keep_alive = _CloseBody(), False
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
                if not isinstance(body, _CloseBody):
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

    def _drain(self, body: _Body) -> bool:
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


class _LengthBody:
    __slots__ = ("complete", "remaining")

    def __init__(self, length: int) -> None:
        if length < 0:
            raise ProtocolError(f"negative Content-Length {length}")
        self.remaining = length
        self.complete = length == 0

    def feed(self, data: bytes) -> bytes:
        data = data[: self.remaining]
        self.remaining -= len(data)
        self.complete = self.remaining == 0
        return data


class _CloseBody:
    complete = False

    def feed(self, data: bytes) -> bytes:
        return data


class _ChunkedBody(ChunkedDecoder):
    __slots__ = ()

    @property
    def complete(self) -> bool:
        return self.finished


_Body = _LengthBody | _CloseBody | _ChunkedBody


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ProtocolError(f"bad status line {lines[0][:80]!r}")
    try:
        status = int(parts[1])
    except ValueError:
        raise ProtocolError(f"bad status line {lines[0][:80]!r}") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return status, headers


def build_request_head(target: Target, path: str, extra_headers: dict[str, str]) -> bytes:
    """The request line and fixed headers; Content-Length and body are appended per request."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {target.host_header}",
        "Content-Type: application/json",
        "Accept: text/event-stream",
        *(f"{k}: {v}" for k, v in extra_headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")
