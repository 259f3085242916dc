"""Incremental Server-Sent Events parser over bytes (WHATWG HTML, "Parsing an event stream").

Feed it whatever the socket returned; it returns the events completed by those
bytes. Any split of the same byte stream yields the same events (tested with
hypothesis), and no input makes it raise. Comment lines (``: ping``) are counted,
not returned: keep-alive pings are not progress.

We parse bytes ourselves instead of using httpx-sse because the same parser serves
the gevent load generator (which does not use httpx), and because the recorder
needs the raw bytes of each ``data`` field for its cheap content check.
"""

from __future__ import annotations

from typing import NamedTuple

# A line longer than this is not an SSE stream we can trust; the parser drops it and
# sets ``overflow`` so the classifier reports the stream as malformed instead of
# buffering without bound.
MAX_LINE_BYTES = 1 << 20


class SSEEvent(NamedTuple):
    data: bytes
    event: bytes = b"message"


class SSEParser:
    __slots__ = ("_data", "_event", "_partial", "_skip_lf", "comments", "overflow")

    def __init__(self) -> None:
        self._partial = b""
        self._skip_lf = False
        self._data: list[bytes] = []
        self._event = b""
        self.comments = 0
        self.overflow = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        # Fast path, exact: the usual read is one whole ``data: ...`` event with LF
        # line ends and nothing pending — its only LFs are the two at the end.
        if (
            not self._partial
            and not self._data
            and not self._event
            and not self._skip_lf
            and chunk.startswith(b"data:")
            and chunk.find(b"\n") == len(chunk) - 2
            and chunk.endswith(b"\n\n")
            and b"\r" not in chunk
        ):
            value = chunk[5:-2]
            if len(value) > MAX_LINE_BYTES:
                self.overflow = True
            return [SSEEvent(value[1:] if value[:1] == b" " else value)]
        if (
            not self._partial
            and not self._data
            and not self._event
            and not self._skip_lf
            and chunk.endswith(b"\n\n")
            and b"\r" not in chunk
            and len(chunk) < MAX_LINE_BYTES
        ):
            # Several whole one-line ``data:`` events (a late read): same result as
            # the general loop, without it.
            parts = chunk[:-2].split(b"\n\n")
            if all(p.startswith(b"data:") and b"\n" not in p for p in parts):
                return [SSEEvent(p[6:] if p[5:6] == b" " else p[5:]) for p in parts]
        if self._skip_lf:
            # The previous chunk ended in CR: an LF right after it belongs to that CRLF.
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._skip_lf = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        last = chunk.rfind(b"\n")
        if last < 0:
            self._partial += chunk
            if len(self._partial) > MAX_LINE_BYTES:
                self.overflow = True
                self._partial = b""
            return []
        buffer = self._partial + chunk[:last] if self._partial else chunk[:last]
        self._partial = chunk[last + 1 :]
        events: list[SSEEvent] = []
        data = self._data
        for line in buffer.split(b"\n"):
            if not line:
                if data:
                    events.append(SSEEvent(b"\n".join(data), self._event or b"message"))
                    data.clear()
                self._event = b""
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value[:1] == b" " else value)
            elif line[0] == 0x3A:  # ":" comment, e.g. ": ping"
                self.comments += 1
            else:
                self._field(line)
            if len(line) > MAX_LINE_BYTES:
                self.overflow = True
        return events

    def _field(self, line: bytes) -> None:
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value
        # "id" and "retry" matter to reconnecting browsers, not to one completion.
