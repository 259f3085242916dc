"""Random API calls (hypothesis): the server never crashes, answers every call with one
of the API's statuses and a well-formed body, and leaks no listener."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .netutil import TcpServer, is_listening

NAMES = st.sampled_from(["a", "b", "c"])
TOXIC_TYPES = st.sampled_from(
    [
        "latency",
        "bandwidth",
        "slow_close",
        "timeout",
        "reset_peer",
        "slicer",
        "limit_data",
        "noop",
        "bogus",
    ]
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)
LISTENS = st.sampled_from(["127.0.0.1:0", "localhost:0", "", "bad", "127.0.0.1:1", "[::1]:0"])


def _proxy_body(upstream: str) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {},
        optional={
            "name": NAMES,
            "listen": LISTENS,
            "upstream": st.sampled_from([upstream, "127.0.0.1:1", ""]),
            "enabled": st.one_of(st.booleans(), JSON_SCALARS),
        },
    )


TOXIC_BODY = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(NAMES, st.text(max_size=4)),
        "type": TOXIC_TYPES,
        "stream": st.sampled_from(["upstream", "downstream", "DOWNSTREAM", "x", ""]),
        "toxicity": st.one_of(st.floats(min_value=-1, max_value=2), JSON_SCALARS),
        "attributes": st.one_of(
            st.dictionaries(
                st.sampled_from(
                    [
                        "latency",
                        "jitter",
                        "rate",
                        "delay",
                        "timeout",
                        "bytes",
                        "average_size",
                        "size_variation",
                    ]
                ),
                st.one_of(st.integers(min_value=-1000, max_value=10**6), JSON_SCALARS),
                max_size=4,
            ),
            ANY_JSON,
        ),
    },
)


def _calls(upstream: str) -> st.SearchStrategy[tuple[str, str, Any]]:
    proxy_body = st.one_of(_proxy_body(upstream), ANY_JSON)
    return st.one_of(
        st.tuples(st.just("GET"), st.just("/proxies"), st.none()),
        st.tuples(st.just("POST"), st.just("/proxies"), proxy_body),
        st.tuples(
            st.just("POST"),
            st.just("/populate"),
            st.one_of(st.lists(_proxy_body(upstream), max_size=3), ANY_JSON),
        ),
        st.tuples(
            st.sampled_from(["GET", "DELETE"]), NAMES.map(lambda n: f"/proxies/{n}"), st.none()
        ),
        st.tuples(
            st.sampled_from(["PATCH", "POST"]), NAMES.map(lambda n: f"/proxies/{n}"), proxy_body
        ),
        st.tuples(st.just("POST"), NAMES.map(lambda n: f"/proxies/{n}/toxics"), TOXIC_BODY),
        st.tuples(
            st.sampled_from(["GET", "PATCH", "DELETE"]),
            st.tuples(NAMES, TOXIC_TYPES).map(
                lambda p: f"/proxies/{p[0]}/toxics/{p[1]}_downstream"
            ),
            TOXIC_BODY,
        ),
        st.tuples(st.just("POST"), st.just("/reset"), st.none()),
        st.tuples(st.sampled_from(["PUT", "DELETE"]), st.just("/version"), st.none()),
    )


ALLOWED = {200, 201, 204, 400, 404, 405, 409, 500}


@pytest.fixture
def fuzz_upstream() -> Any:
    server = TcpServer(lambda conn: None)
    try:
        yield server
    finally:
        server.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_api_calls(
    toxiproxy_url: str, fuzz_upstream: TcpServer, data: st.DataObject
) -> None:
    calls = data.draw(st.lists(_calls(fuzz_upstream.address), min_size=1, max_size=12))
    seen_listeners: set[str] = set()
    with httpx.Client(base_url=toxiproxy_url, timeout=10.0, headers={"User-Agent": "fuzz"}) as http:
        try:
            for method, path, body in calls:
                content = None if body is None else json.dumps(body).encode()
                response = http.request(method, path, content=content)
                assert response.status_code in ALLOWED, (method, path, body, response.text)
                if response.status_code >= 400 and response.status_code != 405 and response.content:
                    payload = response.json()
                    assert payload["status"] == response.status_code
                    assert isinstance(payload["error"], str)
                listing = http.get("/proxies")
                assert listing.status_code == 200
                for proxy in listing.json().values():
                    if proxy["enabled"]:
                        seen_listeners.add(proxy["listen"])
        finally:
            for name in http.get("/proxies").json():
                assert http.delete(f"/proxies/{name}").status_code == 204
        assert http.get("/version").status_code == 200
        # The embedded server counts exceptions nothing handled (an extension).
        assert "aistack_internal_errors_total 0\n" in http.get("/metrics").text or (
            "aistack_internal_errors_total" not in http.get("/metrics").text
        )
    leaked = [listen for listen in seen_listeners if is_listening(listen)]
    assert leaked == [], f"listeners still open after every proxy was deleted: {leaked}"
