"""Ground truth on the running stack: the proxy ledger agrees with the backends' own logs,
the stack without an admin API falls back to the ledger, and a Toxiproxy without a
ledger leaves connection counts, whose per-request checks skip (fail when strict)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from pytest_aistack.chaos.client import LedgerUnavailable, ToxiproxyClient
from pytest_aistack.stack.ground_truth import (
    CONNECTION_COUNTS,
    MOCK_ADMIN,
    PROXY_LEDGER,
    CountsTruth,
    GroundTruthUnavailable,
    LedgerTruth,
    proxy_truth,
)
from pytest_aistack.stack.handle import AIStack, redis_command

REQUESTS = 8


@pytest.fixture
def ledger_only(aistack_stack: AIStack) -> AIStack:
    """The same running stack as a user's real backends look: no admin token, so no
    backend is taken for a mock and the proxy ledger is the ground truth."""
    stack = AIStack(aistack_stack.stack.replace(admin_token=None), aistack_stack.profile)
    stack.reset_backends()
    return stack


def test_the_mock_admin_api_is_found_only_where_it_answers(aistack_stack: AIStack) -> None:
    endpoints = aistack_stack.stack.endpoints
    for name, backend in aistack_stack.profile.backends.items():
        assert aistack_stack.admin(name).source == MOCK_ADMIN, name
        assert aistack_stack.has_admin(name)
        if name not in endpoints:  # a second deployment on another backend's service
            (owner,) = [n for n, e in endpoints.items() if e.proxy == backend.proxy]
            assert aistack_stack.admin(name) is aistack_stack.admin(owner)


def test_each_request_id_is_in_the_ledger_of_exactly_the_backend_that_served_it(
    aistack_stack: AIStack, ledger_only: AIStack
) -> None:
    aistack_stack.reset_backends()
    backends = [
        name for name in aistack_stack.profile.backends if name in aistack_stack.stack.endpoints
    ]
    for name in backends:
        assert ledger_only.admin(name).source == PROXY_LEDGER
    results = [aistack_stack.chat() for _ in range(REQUESTS)]
    for result in results:
        assert result.status == 200, result.describe()
        by_ledger = ledger_only.served(result.request_id)
        by_mock = aistack_stack.served(result.request_id)
        assert by_ledger == by_mock == [result.served_by], (result.request_id, by_ledger)
    # And what the ledger recorded is what the mocks logged, request for request.
    for name in backends:
        ledger = ledger_only.admin(name).requests()
        mock = aistack_stack.admin(name).requests()
        assert set(ledger) == set(mock), name
        for request_id, record in ledger.items():
            assert (record["method"], record["path"]) == ("POST", "/v1/chat/completions")
            assert (record["status"], record["outcome"]) == (200, "complete")
            assert record["status"] == mock[request_id]["status"]
    assert "proxy ledger (by x-request-id)" in ledger_only.ground_truth(backends)


def test_time_windows_find_the_request_without_an_id(
    aistack_stack: AIStack, ledger_only: AIStack
) -> None:
    sent_at = time.time()
    result = aistack_stack.chat()
    done_at = time.time()
    assert result.status == 200, result.describe()
    assert result.served_by is not None
    truth = ledger_only.admin(result.served_by)
    window = truth.requests_between(sent_at, done_at)
    assert [record["request_id"] for record in window] == [result.request_id]
    assert truth.requests_between(done_at + 0.001, time.time() + 1) == []
    mock_window = aistack_stack.admin(result.served_by).requests_between(sent_at, done_at)
    assert [record["request_id"] for record in mock_window] == [result.request_id]


def test_a_gateway_that_drops_the_request_id_is_matched_by_time_window(
    aistack_stack: AIStack, ledger_only: AIStack
) -> None:
    """A request reaching a backend without x-request-id (as through a gateway that does
    not forward it): found by its time window, and an id-only question says why not."""
    name = next(n for n in aistack_stack.profile.backends if n in aistack_stack.stack.endpoints)
    endpoint = aistack_stack.stack.endpoints[name]
    truth = ledger_only.admin(name)
    assert isinstance(truth, LedgerTruth)
    truth.reset()
    sent_at = time.time()
    answer = httpx.post(
        f"http://{endpoint.proxy_listen}/v1/chat/completions",
        json={"model": "mock-chat", "messages": [{"role": "user", "content": "hi"}]},
        timeout=10.0,
    )
    done_at = time.time()
    assert answer.status_code == 200, answer.text[:200]
    assert truth.saw("never-sent-id", between=(sent_at, done_at))
    assert not truth.saw("never-sent-id", between=(done_at + 0.001, done_at + 1))
    assert "time window" in truth.describe()
    with pytest.raises(GroundTruthUnavailable, match="without an x-request-id"):
        truth.saw("never-sent-id")
    with pytest.raises(GroundTruthUnavailable, match="forward_client_headers_to_llm_api"):
        truth.requests()


def test_redis_traffic_is_counted_not_recorded(aistack_stack: AIStack) -> None:
    """Real RESP through the stack's redis proxy: connections only, no HTTP records."""
    redis = aistack_stack.stack.endpoints["redis"]
    assert redis.proxy is not None
    assert redis.proxy_listen is not None
    url = aistack_stack.toxiproxy_url
    assert url is not None
    with ToxiproxyClient(url) as client:
        before = client.proxy_ledger(redis.proxy)
        assert redis_command(f"redis://{redis.proxy_listen}", "PING") == b"+PONG"
        after = client.proxy_ledger(redis.proxy)
    assert after.connections["not_http"] == before.connections["not_http"] + 1
    assert after.records == ()


# -- a Toxiproxy without a ledger --------------------------------------------------------
UPSTREAM_METRICS = (
    "# HELP toxiproxy_proxy_received_bytes_total \n"
    "# TYPE toxiproxy_proxy_received_bytes_total counter\n"
    'toxiproxy_proxy_received_bytes_total{direction="upstream",listener="127.0.0.1:1",'
    'proxy="vllm-a",upstream="127.0.0.1:2"} 1234\n'
    'toxiproxy_proxy_received_bytes_total{direction="downstream",listener="127.0.0.1:1",'
    'proxy="vllm-a",upstream="127.0.0.1:2"} 99999\n'
)


class _UpstreamLike(BaseHTTPRequestHandler):
    """Answers as toxiproxy-server 2.x does for the two paths the fallback reads: the
    Prometheus text at /metrics (with -proxy-metrics) and gorilla/mux's 404 elsewhere."""

    def do_GET(self) -> None:
        if self.path == "/metrics":
            body, status, kind = UPSTREAM_METRICS.encode(), 200, "text/plain; version=0.0.4"
        else:
            body, status, kind = b"404 page not found\n", 404, "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def upstream_toxiproxy() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _UpstreamLike)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_without_a_ledger_only_connection_counts_remain(upstream_toxiproxy: str) -> None:
    with ToxiproxyClient(upstream_toxiproxy, timeout=5.0) as client:
        with pytest.raises(LedgerUnavailable, match="no request ledger here"):
            client.proxy_ledger("vllm-a")
        traffic = client.traffic()["vllm-a"]
    assert (traffic.connections, traffic.bytes_up) == (None, 1234)
    truth = proxy_truth("vllm-a", "vllm-a", upstream_toxiproxy)
    assert isinstance(truth, CountsTruth)
    assert truth.source == CONNECTION_COUNTS
    assert truth.traffic() == traffic
    with pytest.raises(GroundTruthUnavailable, match="only connection counts") as caught:
        truth.saw("any-id")
    assert "404 on /aistack/ledger" in str(caught.value)
    assert "vllm-a: connection counts" in truth.describe()


def test_a_switched_off_ledger_is_not_taken_for_an_empty_one(aistack_stack: AIStack) -> None:
    url = aistack_stack.toxiproxy_url
    assert url is not None
    name = next(iter(aistack_stack.profile.backends))
    proxy = aistack_stack.proxy_of(name)
    with ToxiproxyClient(url) as client:
        client.configure_ledger(enabled=False)
        try:
            assert isinstance(proxy_truth(name, proxy, url), CountsTruth)
            with pytest.raises(GroundTruthUnavailable, match="switched off"):
                LedgerTruth(name, proxy, url).requests()
        finally:
            client.configure_ledger(enabled=True)


SKIPPING_TEST = """
from pytest_aistack.stack.ground_truth import GroundTruthUnavailable

def test_needs_per_request_truth():
    raise GroundTruthUnavailable("backend 'x': only connection counts")
"""


INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"


def test_unavailable_ground_truth_skips_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(SKIPPING_TEST)
    result = pytester.runpytest("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*ground truth unavailable: backend 'x': only connection counts*"])


def test_unavailable_ground_truth_fails_when_strict(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(SKIPPING_TEST)
    result = pytester.runpytest("--aistack-strict", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ground truth unavailable: backend 'x'*"])
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
