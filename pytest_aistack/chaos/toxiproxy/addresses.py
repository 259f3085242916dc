"""Listen and upstream addresses: Go's host:port rules and its ``listen tcp`` errors."""

from __future__ import annotations

import asyncio
import errno
import socket
from typing import Any

from .errors import ApiError, internal


def split_host_port(address: str) -> tuple[str, str]:
    """Go's net.SplitHostPort, with Go's messages."""
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise ValueError(f"address {address}: missing ']' in address")
        host, rest = address[1:end], address[end + 1 :]
        if not rest.startswith(":"):
            raise ValueError(f"address {address}: missing port in address")
        return host, rest[1:]
    if ":" not in address:
        raise ValueError(f"address {address}: missing port in address")
    host, port = address.rsplit(":", 1)
    if ":" in host:
        raise ValueError(f"address {address}: too many colons in address")
    return host, port


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


_BIND_ERRORS = {
    errno.EADDRINUSE: "address already in use",
    errno.EACCES: "permission denied",
    errno.EADDRNOTAVAIL: "cannot assign requested address",
}


ListenAddress = tuple[int, tuple[Any, ...]]  # (address family, sockaddr)


async def resolve_listen(loop: asyncio.AbstractEventLoop, listen: str) -> ListenAddress:
    """Where ``listen`` would bind; errors read like Go's ``listen tcp ...``.

    Raised before anything binds, so ``/populate`` can refuse a bad address in any entry
    before it changes a proxy (the listen check of the whole request first).
    """
    try:
        # Go listens on a free port of every interface for an empty address.
        host, port_text = split_host_port(listen) if listen else ("", "0")
    except ValueError as exc:
        raise internal(f"listen tcp: {exc}") from None
    if not port_text.isdigit() or int(port_text) > 65535:
        raise internal(f"listen tcp: lookup tcp/{port_text}: unknown port")
    port = int(port_text)
    # An empty host means every interface to Go; this harness listens on loopback only.
    bind_host = host or "127.0.0.1"
    try:
        infos = await loop.getaddrinfo(
            bind_host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror:
        raise internal(f"listen tcp: lookup {bind_host}: no such host") from None
    # Go prefers IPv4 for names that resolve to both (``localhost``).
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, _type, _proto, _canon, sockaddr = infos[0]
    return family, tuple(sockaddr)


async def same_listen(loop: asyncio.AbstractEventLoop, current: str, wanted: str) -> bool:
    """Whether ``wanted`` names the address ``current`` is (or would be) bound to.

    A running proxy reports the address it bound (``127.0.0.1:8080`` for a request that
    said ``localhost:8080``), so comparing the text would restart it for nothing: both
    sides are resolved first (toxiproxy #631 / issue #131, the ``Differs`` check). An
    address that cannot be resolved is compared as text.
    """
    if current == wanted:
        return True
    try:
        return await resolve_listen(loop, current) == await resolve_listen(loop, wanted)
    except ApiError:
        return False


async def bind_listener(loop: asyncio.AbstractEventLoop, listen: str) -> socket.socket:
    """A listening socket for ``listen``; errors read like Go's ``listen tcp ...``."""
    family, sockaddr = await resolve_listen(loop, listen)
    port = int(sockaddr[1])
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        reason = _BIND_ERRORS.get(exc.errno or 0, exc.strerror or str(exc))
        raise internal(
            f"listen tcp {format_address(str(sockaddr[0]), port)}: bind: {reason}"
        ) from None
    sock.setblocking(False)
    return sock
