"""AIStack: what the ``aistack_stack`` fixture gives a test — a running stack plus its profile.

It knows where the gateway is and how to call it (every call with a deadline), which
Toxiproxy proxy fronts each backend, how to read a backend's ground truth (the mock
LLM admin stats, per request id) and the policy the scenarios assert.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from pytest_aistack.stack.profile import Policy, Profile
from pytest_aistack.stack.spec import Stack

DEFAULT_DEADLINE = 30.0


@dataclass
class ChatResult:
    """One gateway call as the client saw it."""

    request_id: str
    status: int | None  # None: the transport failed before a status line
    headers: Mapping[str, str]
    elapsed: float
    body: dict[str, Any] | None = None
    events: list[str] = field(default_factory=list)  # raw SSE data payloads, in order
    saw_done: bool = False
    error: str | None = None  # transport error or in-band error event

    @property
    def served_by(self) -> str | None:
        """The deployment id the gateway reports (``x-litellm-model-id``)."""
        return self.headers.get("x-litellm-model-id")

    @property
    def model_group(self) -> str | None:
        return self.headers.get("x-litellm-model-group")

    @property
    def clean_success(self) -> bool:
        """What a client would take for a complete answer."""
        if self.status != 200 or self.error is not None:
            return False
        return self.saw_done if self.events else self.body is not None

    def describe(self) -> str:
        via = f" via {self.served_by}" if self.served_by else ""
        what = self.error or ("[DONE]" if self.saw_done else "")
        return f"{self.status}{via} in {self.elapsed:.2f}s {what}".rstrip()


class MockAdmin:
    """The mock LLM admin API of one backend (docs/mock_llm.md)."""

    def __init__(self, name: str, url: str, token: str) -> None:
        self.name = name
        self.url = url
        self._headers = {"Authorization": f"Bearer {token}"}

    def stats(self, *, requests: bool = True) -> dict[str, Any]:
        params = None if requests else {"requests": "0"}
        response = httpx.get(
            f"{self.url}/admin/stats", headers=self._headers, params=params, timeout=5.0
        )
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def requests(self) -> dict[str, dict[str, Any]]:
        records: dict[str, dict[str, Any]] = self.stats()["requests"]
        return records

    def reset(self) -> None:
        httpx.post(f"{self.url}/admin/reset", headers=self._headers, timeout=5.0).raise_for_status()


class AIStack:
    def __init__(self, stack: Stack, profile: Profile) -> None:
        self.stack = stack
        self.profile = profile
        self._admins: dict[str, MockAdmin] = {}
        for name, backend in profile.backends.items():
            url = backend.admin_url
            if not url and name in stack.endpoints:
                url = stack.endpoints[name].url
            if url and stack.admin_token is not None:
                self._admins[name] = MockAdmin(name, url, stack.admin_token.value)

    @property
    def policy(self) -> Policy:
        return self.profile.policy

    @property
    def gateway_url(self) -> str:
        return self.stack.gateway_url

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

    def admin(self, backend: str) -> MockAdmin:
        try:
            return self._admins[backend]
        except KeyError:
            raise LookupError(
                f"backend {backend!r} has no admin API (set backends.{backend}.admin_url "
                f"in {self.profile.path})"
            ) from None

    def has_admin(self, backend: str) -> bool:
        return backend in self._admins

    def reset_backends(self) -> None:
        for admin in self._admins.values():
            admin.reset()

    def served(self, request_id: str) -> list[str]:
        """Backends whose ground truth shows ``request_id`` (in backend order)."""
        return [name for name, admin in self._admins.items() if request_id in admin.requests()]

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
    ) -> ChatResult:
        """One chat completion through the gateway; never waits past ``deadline`` s."""
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
        # The read timeout bounds each gap between bytes; the overall deadline is checked
        # between events, so a stream that trickles forever still ends.
        timeout = httpx.Timeout(deadline, connect=min(5.0, deadline))
        started = time.monotonic()
        result = ChatResult(request_id=request_id, status=None, headers={}, elapsed=0.0)
        try:
            with (
                httpx.Client(timeout=timeout) as client,
                client.stream(
                    "POST",
                    f"{self.gateway_url}/v1/chat/completions",
                    json=body,
                    headers=all_headers,
                ) as response,
            ):
                result.status = response.status_code
                result.headers = dict(response.headers)
                if stream and response.status_code == 200:
                    _read_sse(response, result, started + deadline)
                else:
                    raw = response.read()
                    result.body = _json_or_none(raw)
        except httpx.HTTPError as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        result.elapsed = time.monotonic() - started
        return result


def _read_sse(response: httpx.Response, result: ChatResult, deadline_at: float) -> None:
    for line in response.iter_lines():
        if time.monotonic() > deadline_at:
            result.error = "deadline passed while streaming"
            return
        if not line.startswith("data:"):
            continue
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            result.saw_done = True
            continue
        result.events.append(data)
        parsed = _json_or_none(data.encode())
        if parsed is None:
            result.error = f"malformed event: {data[:80]}"
        elif "error" in parsed:
            result.error = f"in-band error: {json.dumps(parsed['error'])[:200]}"


def _json_or_none(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


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
