"""AIStack: what the ``aistack_stack`` fixture gives a test — a running stack plus its profile.

It knows where the gateway is and how to call it (every call with a deadline), which
Toxiproxy proxy fronts each backend, how to read a backend's ground truth (the mock
LLM admin stats or the proxy's request ledger: stack/ground_truth.py) and the policy
the scenarios assert.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from pytest_aistack.stack.backend import Stack
from pytest_aistack.stack.gateway_call import ChatResult, call_gateway
from pytest_aistack.stack.ground_truth import (
    CountsTruth,
    GroundTruth,
    GroundTruthUnavailable,  # noqa: F401  (re-exported: scenarios catch it from here)
    MockAdmin,
    answers_mock_admin,
    proxy_truth,
    summary,
)
from pytest_aistack.stack.profile import Policy, Profile

DEFAULT_DEADLINE = 30.0


class AIStack:
    def __init__(self, stack: Stack, profile: Profile) -> None:
        self.stack = stack
        self.profile = profile
        # Each backend's ground truth (stack/ground_truth.py), found on first use: probing
        # a service is one request, and a stack the tests never ask about costs nothing.
        self._truths: dict[str, GroundTruth] = {}

    @property
    def policy(self) -> Policy:
        return self.profile.policy

    @property
    def gateway_url(self) -> str:
        return self.stack.gateway_url

    @property
    def gateway_urls(self) -> tuple[str, ...]:
        """Every instance of the gateway: the main one first, then its replicas."""
        return (self.stack.gateway_url, *self.stack.gateway_replica_urls)

    @property
    def redis_url(self) -> str | None:
        """Direct address of Redis (not through its proxy), when the backend knows it."""
        endpoint = self.stack.endpoints.get("redis")
        return endpoint.url if endpoint is not None and endpoint.url.startswith("redis") else None

    @property
    def toxiproxy_url(self) -> str | None:
        return self.stack.toxiproxy_url

    def proxy_of(self, backend: str) -> str:
        proxy = self.profile.backends[backend].proxy
        if proxy is None:
            raise LookupError(f"backend {backend!r} has no proxy in {self.profile.path}")
        return proxy

    def admin(self, backend: str) -> GroundTruth:
        """The backend's ground truth: its mock admin API when it has one (profile
        ``admin_url``, or a stack service answering ``/admin/stats``), else the request
        ledger of its proxy, else connection counts (whose per-request checks raise
        :class:`GroundTruthUnavailable`, a skip naming what is missing)."""
        truth = self._truths.get(backend)
        if truth is None:
            truth = self._find_truth(backend)
            self._truths[backend] = truth
        return truth

    def _find_truth(self, backend: str) -> GroundTruth:
        if backend not in self.profile.backends:
            known = ", ".join(self.profile.backends)
            raise LookupError(f"no backend {backend!r} in {self.profile.path} (backends: {known})")
        declared = self.profile.backends[backend]
        owner = self._proxy_owner(backend)
        if owner is not None:
            # A second deployment on another backend's service (same proxy): the same
            # evidence, which cannot tell the two apart; served() names the owner.
            return self.admin(owner)
        token = self.stack.admin_token
        if token is not None:
            if declared.admin_url:
                return MockAdmin(backend, declared.admin_url, token.value)
            endpoint = self.stack.endpoints.get(backend)
            # Only mock LLM services have the admin API; a llama.cpp or vLLM service of
            # the same stack answers 404 there, so ask once instead of assuming.
            if endpoint and endpoint.url and answers_mock_admin(endpoint.url, token.value):
                return MockAdmin(backend, endpoint.url, token.value)
        return proxy_truth(backend, declared.proxy, self.stack.toxiproxy_url)

    def _proxy_owner(self, backend: str) -> str | None:
        """The stack service behind ``backend``'s proxy when it is another backend's."""
        proxy = self.profile.backends[backend].proxy
        if proxy is None or backend in self.stack.endpoints:
            return None
        for name, other in self.profile.backends.items():
            if name != backend and other.proxy == proxy and name in self.stack.endpoints:
                return name
        return None

    def has_admin(self, backend: str) -> bool:
        """Whether the backend has a mock LLM admin API (faults, stats)."""
        return isinstance(self.admin(backend), MockAdmin)

    def require_ground_truth(self, backends: Iterable[str]) -> None:
        """Raise :class:`GroundTruthUnavailable` now (a skip before any fault) when one of
        ``backends`` has only connection counts, which no per-request check can use."""
        for name in backends:
            truth = self.admin(name)
            if isinstance(truth, CountsTruth):
                truth.require()

    def ground_truth(self, backends: Iterable[str] | None = None) -> str:
        """One line for a verdict: the source of each backend's evidence."""
        names = list(self.profile.backends) if backends is None else list(backends)
        return summary(self.admin(name) for name in names)

    def reset_backends(self) -> None:
        for truth in {id(t): t for t in map(self.admin, self.profile.backends)}.values():
            truth.reset()

    def served(self, request_id: str, between: tuple[float, float] | None = None) -> list[str]:
        """Backends whose ground truth shows ``request_id`` (in backend order).

        ``between`` (wall-clock send and end of the request) lets a proxy ledger whose
        records carry no x-request-id answer by time window; without it such a ledger
        raises :class:`GroundTruthUnavailable`, as connection counts always do.
        """
        served: list[str] = []
        asked: set[int] = set()
        for name in self.profile.backends:
            truth = self.admin(name)
            if id(truth) in asked:  # shared with a backend listed before (_proxy_owner)
                continue
            asked.add(id(truth))
            if truth.saw(request_id, between):
                served.append(name)
        return served

    def chat(
        self,
        *,
        model: str | None = None,
        stream: bool = False,
        prompt: str = "hello",
        unique: bool = True,
        deadline: float = DEFAULT_DEADLINE,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        gateway_url: str | None = None,
    ) -> ChatResult:
        """One chat completion through the gateway; never waits much past ``deadline`` s.

        The answer is judged by the stream classifier: :attr:`ChatResult.outcome` is one
        of the ten outcomes of ``pytest_aistack.llm`` (stack/gateway_call.py).

        ``gateway_url``: one of :attr:`gateway_urls` (default: the main instance).
        """
        # A UUID: llama-cpp-python's server answers an empty 400 to any other x-request-id
        # (starlette-context's RequestIdPlugin validates it), and the gateway forwards ours.
        request_id = uuid.uuid4().hex
        body: dict[str, Any] = {
            "model": model or self.profile.primary_group,
            # A unique prompt keeps the response cache out of the way unless a test wants it.
            "messages": [
                {"role": "user", "content": f"{prompt} [{request_id}]" if unique else prompt}
            ],
            "stream": stream,
            "max_tokens": 8,
            **(extra or {}),
        }
        all_headers = {
            "Authorization": f"Bearer {self.stack.gateway_key.value}",
            "x-request-id": request_id,
            **(headers or {}),
        }
        return call_gateway(
            f"{gateway_url or self.gateway_url}/v1/chat/completions",
            body,
            all_headers,
            request_id=request_id,
            deadline=deadline,
        )


def redis_command(url: str, *args: str, timeout: float = 2.0) -> bytes:
    """One Redis command over RESP on a fresh connection; the raw reply line.

    Enough for ground-truth checks (``EXISTS key``, ``DBSIZE``) without a client library.
    """
    parts = urlsplit(url)
    payload = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in args
    )
    with socket.create_connection(
        (parts.hostname or "127.0.0.1", parts.port or 6379), timeout
    ) as s:
        s.settimeout(timeout)
        s.sendall(payload)
        return s.recv(4096).split(b"\r\n", 1)[0]
