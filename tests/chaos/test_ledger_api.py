"""The request ledger's API and switches: error answers, the traffic counters of the
fallback, the async client, and ``aistack toxiproxy --ledger/--ledger-capacity``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_aistack.chaos.client import ToxiproxyClient
from pytest_aistack.runtime.waiting import wait_until

from .ledgerutil import OK, ended_records, exchange, http_request
from .netutil import Upstream, connect

pytestmark = pytest.mark.usefixtures("embedded_only", "fresh_ledger")


def test_api_errors(api: ToxiproxyClient, toxiproxy_url: str) -> None:
    import httpx

    from pytest_aistack.chaos.client import BadRequest, LedgerUnavailable, NotFound

    with pytest.raises(NotFound) as caught:
        api.proxy_ledger("no-such-proxy")
    assert not isinstance(caught.value, LedgerUnavailable)
    assert caught.value.message == "proxy not found"
    with pytest.raises(BadRequest, match="capacity"):
        api.configure_ledger(capacity=0)
    agent = {"User-Agent": "aistack-tests"}
    with httpx.Client(base_url=toxiproxy_url, timeout=5, headers=agent) as http:
        bad = http.get("/aistack/ledger", params={"since": "soon"})
        assert (bad.status_code, bad.json()) == (
            400,
            {"error": "since='soon': expected a whole number", "status": 400},
        )
        assert http.post("/aistack/ledger").status_code == 405
        assert http.get("/aistack/ledger/a/b").text == "404 page not found\n"
        browser = http.get("/aistack/ledger", headers={"User-Agent": "Mozilla/5.0"})
        assert browser.status_code == 403


def test_traffic_counts_from_metrics(api: ToxiproxyClient, upstream: Upstream) -> None:
    """The fallback's counters; they are per proxy name for the server's life, so the
    test compares before and after."""
    proxy = api.create_proxy("traffic", upstream.address)
    before = api.traffic().get("traffic")
    base_bytes = (before.bytes_up or 0) if before is not None else 0
    base_connections = (before.connections or 0) if before is not None else 0
    request = http_request()
    with connect(proxy.listen) as client:
        exchange(client, upstream.accept(), request, OK)

    def counted() -> int | None:
        traffic = api.traffic().get("traffic")
        if traffic is None or (traffic.bytes_up or 0) - base_bytes < len(request):
            return None
        return (traffic.connections or 0) - base_connections

    assert wait_until(counted, timeout=5, what="the proxy's counters") == 1
    assert api.traffic()["traffic"].bytes_up == base_bytes + len(request)


@pytest.mark.asyncio
async def test_the_async_client_reads_the_same_ledger(
    api: ToxiproxyClient, upstream: Upstream, toxiproxy_url: str
) -> None:
    import asyncio

    from pytest_aistack.chaos.client import AsyncToxiproxyClient

    proxy = api.create_proxy("test", upstream.address)
    with connect(proxy.listen) as client:
        server = upstream.accept()
        await asyncio.to_thread(exchange, client, server, http_request(request_id="as-1"), OK)
        await asyncio.to_thread(ended_records, api, 1)
    async with AsyncToxiproxyClient(toxiproxy_url) as aclient:
        page = await aclient.proxy_ledger("test")
        everything = await aclient.ledger()
        await aclient.clear_ledger("test")
        state = await aclient.configure_ledger(enabled=True)
    assert [r.request_id for r in page.records] == ["as-1"]
    assert everything.proxies["test"].records == page.records
    assert state == {"enabled": True, "capacity": 10_000}
    assert api.proxy_ledger("test").records == ()


def _toxiproxy_process(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    from pytest_aistack.runtime.process import ManagedProcess

    argv = [sys.executable, "-m", "pytest_aistack.cli", "toxiproxy", "--port", "0", *args]
    return ManagedProcess(
        "toxiproxy", argv, log_path=tmp_path / "toxiproxy.log", env={**os.environ, **(env or {})}
    )


def test_cli_switches_and_sizes_the_ledger(tmp_path: Path) -> None:
    process = _toxiproxy_process(
        tmp_path, "--ledger-capacity", "7", env={"AISTACK_TOXIPROXY_LEDGER": "off"}
    )
    with process:
        url = process.wait_ready(timeout=20)["url"]
        with ToxiproxyClient(url) as client:
            assert (client.ledger().enabled, client.ledger().capacity) == (False, 7)
    assert process.stop() == 0


def test_cli_refuses_a_bad_capacity(tmp_path: Path) -> None:
    from pytest_aistack.runtime.process import ProcessError

    process = _toxiproxy_process(tmp_path, "--ledger-capacity", "0")
    with process, pytest.raises(ProcessError, match="exited with code 2"):
        process.wait_ready(timeout=20)
    assert "--ledger-capacity: expected a whole number >= 1, got '0'" in process.tail()
