"""The control API's toxic routes, ported from toxiproxy ``api_test.go`` (each test names
its source); the proxy routes are in test_api.py.
"""

from __future__ import annotations

import httpx
import pytest

from pytest_aistack.chaos.client import Conflict, NotFound, ToxiproxyClient

UNUSED_UPSTREAM = "localhost:20001"  # upstream's api_test.go: nothing listens there


def test_listing_toxics(api: ToxiproxyClient) -> None:
    """api_test.go TestListingToxics."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    assert api.toxics("mysql_master") == []


def test_add_toxic(api: ToxiproxyClient, http: httpx.Client) -> None:
    """api_test.go TestAddToxic: 200 and the toxic read back."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    body = {"name": "foobar", "type": "latency", "attributes": {"latency": 100, "jitter": 10}}
    response = http.post("/proxies/mysql_master/toxics", json=body)
    assert response.status_code == 200
    assert response.json() == {
        "attributes": {"latency": 100, "jitter": 10},
        "name": "foobar",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1,
    }
    (toxic,) = api.toxics("mysql_master")
    assert (toxic.name, toxic.type, toxic.stream, toxic.toxicity) == (
        "foobar",
        "latency",
        "downstream",
        1.0,
    )
    assert toxic.attributes == {"latency": 100, "jitter": 10}


def test_add_multiple_toxics(api: ToxiproxyClient) -> None:
    """api_test.go TestAddMultipleToxics: listed in insertion order, defaults zero."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    api.add_toxic("mysql_master", "latency", name="latency1")
    api.add_toxic("mysql_master", "latency", name="latency2")
    toxics = api.toxics("mysql_master")
    assert [(t.name, t.stream) for t in toxics] == [
        ("latency1", "downstream"),
        ("latency2", "downstream"),
    ]
    assert toxics[1].attributes == {"latency": 0, "jitter": 0}


def test_add_conflicting_toxic(api: ToxiproxyClient) -> None:
    """api_test.go TestAddConflictingToxic."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    api.add_toxic("mysql_master", "latency", name="foobar")
    with pytest.raises(Conflict) as info:
        api.add_toxic("mysql_master", "slow_close", name="foobar")
    assert info.value.message == "toxic already exists"
    (toxic,) = api.toxics("mysql_master")
    assert (toxic.type, toxic.stream) == ("latency", "downstream")


def test_add_conflicting_toxics_multistream(api: ToxiproxyClient) -> None:
    """api_test.go TestAddConflictingToxicsMultistream: names are unique across streams."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    api.add_toxic("mysql_master", "latency", name="foobar", stream="upstream")
    with pytest.raises(Conflict):
        api.add_toxic("mysql_master", "latency", name="foobar", stream="downstream")
    (toxic,) = api.toxics("mysql_master")
    assert toxic.stream == "upstream"


def test_add_conflicting_toxics_multistream_defaults(api: ToxiproxyClient) -> None:
    """api_test.go TestAddConflictingToxicsMultistreamDefaults: default names differ."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    api.add_toxic("mysql_master", "latency", stream="downstream")
    api.add_toxic("mysql_master", "latency", stream="upstream")
    # Listed upstream chain first, then downstream (toxic_collection.go GetToxicArray).
    assert [t.name for t in api.toxics("mysql_master")] == [
        "latency_upstream",
        "latency_downstream",
    ]


def test_add_toxic_with_toxicity(api: ToxiproxyClient) -> None:
    """api_test.go TestAddToxicWithToxicity."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    toxic = api.add_toxic("mysql_master", "latency", {"latency": 100, "jitter": 10}, toxicity=0.2)
    assert toxic.toxicity == pytest.approx(0.2)
    assert api.toxic("mysql_master", "latency_downstream").toxicity == pytest.approx(0.2)


def test_add_noop(api: ToxiproxyClient, http: httpx.Client) -> None:
    """api_test.go TestAddNoop: stream defaults to downstream."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    response = http.post("/proxies/mysql_master/toxics", json={"name": "foobar", "type": "noop"})
    assert response.status_code == 200
    payload = response.json()
    assert (payload["name"], payload["type"], payload["stream"], payload["toxicity"]) == (
        "foobar",
        "noop",
        "downstream",
        1,
    )
    assert payload["attributes"] == {}


def test_update_toxics(api: ToxiproxyClient) -> None:
    """api_test.go TestUpdateToxics: partial updates keep the other attributes."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    api.add_toxic("mysql_master", "latency", {"latency": 100, "jitter": 10})
    toxic = api.update_toxic("mysql_master", "latency_downstream", {"latency": 1000}, toxicity=0.5)
    assert (toxic.toxicity, toxic.attributes) == (0.5, {"latency": 1000, "jitter": 10})
    toxic = api.update_toxic("mysql_master", "latency_downstream", {"latency": 500})
    assert (toxic.toxicity, toxic.attributes) == (0.5, {"latency": 500, "jitter": 10})
    assert api.toxic("mysql_master", "latency_downstream") == toxic


def test_update_toxic_with_deprecated_post(api: ToxiproxyClient, http: httpx.Client) -> None:
    """api.go routes POST like PATCH on a toxic (deprecated)."""
    api.create_proxy("p", UNUSED_UPSTREAM)
    api.add_toxic("p", "latency", {"latency": 100})
    response = http.post("/proxies/p/toxics/latency_downstream", json={"attributes": {"jitter": 5}})
    assert response.status_code == 200
    assert response.json()["attributes"] == {"latency": 100, "jitter": 5}


def test_remove_toxic(api: ToxiproxyClient, http: httpx.Client) -> None:
    """api_test.go TestRemoveToxic."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    api.add_toxic("mysql_master", "latency")
    response = http.delete("/proxies/mysql_master/toxics/latency_downstream")
    assert (response.status_code, response.content) == (204, b"")
    assert api.toxics("mysql_master") == []
    with pytest.raises(NotFound) as info:
        api.remove_toxic("mysql_master", "latency_downstream")
    assert info.value.message == "toxic not found"


def test_invalid_stream(api: ToxiproxyClient, http: httpx.Client) -> None:
    """api_test.go TestInvalidStream."""
    api.create_proxy("mysql_master", UNUSED_UPSTREAM)
    body = {"type": "latency", "stream": "walrustream"}
    response = http.post("/proxies/mysql_master/toxics", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "error": "stream was invalid, can be either upstream or downstream",
        "status": 400,
    }
