"""Ground truth: which requests really reached a backend, from the best source it has.

The gateway's own headers are a claim; the scenarios check it against evidence taken
beside the backend. Three sources, best first, each naming itself in the verdict:

- ``"mock admin API"``: the mock LLM's ``GET /admin/stats`` (docs/mock_llm.md), for a
  backend whose profile has ``admin_url`` or a stack service that answers it;
- ``"proxy ledger"``: the embedded Toxiproxy's request ledger of the backend's proxy
  (``/aistack/ledger``, docs/chaos.md), for any HTTP backend — llama.cpp, vLLM, Ollama;
- ``"connection counts"``: a Toxiproxy without a ledger (upstream ``toxiproxy-server``)
  has only per-proxy counters in ``/metrics``. Nothing per request can be checked with
  them: such checks raise :class:`GroundTruthUnavailable` naming what is missing, and
  the plugin turns that into a skip (a failure under ``--aistack-strict``).

Times are wall clock (``time.time()``), the clock of the ledger's and the mock's records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, Protocol

import httpx

from pytest_aistack.chaos.client import (
    LedgerRecord,
    LedgerUnavailable,
    ProxyTraffic,
    ToxiproxyClient,
    ToxiproxyError,
)

MOCK_ADMIN = "mock admin API"
PROXY_LEDGER = "proxy ledger"
CONNECTION_COUNTS = "connection counts"
PROBE_TIMEOUT = 2.0


class GroundTruthUnavailable(Exception):
    """A check needs more than this stack's ground truth can give (the message says what)."""


class GroundTruth(Protocol):
    backend: str
    source: str  # MOCK_ADMIN | PROXY_LEDGER | CONNECTION_COUNTS

    def requests(self) -> dict[str, dict[str, Any]]:
        """Request id -> record, for every request the backend saw since ``reset``."""
        ...

    def requests_between(self, t0: float, t1: float) -> list[dict[str, Any]]:
        """Records of requests that reached the backend between wall-clock t0 and t1."""
        ...

    def saw(self, request_id: str, between: tuple[float, float] | None = None) -> bool:
        """Whether ``request_id`` reached the backend (by the time window ``between``
        when the backend's records carry no request id)."""
        ...

    def reset(self) -> None: ...

    def describe(self) -> str: ...


class MockAdmin:
    """The mock LLM admin API of one backend (docs/mock_llm.md)."""

    source = MOCK_ADMIN

    def __init__(self, name: str, url: str, token: str) -> None:
        self.name = name
        self.backend = name
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

    def requests_between(self, t0: float, t1: float) -> list[dict[str, Any]]:
        # received_at: when the mock read the request's first bytes (wall clock).
        return [
            {"request_id": key, **record}
            for key, record in self.requests().items()
            if t0 <= float(record.get("received_at") or 0.0) <= t1
        ]

    def saw(self, request_id: str, between: tuple[float, float] | None = None) -> bool:
        return request_id in self.requests()

    def reset(self) -> None:
        httpx.post(f"{self.url}/admin/reset", headers=self._headers, timeout=5.0).raise_for_status()

    def add_fault(self, fault: str, *, count: int | None = None) -> dict[str, Any]:
        """Inject ``fault`` (the ``x-mock-fault`` grammar) into the next ``count`` generation
        requests, or every one until :meth:`reset` (``POST /admin/faults``)."""
        body: dict[str, Any] = {"fault": fault}
        if count is not None:
            body["count"] = count
        response = httpx.post(
            f"{self.url}/admin/faults", headers=self._headers, json=body, timeout=5.0
        )
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def describe(self) -> str:
        return f"{self.backend}: {MOCK_ADMIN}"


def answers_mock_admin(url: str, token: str) -> bool:
    """Whether ``url`` is a mock LLM: its ``/admin/stats`` answers 200 with the mock's
    document. A llama.cpp or vLLM server answers 404 there; nothing is changed."""
    try:
        response = httpx.get(
            f"{url}/admin/stats",
            params={"requests": "0"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=PROBE_TIMEOUT,
        )
        document = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return False
    return isinstance(document, dict) and "requests_total" in document


class LedgerTruth:
    """The request ledger of the backend's proxy: every HTTP request the proxy wrote
    upstream, with its ``x-request-id`` when the gateway forwarded one."""

    source = PROXY_LEDGER

    def __init__(self, backend: str, proxy: str, toxiproxy_url: str) -> None:
        self.backend = backend
        self.proxy = proxy
        self.toxiproxy_url = toxiproxy_url
        self.matched_by: set[str] = set()  # "x-request-id" and/or "time window"

    def records(self) -> tuple[LedgerRecord, ...]:
        with ToxiproxyClient(self.toxiproxy_url, timeout=5.0) as client:
            page = client.proxy_ledger(self.proxy)
        if not page.enabled:
            raise GroundTruthUnavailable(
                f"the request ledger of the Toxiproxy at {self.toxiproxy_url} was switched "
                "off (PATCH /aistack/ledger, --ledger off), so it cannot say which requests "
                f"reached {self.backend}"
            )
        if page.dropped:
            raise GroundTruthUnavailable(
                f"the proxy ledger of {self.proxy!r} ({self.backend}) dropped {page.dropped} "
                f"records since the scenario began (ring of {page.capacity}); raise "
                "AISTACK_TOXIPROXY_LEDGER_CAPACITY / aistack toxiproxy --ledger-capacity"
            )
        return page.records

    def requests(self) -> dict[str, dict[str, Any]]:
        records = self.records()
        keyed = {r.request_id: dataclasses.asdict(r) for r in records if r.request_id}
        if records and not keyed:
            raise GroundTruthUnavailable(self._no_ids(len(records)))
        return keyed

    def requests_between(self, t0: float, t1: float) -> list[dict[str, Any]]:
        return [dataclasses.asdict(r) for r in self.records() if t0 <= r.started_at <= t1]

    def saw(self, request_id: str, between: tuple[float, float] | None = None) -> bool:
        records = self.records()
        if any(r.request_id == request_id for r in records):
            self.matched_by.add("x-request-id")
            return True
        anonymous = [r for r in records if r.request_id is None]
        if not anonymous:
            return False
        if between is None:
            raise GroundTruthUnavailable(self._no_ids(len(anonymous)))
        self.matched_by.add("time window")
        t0, t1 = between
        return any(t0 <= r.started_at <= t1 for r in anonymous)

    def _no_ids(self, count: int) -> str:
        return (
            f"{count} request(s) reached {self.backend} (proxy ledger of {self.proxy!r}) "
            "without an x-request-id: the gateway does not forward it, so requests cannot "
            "be told apart by id; forward the client's x-request-id to the backends "
            "(LiteLLM: forward_client_headers_to_llm_api) or check by time window"
        )

    def reset(self) -> None:
        with ToxiproxyClient(self.toxiproxy_url, timeout=5.0) as client:
            client.clear_ledger(self.proxy)
        self.matched_by.clear()

    def describe(self) -> str:
        how = f" (by {' and '.join(sorted(self.matched_by))})" if self.matched_by else ""
        return f"{self.backend}: {PROXY_LEDGER}{how}"


class CountsTruth:
    """What is left without a ledger: nothing per request (see the module docstring)."""

    source = CONNECTION_COUNTS

    def __init__(
        self,
        backend: str,
        proxy: str | None,
        why: str,
        toxiproxy_url: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.backend = backend
        self.proxy = proxy
        self.why = why
        self.toxiproxy_url = toxiproxy_url
        self.fix = fix or (
            "use the embedded Toxiproxy (its request ledger, /aistack/ledger) or set "
            f"backends.{backend}.admin_url to a mock LLM admin API"
        )

    def traffic(self) -> ProxyTraffic | None:
        """The proxy's counters in ``/metrics`` (None: no proxy, or none listed)."""
        if self.proxy is None or not self.toxiproxy_url:
            return None
        with ToxiproxyClient(self.toxiproxy_url, timeout=5.0) as client:
            return client.traffic().get(self.proxy)

    def _missing(self) -> GroundTruthUnavailable:
        return GroundTruthUnavailable(
            f"no per-request ground truth for backend {self.backend!r}: {self.why}; only "
            "connection counts are available, which cannot show which request reached it; "
            f"{self.fix}"
        )

    def requests(self) -> dict[str, dict[str, Any]]:
        raise self._missing()

    def requests_between(self, t0: float, t1: float) -> list[dict[str, Any]]:
        raise self._missing()

    def saw(self, request_id: str, between: tuple[float, float] | None = None) -> bool:
        raise self._missing()

    def reset(self) -> None:
        return None

    def require(self) -> None:
        raise self._missing()

    def describe(self) -> str:
        return f"{self.backend}: {CONNECTION_COUNTS} ({self.why})"


def proxy_truth(backend: str, proxy: str | None, toxiproxy_url: str | None) -> GroundTruth:
    """The ledger of ``proxy`` when its Toxiproxy has one, else what can be known."""
    if proxy is None:
        return CountsTruth(backend, None, "it has no Toxiproxy proxy in the profile")
    if not toxiproxy_url:
        return CountsTruth(backend, proxy, "the stack has no Toxiproxy (toxiproxy.url)")
    try:
        with ToxiproxyClient(toxiproxy_url, timeout=5.0) as client:
            enabled = client.ledger(limit=0).enabled
    except LedgerUnavailable:
        why = f"the Toxiproxy at {toxiproxy_url} has no request ledger (404 on /aistack/ledger)"
        return CountsTruth(backend, proxy, why, toxiproxy_url)
    except ToxiproxyError as exc:
        return CountsTruth(backend, proxy, f"the Toxiproxy at {toxiproxy_url}: {exc}")
    if not enabled:
        why = f"the request ledger of the Toxiproxy at {toxiproxy_url} is off"
        fix = "switch it on (aistack toxiproxy --ledger on, AISTACK_TOXIPROXY_LEDGER=on)"
        return CountsTruth(backend, proxy, why, toxiproxy_url, fix)
    return LedgerTruth(backend, proxy, toxiproxy_url)


def attempts(truth: GroundTruth, request_id: str, between: tuple[float, float]) -> int:
    """How many times ``request_id`` reached the backend between wall-clock t0 and t1.

    A gateway's retry resends the client's x-request-id: the mock counts the repeats in
    its record's ``attempts`` (docs/mock_llm.md), the ledger keeps one record per request.
    Records without an id (a gateway that does not forward it) count too, so ``between``
    must hold this request alone.
    """
    return sum(
        int(record.get("attempts", 1))
        for record in truth.requests_between(*between)
        if record.get("request_id") in (request_id, None)
    )


def summary(truths: Iterable[GroundTruth]) -> str:
    """One line for a verdict: which source each backend's evidence came from."""
    return "ground truth: " + "; ".join(truth.describe() for truth in truths)
