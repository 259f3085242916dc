"""The mock's hardening additions: input limits, the dependency breaker, --disable switches.

In-process through the ASGI app (the same Engine as the CLI); the dependency is a real
TCP server on 127.0.0.1 answering Redis PING, closed to break it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from pytest_aistack.asgi import asgi_lifespan_client
from pytest_aistack.mock_llm import MockConfig, TimingProfile, create_app
from pytest_aistack.mock_llm.dependency import CircuitBreaker

FAST = TimingProfile(ttft_ms=1, itl_ms=1)
HI = {"role": "user", "content": "hi"}
CHAT = {"model": "qwen", "messages": [HI]}


def config(**changes: object) -> MockConfig:
    return MockConfig(name="hard", models=("qwen",), timing=FAST, **changes)  # type: ignore[arg-type]


def test_breaker_opens_half_opens_and_closes_on_a_clock() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, open_s=5.0, clock=lambda: now[0])
    breaker.failure()
    assert breaker.state == "closed"
    breaker.failure()
    assert (breaker.state, breaker.allow()) == ("open", False)
    now[0] = 5.0
    assert breaker.state == "half_open"
    assert breaker.allow() is True  # the one trial call
    assert breaker.allow() is False  # no second one while it runs
    breaker.failure()  # the trial failed: open again, for a full open_s
    assert breaker.state == "open"
    now[0] = 10.0
    assert breaker.allow() is True
    breaker.success()
    assert (breaker.state, breaker.failures_total) == ("closed", 3)


def test_a_zero_threshold_never_opens() -> None:
    breaker = CircuitBreaker(failure_threshold=0, open_s=1.0)
    for _ in range(10):
        breaker.failure()
    assert (breaker.state, breaker.failures_total) == ("closed", 10)


def test_an_unknown_behaviour_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"disabled=nap is not a behaviour; known: liveness"):
        config(disabled=frozenset({"nap"}))


@pytest.mark.asyncio
async def test_chat_limits_answer_400_naming_the_limit() -> None:
    app = create_app(config(max_messages=2, max_tokens_cap=50))
    async with asgi_lifespan_client(app) as client:
        three = await client.post("/v1/chat/completions", json={**CHAT, "messages": [HI] * 3})
        two = await client.post("/v1/chat/completions", json={**CHAT, "messages": [HI] * 2})
        over_cap = await client.post("/v1/chat/completions", json={**CHAT, "max_tokens": 51})
    assert three.status_code == 400
    assert three.json()["error"]["param"] == "messages"
    assert "at most 2 messages" in three.json()["error"]["message"]
    assert two.status_code == 200
    assert over_cap.status_code == 400
    assert "above the cap of 50 tokens" in over_cap.json()["error"]["message"]


@pytest.mark.asyncio
async def test_embeddings_limits_are_settings_and_zero_lifts_them() -> None:
    body = {"model": "qwen", "input": ["a"] * 5}
    async with asgi_lifespan_client(create_app(config(max_embedding_inputs=4))) as client:
        limited = await client.post("/v1/embeddings", json=body)
    async with asgi_lifespan_client(create_app(config(max_embedding_inputs=0))) as client:
        unlimited = await client.post("/v1/embeddings", json={**body, "input": ["a"] * 40})
    assert limited.status_code == 413
    assert "at most 4 are allowed" in limited.json()["error"]["message"]
    assert unlimited.status_code == 200
    assert len(unlimited.json()["data"]) == 40


@pytest.mark.asyncio
async def test_disabled_liveness_and_readiness_lie_during_warmup() -> None:
    app = create_app(config(warmup_s=30, disabled=frozenset({"liveness", "readiness"})))
    async with asgi_lifespan_client(app) as client:
        healthz = await client.get("/healthz")
        readyz = await client.get("/readyz")
        refused = await client.post("/v1/chat/completions", json=CHAT)
    assert (healthz.status_code, readyz.status_code) == (503, 200)
    assert refused.status_code == 503  # still loading: only the probes lie


class PingServer:
    """A TCP server on 127.0.0.1 that answers PING with +PONG, like Redis."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if await reader.readline():
                writer.write(b"+PONG\r\n")
                await writer.drain()
            writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest_asyncio.fixture
async def ping_server() -> AsyncIterator[PingServer]:
    server = PingServer()
    await server.start()
    yield server
    if server.server is not None and server.server.is_serving():
        await server.stop()


async def breaker_view(client: httpx.AsyncClient) -> tuple[str, str]:
    health = (await client.get("/health")).json()["circuit_breakers"]["cache"]["state"]
    metrics = (await client.get("/metrics")).text
    line = next(
        ln for ln in metrics.splitlines() if ln.startswith("mock_llm_circuit_breaker_state")
    )
    return health, line


@pytest.mark.asyncio
async def test_the_dependency_breaker_in_health_and_metrics(ping_server: PingServer) -> None:
    app = create_app(
        config(
            dependency_url=f"redis://127.0.0.1:{ping_server.port}",
            dependency_name="cache",
            breaker_failures=2,
            breaker_open_s=0.3,
        )
    )
    async with asgi_lifespan_client(app) as client:
        for _ in range(100):  # the start probe runs in the background: ready once it answered
            if (await client.get("/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.02)  # ok: polling the app's readiness, bounded above
        assert (await client.post("/v1/chat/completions", json=CHAT)).status_code == 200
        assert await breaker_view(client) == (
            "closed", 'mock_llm_circuit_breaker_state{service="cache"} 0'
        )  # fmt: skip
        port = ping_server.port
        await ping_server.stop()
        failed = [await client.post("/v1/chat/completions", json=CHAT) for _ in range(3)]
        assert [r.status_code for r in failed] == [503, 503, 503]
        assert "dependency cache failed" in failed[0].json()["error"]["message"]
        assert "circuit breaker open" in failed[2].json()["error"]["message"]
        assert await breaker_view(client) == (
            "open", 'mock_llm_circuit_breaker_state{service="cache"} 1'
        )  # fmt: skip
        assert (
            'mock_llm_circuit_breaker_failures_total{service="cache"} 2'
            in (await client.get("/metrics")).text
        )
        await ping_server.start(port)
        await asyncio.sleep(0.35)  # ok: the breaker's open time passing is what is tested
        assert (await breaker_view(client))[0] == "half_open"
        assert (await client.post("/v1/chat/completions", json=CHAT)).status_code == 200
        assert (await breaker_view(client))[0] == "closed"


@pytest.mark.asyncio
async def test_not_ready_while_the_dependency_never_answered() -> None:
    app = create_app(config(dependency_url="redis://127.0.0.1:1", dependency_name="cache"))
    async with asgi_lifespan_client(app) as client:
        readyz = await client.get("/readyz")
        refused = await client.post("/v1/chat/completions", json=CHAT)
        health = await client.get("/health")
    assert readyz.status_code == 503
    assert refused.status_code == 503
    assert "waiting for dependency cache" in refused.json()["error"]["message"]
    assert health.json()["circuit_breakers"] == {"cache": {"state": "closed", "failures": 0}}


@pytest.mark.asyncio
async def test_an_http_dependency_must_answer_2xx() -> None:
    from pytest_aistack.mock_llm.dependency import probe

    statuses = iter([b"200 OK", b"503 Service Unavailable"])

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 " + next(statuses) + b"\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/healthz"
    try:
        assert await probe(url, 2.0) is None
        assert await probe(url, 2.0) == "GET /healthz answered b'HTTP/1.1 503 Service Unavailable'"
    finally:
        server.close()
        await server.wait_closed()
    refused = await probe(url, 2.0)
    assert refused is not None
    assert refused.startswith("ConnectionRefusedError")
