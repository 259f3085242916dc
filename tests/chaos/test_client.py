"""The typed client: exported names, error mapping, deadlines, the async variant."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from pytest_aistack.chaos import client as client_module
from pytest_aistack.chaos.client import (
    AsyncToxiproxyClient,
    BadRequest,
    NotFound,
    ProxySpec,
    ToxiproxyApiError,
    ToxiproxyClient,
    ToxiproxyError,
    ToxiproxyUnavailable,
)


def test_all_lists_the_public_names() -> None:
    public = {
        name
        for name, value in vars(client_module).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("pytest_aistack.chaos")
    }
    assert set(client_module.__all__) >= public
    assert all(hasattr(client_module, name) for name in client_module.__all__)


def test_error_answers_map_to_exceptions(api: ToxiproxyClient) -> None:
    with pytest.raises(BadRequest) as bad:
        api.create_proxy("", "x:1")
    assert isinstance(bad.value, ToxiproxyApiError)
    assert str(bad.value) == "POST /proxies: HTTP 400: missing required field: name"
    with pytest.raises(NotFound):
        api.proxy("missing")


def test_names_are_quoted_in_paths(api: ToxiproxyClient) -> None:
    api.create_proxy("with space", "127.0.0.1:1")
    api.add_toxic("with space", "latency", name="tox ic")
    assert api.toxic("with space", "tox ic").name == "tox ic"
    api.remove_toxic("with space", "tox ic")
    api.delete_proxy("with space")


def test_refused_connection_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with ToxiproxyClient(url, timeout=2) as client, pytest.raises(ToxiproxyUnavailable):
            client.version()


def test_every_call_has_a_deadline() -> None:
    """A server that accepts and never answers: the call fails after ``timeout``."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        held: list[socket.socket] = []
        accepter = threading.Thread(target=lambda: held.append(server.accept()[0]), daemon=True)
        accepter.start()
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        start = time.monotonic()
        with ToxiproxyClient(url, timeout=0.3) as client, pytest.raises(ToxiproxyError):
            client.proxies()
        assert time.monotonic() - start < 3
        accepter.join(timeout=2)
        for conn in held:
            conn.close()


@pytest.mark.asyncio
async def test_async_client(toxiproxy_url: str) -> None:
    async with AsyncToxiproxyClient(toxiproxy_url) as client:
        (created,) = await client.populate([ProxySpec("async", "127.0.0.1:1")])
        assert (await client.proxy("async")).listen == created.listen
        toxic = await client.add_toxic("async", "timeout", {"timeout": 5}, stream="upstream")
        assert toxic.name == "timeout_upstream"
        updated = await client.update_toxic("async", toxic.name, {"timeout": 7})
        assert updated.attributes == {"timeout": 7}
        assert [t.name for t in await client.toxics("async")] == ["timeout_upstream"]
        assert (await client.disable("async")).enabled is False
        await client.reset()
        assert (await client.proxy("async")).enabled is True
        assert await client.version()
        assert "toxiproxy_proxy" in await client.metrics() or await client.metrics() == ""
        await client.delete_proxy("async")
        with pytest.raises(NotFound):
            await client.delete_proxy("async")


@pytest.mark.asyncio
async def test_async_client_sees_what_the_sync_one_does(
    api: ToxiproxyClient, toxiproxy_url: str
) -> None:
    async with AsyncToxiproxyClient(toxiproxy_url) as client:
        created = await client.create_proxy("twin", "127.0.0.1:1", enabled=False)
        assert created == api.proxy("twin")
        assert (await client.enable("twin")).enabled is True
        moved = await client.update_proxy("twin", upstream="127.0.0.1:2")
        assert moved == api.proxy("twin")
        assert moved.upstream == "127.0.0.1:2"
        toxic = await client.add_toxic("twin", "latency", {"latency": 5}, name="slow", toxicity=0.5)
        assert toxic == api.toxic("twin", "slow") == await client.toxic("twin", "slow")
        assert (toxic.toxicity, toxic.attributes["latency"]) == (0.5, 5)
        assert await client.proxies() == api.proxies()
        await client.remove_toxic("twin", "slow")
        assert api.toxics("twin") == []


@pytest.mark.asyncio
async def test_both_clients_name_the_call_they_could_not_make() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        expected = rf"^GET {url}/version: ConnectError: "
        with (
            ToxiproxyClient(url, timeout=2) as client,
            pytest.raises(ToxiproxyUnavailable, match=expected),
        ):
            client.version()
        async with AsyncToxiproxyClient(url, timeout=2) as async_client:
            with pytest.raises(ToxiproxyUnavailable, match=expected):
                await async_client.version()
