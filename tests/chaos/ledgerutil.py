"""Helpers of the request ledger tests: requests as exact bytes, exchanges over raw
sockets, and reading a proxy's records once the server's watch has caught up."""

from __future__ import annotations

import socket
import struct

from pytest_aistack.chaos.client import LedgerRecord, ToxiproxyClient
from pytest_aistack.runtime.waiting import wait_until

from .netutil import recv_exactly

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def http_request(path: str = "/v1/chat/completions", request_id: str | None = None) -> bytes:
    body = b'{"model":"m"}'
    rid = f"x-request-id: {request_id}\r\n".encode() if request_id else b""
    return (
        f"POST {path} HTTP/1.1\r\nHost: backend\r\nContent-Type: application/json\r\n".encode()
        + rid
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def ledger_records(api: ToxiproxyClient, proxy: str = "test") -> list[LedgerRecord]:
    return list(api.proxy_ledger(proxy).records)


def ended_records(api: ToxiproxyClient, count: int, proxy: str = "test") -> list[LedgerRecord]:
    """The proxy's records once ``count`` of them have ended (the watch runs on the
    server's loop, a moment after the bytes arrive)."""

    def ended() -> list[LedgerRecord] | None:
        records = ledger_records(api, proxy)
        done = [r for r in records if r.outcome != "in_progress"]
        return records if len(done) >= count else None

    return wait_until(ended, timeout=5, what=f"{count} ended ledger records on {proxy}")


def exchange(client: socket.socket, server: socket.socket, request: bytes, answer: bytes) -> None:
    client.sendall(request)
    assert recv_exactly(server, len(request)) == request
    server.sendall(answer)
    assert recv_exactly(client, len(answer)) == answer


def stream_started(client: socket.socket, server: socket.socket, request_id: str) -> None:
    """A request whose chunked response has begun and not ended."""
    request = http_request(request_id=request_id)
    client.sendall(request)
    recv_exactly(server, len(request))
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n"
    server.sendall(head)
    assert recv_exactly(client, len(head)) == head


def reset_socket(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
