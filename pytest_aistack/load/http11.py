"""HTTP/1.1 framing for the load generator: target URL, request head, response head,
chunked / Content-Length / close-delimited bodies (RFC 9112). Sans-IO and Locust-free."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


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

    @property
    def at_boundary(self) -> bool:
        """The next byte starts a chunk-size line."""
        return self._state == self._SIZE and not self._buffer and not self.finished

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


class LengthBody:
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


class CloseBody:
    complete = False

    def feed(self, data: bytes) -> bytes:
        return data


class ChunkedBody(ChunkedDecoder):
    __slots__ = ()

    @property
    def complete(self) -> bool:
        return self.finished


Body = LengthBody | CloseBody | ChunkedBody


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
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


def whole_chunk_length(peeked: bytes) -> int:
    """Length on the wire of the chunk whose start is ``peeked``, or 0 if unknown."""
    end = peeked.find(b"\r\n")
    if not 0 < end <= 8:
        return 0
    try:
        size = int(peeked[:end], 16)
    except ValueError:
        return 0
    return end + 2 + size + 2 if size > 0 else 0
