"""HTTP/1.1 message framing for the request ledger's watch (RFC 9112 section 6).

Only what finding message boundaries needs: the head's start line and three headers,
the body's framing, and a chunked-body scanner that skips data without copying it.
"""

from __future__ import annotations

MAX_HEAD_BYTES = 64 * 1024
MAX_LINE_BYTES = 4096
# Request methods are tokens (RFC 9110 9.1); every registered one starts with a capital.
METHOD_FIRST = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
HEAD, LENGTH, CHUNKED, CLOSE = range(4)


class NotHttp(Exception):
    pass


class Broken(Exception):
    pass


class ChunkScan:
    """Skips a chunked body (RFC 9112 7.1) without copying it; ``scan`` returns the
    position after what it consumed, ``finished`` once the last chunk and trailers end."""

    __slots__ = ("finished", "line", "remaining", "state")

    _SIZE, _DATA, _DATA_END, _TRAILER = range(4)

    def __init__(self) -> None:
        self.state = self._SIZE
        self.remaining = 0
        self.line = b""
        self.finished = False

    def scan(self, data: bytes, pos: int) -> int:
        size = len(data)
        while pos < size and not self.finished:
            state = self.state
            if state == self._DATA:
                take = min(self.remaining, size - pos)
                pos += take
                self.remaining -= take
                if self.remaining == 0:
                    self.state = self._DATA_END
                continue
            if state == self._SIZE and not self.line:
                # Fast path: a plain hex size line, and its chunk whole in this piece
                # (the usual SSE event or bulk chunk); anything else goes line by line.
                end = data.find(b"\r\n", pos, pos + 18)
                if end > pos:
                    try:
                        chunk = int(data[pos:end], 16)
                    except ValueError:
                        chunk = 0
                    if chunk > 0:
                        stop = end + 2 + chunk
                        if stop + 2 <= size and data[stop : stop + 2] == b"\r\n":
                            pos = stop + 2
                        else:
                            pos = end + 2
                            self.remaining = chunk
                            self.state = self._DATA
                        continue
            pos = self._line(data, pos, size)
        return pos

    def _line(self, data: bytes, pos: int, size: int) -> int:
        end = data.find(b"\n", pos)
        if end < 0:
            self.line += data[pos:]
            if len(self.line) > MAX_LINE_BYTES:
                raise Broken("chunk line longer than 4 KiB")
            return size
        line = (self.line + data[pos:end]) if self.line else data[pos:end]
        self.line = b""
        line = line.rstrip(b"\r")
        if self.state == self._SIZE:
            try:
                chunk = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise Broken(f"bad chunk size {line[:40]!r}") from None
            if chunk < 0:
                raise Broken(f"negative chunk size {line[:40]!r}")
            if chunk == 0:
                self.state = self._TRAILER
            else:
                self.remaining = chunk
                self.state = self._DATA
        elif self.state == self._DATA_END:
            if line:
                raise Broken("chunk data not followed by CRLF")
            self.state = self._SIZE
        elif not line:  # trailer section ends with an empty line
            self.finished = True
        return end + 1


def head_fields(head: bytes) -> tuple[list[bytes], dict[bytes, bytes]]:
    """The start line's parts and the headers the framing needs, names lower-cased.

    Field names end at the colon with no space before it (RFC 9112 5.1), so each header
    is one search in the lower-cased head: a few C calls per message, not a loop over
    its lines (the cost target of the ledger is per request).
    """
    line_end = head.find(b"\r\n")
    start = head[:line_end].split(b" ", 2)
    lowered = head.lower()
    headers: dict[bytes, bytes] = {}
    for name in FRAMING_HEADERS:
        at = lowered.find(name, line_end)
        if at >= 0:
            value_at = at + len(name)
            headers[name[2:-1]] = head[value_at : head.find(b"\r\n", value_at)].strip()
    return start, headers


FRAMING_HEADERS = (b"\r\ncontent-length:", b"\r\ntransfer-encoding:", b"\r\nx-request-id:")


def body_framing(headers: dict[bytes, bytes], *, response: bool) -> tuple[int, int]:
    """(state, Content-Length) for the body after a head (RFC 9112 6.3)."""
    coding = headers.get(b"transfer-encoding")
    if coding is not None and coding.lower().rsplit(b",", 1)[-1].strip() == b"chunked":
        return CHUNKED, 0
    length = headers.get(b"content-length")
    if length is not None:
        try:
            value = int(length.split(b",", 1)[0])
        except ValueError:
            raise Broken(f"bad Content-Length {length[:40]!r}") from None
        if value < 0:
            raise Broken(f"negative Content-Length {value}")
        return LENGTH, value
    # A request without either has no body; a response's body runs to the close.
    return (CLOSE, 0) if response else (LENGTH, 0)
