"""Frame the HTTP/1.1 exchanges of one proxied connection as its bytes pass (sans-I/O).

The watch sees each chunk after the proxy has written it to the other side (``Link``'s
tap), so it never delays, changes or buffers the data path: it only reads. It keeps
just enough state to find message boundaries (RFC 9112 section 6): the head up to the
empty line, then a Content-Length body, a chunked body (sizes parsed, data skipped, not
copied) or, for responses only, a body delimited by the close. Requests and responses
pair up in order, so keep-alive and pipelining are one FIFO.

Bytes that are not HTTP/1.x (Redis RESP, TLS, an HTTP/2 preface) are recognised on the
first byte or the request line and the watch detaches itself: such connections cost one
check and are only counted. Framing that breaks later ends the watch the same way, with
the open exchanges marked ``unparseable``; the bytes still flow untouched.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from .httpframing import (
    CHUNKED,
    CLOSE,
    HEAD,
    LENGTH,
    MAX_HEAD_BYTES,
    METHOD_FIRST,
    Broken,
    ChunkScan,
    NotHttp,
    body_framing,
    head_fields,
)
from .ledger_records import COMPLETE, IN_PROGRESS, LedgerEntry, LedgerRing


class ConnectionWatch:
    """The ledger's view of one connection: requests written upstream, responses back."""

    __slots__ = (
        "_detach",
        "_req_buf",
        "_req_chunks",
        "_req_left",
        "_req_record",
        "_req_started",
        "_req_state",
        "_resp_buf",
        "_resp_chunks",
        "_resp_left",
        "_resp_state",
        "_seen_request",
        "connection",
        "ledger",
        "pending",
        "stopped",
    )

    def __init__(self, ledger: LedgerRing, connection: int, detach: Callable[[], None]) -> None:
        self.ledger = ledger
        self.connection = connection
        self._detach = detach
        self.pending: deque[LedgerEntry] = deque()  # requests awaiting their response
        self.stopped = False
        self._seen_request = False
        self._req_state = HEAD
        self._req_buf = b""
        self._req_left = 0
        self._req_chunks: ChunkScan | None = None
        self._req_record: LedgerEntry | None = None
        self._req_started: float | None = None
        self._resp_state = HEAD
        self._resp_buf = b""
        self._resp_left = 0
        self._resp_chunks: ChunkScan | None = None

    # -- taps (called with the bytes just written to each side) -----------------------
    def request_bytes(self, data: bytes) -> None:
        try:
            self._requests(data)
        except NotHttp:
            self._stop(not_http=True)
        except Exception:  # broken framing, or a bug here: stop watching, never the bytes
            self._stop(not_http=False)

    def response_bytes(self, data: bytes) -> None:
        try:
            self._responses(data)
        except NotHttp:
            self._stop(not_http=True)
        except Exception:
            self._stop(not_http=False)

    def closed(self, reason: str) -> None:
        """The connection is gone: every open exchange ends with ``reason``."""
        if self.stopped:
            return
        self.stopped = True
        now = time.time()
        for record in self.pending:
            if (
                record is self.pending[0]
                and self._resp_state == CLOSE
                and (reason == "upstream_closed")
            ):
                record.outcome = COMPLETE  # a close-delimited body ends with the close
            else:
                record.outcome = reason
            record.ended_at = now
        self.pending.clear()

    # -- requests ------------------------------------------------------------------------
    def _requests(self, data: bytes) -> None:
        pos, size = 0, len(data)
        while pos < size:
            state = self._req_state
            if state == HEAD:
                pos = self._request_head(data, pos)
            elif state == LENGTH:
                take = min(self._req_left, size - pos)
                self._req_left -= take
                pos += take
                if self._req_record is not None:
                    self._req_record.bytes_up += take
                if self._req_left == 0:
                    self._req_state = HEAD
            else:  # chunked
                scan = self._req_chunks
                assert scan is not None
                end = scan.scan(data, pos)
                if self._req_record is not None:
                    self._req_record.bytes_up += end - pos
                pos = end
                if scan.finished:
                    self._req_state = HEAD

    def _request_head(self, data: bytes, pos: int) -> int:
        if not self._req_buf:
            while data.startswith(b"\r\n", pos):  # RFC 9112 2.2: ignore leading CRLFs
                pos += 2
            if pos >= len(data):
                return len(data)
            if not self._seen_request and data[pos] not in METHOD_FIRST:
                raise NotHttp
            if self._req_started is None:
                self._req_started = time.time()
            end = data.find(b"\r\n\r\n", pos)
            if end < 0:
                self._req_buf = data[pos:]
                self._check_start(self._req_buf)
                return len(data)
            head, pos = data[pos : end + 4], end + 4
        else:
            buf = self._req_buf + data[pos:]
            end = buf.find(b"\r\n\r\n", max(0, len(self._req_buf) - 3))
            if end < 0:
                if len(buf) > MAX_HEAD_BYTES:
                    raise Broken("request head over 64 KiB")
                self._req_buf = buf
                self._check_start(buf)
                return len(data)
            head = buf[: end + 4]
            pos += end + 4 - len(self._req_buf)
            self._req_buf = b""
        self._new_request(head)
        return pos

    def _check_start(self, partial: bytes) -> None:
        # Decide early for bytes that will never make a request line, rather than hold
        # up to 64 KiB of, say, a Redis inline command waiting for an empty line.
        if self._seen_request:
            return
        line_end = partial.find(b"\r\n")
        if line_end >= 0:
            parts = partial[:line_end].split(b" ")
            if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
                raise NotHttp
        elif len(partial) >= 32 and b" " not in partial[:32]:
            raise NotHttp

    def _new_request(self, head: bytes) -> None:
        start, headers = head_fields(head)
        if len(start) != 3 or not start[2].startswith(b"HTTP/1."):
            # "PRI * HTTP/2.0" is h2c with prior knowledge: not ours to frame.
            if not self._seen_request:
                raise NotHttp
            raise Broken(f"bad request line {head[:60]!r}")
        started = self._req_started if self._req_started is not None else time.time()
        self._req_started = None
        request_id = headers.get(b"x-request-id")
        record = LedgerEntry(
            proxy=self.ledger.name,
            connection=self.connection,
            method=start[0].decode("latin-1"),
            path=start[1].split(b"?", 1)[0].decode("latin-1"),
            request_id=request_id.decode("latin-1") if request_id is not None else None,
            started_at=started,
            bytes_up=len(head),
        )
        if not self._seen_request:
            self._seen_request = True
            self.ledger.connections.http += 1
        self.ledger.add(record)
        self.pending.append(record)
        self._req_record = record
        state, length = body_framing(headers, response=False)
        if state == CHUNKED:
            self._req_chunks = ChunkScan()
            self._req_state = CHUNKED
        elif length:
            self._req_left = length
            self._req_state = LENGTH

    # -- responses -----------------------------------------------------------------------
    def _responses(self, data: bytes) -> None:
        pos, size = 0, len(data)
        while pos < size:
            if not self.pending:
                # The upstream spoke first (a server-greeting protocol) or sent more than
                # it was asked for.
                if not self._seen_request:
                    raise NotHttp
                raise Broken("response bytes without a request")
            record = self.pending[0]
            state = self._resp_state
            if state == HEAD:
                pos = self._response_head(record, data, pos)
            elif state == LENGTH:
                take = min(self._resp_left, size - pos)
                self._resp_left -= take
                record.bytes_down += take
                pos += take
                if self._resp_left == 0:
                    self._finish(record, COMPLETE)
            elif state == CHUNKED:
                scan = self._resp_chunks
                assert scan is not None
                end = scan.scan(data, pos)
                record.bytes_down += end - pos
                pos = end
                if scan.finished:
                    self._finish(record, COMPLETE)
            else:  # close-delimited: everything until the close belongs to it
                record.bytes_down += size - pos
                pos = size

    def _response_head(self, record: LedgerEntry, data: bytes, pos: int) -> int:
        buf = self._resp_buf + data[pos:] if self._resp_buf else data[pos:]
        end = buf.find(b"\r\n\r\n", max(0, len(self._resp_buf) - 3))
        if end < 0:
            if len(buf) > MAX_HEAD_BYTES:
                raise Broken("response head over 64 KiB")
            if not buf.startswith(b"HTTP/1."[: len(buf)]):
                raise Broken(f"bad status line {buf[:40]!r}")
            record.bytes_down += len(data) - pos
            self._resp_buf = buf
            return len(data)
        head = buf[: end + 4]
        used = end + 4 - len(self._resp_buf)
        record.bytes_down += used
        self._resp_buf = b""
        start, headers = head_fields(head)
        if len(start) < 2 or not start[0].startswith(b"HTTP/1."):
            raise Broken(f"bad status line {head[:40]!r}")
        try:
            status = int(start[1])
        except ValueError:
            raise Broken(f"bad status line {head[:40]!r}") from None
        pos += used
        if 100 <= status < 200 and status != 101:
            return pos  # interim (100 Continue, 103 Early Hints): the final one follows
        record.status = status
        if status == 101 or (record.method == "CONNECT" and 200 <= status < 300):
            self._finish(record, "upgraded")
            self._stop(not_http=False, outcome="upgraded")
            return len(data)
        if record.method == "HEAD" or status in (204, 304):
            self._finish(record, COMPLETE)
            return pos
        state, length = body_framing(headers, response=True)
        if state == LENGTH and length == 0:
            self._finish(record, COMPLETE)
        elif state == CHUNKED:
            self._resp_chunks = ChunkScan()
            self._resp_state = CHUNKED
        else:
            self._resp_left = length
            self._resp_state = state
        return pos

    def _finish(self, record: LedgerEntry, outcome: str) -> None:
        record.outcome = outcome
        record.ended_at = time.time()
        self.pending.popleft()
        self._resp_state = HEAD

    # -- giving up -----------------------------------------------------------------------
    def _stop(self, *, not_http: bool, outcome: str = "unparseable") -> None:
        """Stop watching this connection; its bytes keep flowing untouched."""
        if self.stopped:
            return
        self.stopped = True
        self._detach()
        counts = self.ledger.connections
        if not_http and not self._seen_request:
            counts.not_http += 1
        elif outcome == "unparseable":
            counts.unparseable += 1
        now = time.time()
        for record in self.pending:
            if record.outcome == IN_PROGRESS:
                record.outcome = outcome
                record.ended_at = now
        self.pending.clear()
