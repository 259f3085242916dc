"""What a backend is, and what its ``up()`` returns: a running :class:`Stack`.

A *backend* turns a :class:`~pytest_aistack.stack.spec.StackSpec` (or, for the
external backend, the profile's URLs) into running services and back::

    class StackBackend(Protocol):
        def up(self) -> Stack: ...     # start everything, wait until healthy
        def down(self) -> None: ...    # stop everything it started; idempotent

Built in: ``local.LocalBackend`` (subprocesses on 127.0.0.1), ``docker.DockerBackend``
(testcontainers) and ``external.ExternalBackend`` (the user's URLs, no lifecycle);
more come from plugins through the ``pytest_aistack_make_backend`` hook
(:mod:`pytest_aistack.stack.newhooks`). ``up()`` returns a :class:`Stack`: where each
service listens, the Toxiproxy proxy in front of it, the gateway's key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Secret:
    """A value that must not end up in logs: ``repr``/``str`` show only its start."""

    value: str = field(repr=False)

    def __str__(self) -> str:
        return self.masked

    @property
    def masked(self) -> str:
        return self.value[:6] + "…" if len(self.value) > 6 else "…"


@dataclass(frozen=True)
class Endpoint:
    """Where one service listens, and the proxy the gateway uses to reach it."""

    name: str
    url: str  # direct address, e.g. http://127.0.0.1:41234 (redis://… for redis)
    proxy: str | None = None  # Toxiproxy proxy name
    proxy_listen: str | None = None  # "127.0.0.1:PORT" the gateway connects to


@dataclass(frozen=True)
class Stack:
    """A running (or externally provided) stack: what tests and the CLI need to reach it."""

    backend: str  # the backend's name: "local", "docker", "external" or a plugin's
    gateway_url: str
    gateway_key: Secret
    toxiproxy_url: str | None
    endpoints: Mapping[str, Endpoint]
    # URLs of more instances of the same gateway (same key, shared state), in order.
    gateway_replica_urls: tuple[str, ...] = ()
    admin_token: Secret | None = None  # bearer token for the mock LLM admin API
    log_dir: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def endpoint(self, name: str) -> Endpoint:
        try:
            return self.endpoints[name]
        except KeyError:
            known = ", ".join(sorted(self.endpoints)) or "none"
            raise KeyError(f"no service {name!r} in this stack (known: {known})") from None

    def replace(self, **changes: Any) -> Stack:
        return dataclasses.replace(self, **changes)


class StackBackend(Protocol):
    """Brings a stack up and down. ``down()`` must be safe to call more than once."""

    def up(self) -> Stack: ...

    def down(self) -> None: ...
