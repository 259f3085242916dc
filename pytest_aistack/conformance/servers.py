"""The servers under check: where each one is, and fresh instances of the managed ones.

A server with ``service:`` is a service of the stack file: the suite starts that stack
once on the local backend (its Toxiproxy, the dependencies and their proxies, the
server), and for the checks that need a fresh start or end the process (start
timeline, health-ordered start, SIGTERM drain) it starts one more instance of the
service, rendered like the running one, and stops it afterwards. A server with
``url:`` is external: those checks skip, saying why.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_aistack.conformance.profile import ServerProfile
from pytest_aistack.runtime.process import ManagedProcess, ProcessError

if TYPE_CHECKING:
    from pytest_aistack.stack.backend import Stack
    from pytest_aistack.stack.local import LocalBackend

HOST = "127.0.0.1"
STOP_GRACE_S = 5.0


@dataclass
class Instance:
    """A fresh process of a managed server; ``started`` is its spawn time (monotonic)."""

    process: ManagedProcess
    url: str
    started: float

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid


class ServerUnderCheck:
    def __init__(
        self,
        profile: ServerProfile,
        url: str,
        backend: LocalBackend | None = None,
        toxiproxy_url: str | None = None,
    ) -> None:
        self.profile = profile
        self.name = profile.name
        self.url = url
        self.toxiproxy_url = toxiproxy_url
        self._backend = backend
        self._count = itertools.count(1)

    @property
    def endpoint_url(self) -> str:
        return self.url + self.profile.endpoint

    def unmanaged_reason(self, what: str) -> str | None:
        """Why ``what`` cannot be checked on this server, or None if it can."""
        if self._backend is not None:
            return None
        return (
            f"server {self.name!r} is external (url: {self.profile.url}): the harness does "
            f"not run its process, so it cannot {what}; name a stack-file service "
            f"(conformance.servers.{self.name}.service) to check this"
        )

    @contextmanager
    def fresh_instance(self, startup_timeout: float) -> Iterator[Instance]:
        """Start one more instance; it is stopped (SIGTERM, then SIGKILL) on leaving."""
        assert self._backend is not None
        assert self.profile.service is not None
        label = f"{self.profile.service}-conformance-{next(self._count)}"
        process, port = self._backend.fresh_instance(self.profile.service, label)
        started = time.monotonic()
        process.start()
        try:
            if port is None:  # port: announce: the readiness line says where it listens
                try:
                    fields = process.wait_ready(startup_timeout)
                except ProcessError as exc:
                    raise AssertionError(
                        f"{self.name}: a fresh instance did not start: {exc}"
                    ) from None
                url = str(fields.get("url") or f"http://{HOST}:{fields['port']}")
            else:
                url = f"http://{HOST}:{port}"
            yield Instance(process, url.rstrip("/"), started)
        finally:
            process.stop(grace=STOP_GRACE_S)


def stack_url(stack: Stack, profile: ServerProfile) -> str:
    assert profile.service is not None
    return stack.endpoint(profile.service).url.rstrip("/")
