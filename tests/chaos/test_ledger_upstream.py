"""The request ledger's fallback against a real ``toxiproxy-server``
(``AISTACK_TOXIPROXY_BIN``): no ``/aistack/ledger``, only upstream's byte counters."""

from __future__ import annotations

import pytest

from pytest_aistack.chaos.client import ToxiproxyClient
from pytest_aistack.runtime.waiting import wait_until

from .ledgerutil import OK, exchange, http_request
from .netutil import Upstream, connect


def test_a_real_toxiproxy_server_has_no_ledger_but_counters(
    toxiproxy_engine: str, toxiproxy_url: str, upstream: Upstream
) -> None:
    """Against ``AISTACK_TOXIPROXY_BIN``: the client says the ledger is missing and the
    fallback reads the byte counters upstream adds when a connection ends (link.go)."""
    from pytest_aistack.chaos.client import LedgerUnavailable

    if toxiproxy_engine != "binary":
        pytest.skip("tests upstream toxiproxy-server's answers; set AISTACK_TOXIPROXY_BIN")
    with ToxiproxyClient(toxiproxy_url) as client:
        with pytest.raises(LedgerUnavailable):
            client.proxy_ledger("anything")
        proxy = client.create_proxy("plain", upstream.address)
        try:
            request = http_request()
            with connect(proxy.listen) as sock:
                exchange(sock, upstream.accept(), request, OK)

            def counted() -> int | None:
                traffic = client.traffic().get("plain")
                return traffic.bytes_up if traffic is not None and traffic.bytes_up else None

            assert wait_until(counted, timeout=5, what="upstream's byte counter") == len(request)
            assert client.traffic()["plain"].connections is None
        finally:
            client.delete_proxy("plain")
