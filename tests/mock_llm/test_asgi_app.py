"""The mock as an ASGI app, in-process through pytest_aistack.asgi (same Engine as the CLI)."""

from __future__ import annotations

import httpx
import pytest

from pytest_aistack.asgi import asgi_lifespan_client, collect_openai_stream
from pytest_aistack.metrics.record import Outcome
from pytest_aistack.mock_llm import MockConfig, StreamCutError, TimingProfile, create_app

CONFIG = MockConfig(name="asgi-a", models=("qwen",), timing=TimingProfile(ttft_ms=2, itl_ms=1))
STREAM = {
    "model": "qwen",
    "messages": [{"role": "user", "content": "a b"}],
    "stream": True,
    "stream_options": {"include_usage": True},
}


@pytest.mark.asyncio
async def test_stream_through_the_asgi_app() -> None:
    app = create_app(CONFIG)
    async with asgi_lifespan_client(app) as client:
        stream = await collect_openai_stream(
            client, "/v1/chat/completions", json=STREAM, headers={"x-request-id": "in-proc"}
        )
    assert stream.status_code == 200
    # The one stream judge: what a load run against the same app would record.
    assert stream.outcome is Outcome.OK
    assert stream.succeeded
    assert stream.record is not None
    assert stream.record.usage_output_tokens == 16
    assert len(stream.record.content_ns) == 16
    assert stream.done
    assert stream.content == " ".join(f"tok{i}" for i in range(16))
    assert len(stream.content_events) == 16
    assert stream.finish_reason == "stop"
    assert stream.usage == {"prompt_tokens": 2, "completion_tokens": 16, "total_tokens": 18}
    record = app.engine.stats_json()["requests"]["in-proc"]
    assert (record["backend"], record["outcome"], record["tokens_sent"]) == (
        "asgi-a",
        "completed",
        16,
    )


@pytest.mark.asyncio
async def test_inband_error_and_malformed_events_are_classified() -> None:
    async with asgi_lifespan_client(create_app(CONFIG)) as client:
        errored = await collect_openai_stream(
            client,
            "/v1/chat/completions",
            json=STREAM,
            headers={"x-mock-fault": "inband_error,at=3"},
        )
        malformed = await collect_openai_stream(
            client, "/v1/chat/completions", json=STREAM, headers={"x-mock-fault": "malformed,at=1"}
        )
    assert (errored.outcome, malformed.outcome) == (Outcome.INBAND_ERROR, Outcome.MALFORMED)
    assert not errored.succeeded
    assert not errored.done
    assert errored.errors == [{"message": "injected fault: in-band error", "type": "server_error",
                               "param": None, "code": 500}]  # fmt: skip
    assert errored.content == "tok0 tok1 tok2"
    assert malformed.done
    assert len(malformed.malformed) == 1
    assert "tok1" not in malformed.content.split()


@pytest.mark.asyncio
async def test_cut_fails_the_app_and_hang_hits_the_deadline() -> None:
    async with asgi_lifespan_client(create_app(CONFIG), request_timeout=0.3) as client:
        with pytest.raises(StreamCutError):
            await client.post(
                "/v1/chat/completions", json=STREAM, headers={"x-mock-fault": "cut,after=2"}
            )
        with pytest.raises(httpx.ReadTimeout, match="did not finish"):
            await client.post(
                "/v1/chat/completions", json=STREAM, headers={"x-mock-fault": "hang_headers"}
            )
        assert (await client.get("/healthz")).status_code == 200


@pytest.mark.asyncio
async def test_lifespan_starts_the_warmup_clock() -> None:
    config = MockConfig(models=("qwen",), warmup_s=30.0)
    async with asgi_lifespan_client(create_app(config)) as client:
        readyz = await client.get("/readyz")
        assert (readyz.status_code, readyz.json()) == (503, {"status": "loading"})
        refused = await client.post("/v1/chat/completions", json=STREAM)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"


@pytest.mark.asyncio
async def test_admin_api_in_process() -> None:
    app = create_app(MockConfig(models=("qwen",), admin_token="t0ken"))
    auth = {"authorization": "Bearer t0ken"}
    async with asgi_lifespan_client(app) as client:
        assert (await client.get("/admin/stats")).status_code == 401
        added = await client.post(
            "/admin/faults", json={"fault": "status,code=502", "count": 1}, headers=auth
        )
        assert added.status_code == 200
        refused = await collect_openai_stream(client, "/v1/chat/completions", json=STREAM)
        assert (refused.status_code, refused.outcome, refused.events) == (
            502,
            Outcome.HTTP_ERROR,
            [],
        )
        assert (await client.post("/v1/chat/completions", json=STREAM)).status_code == 200
        stats = (await client.get("/admin/stats", headers=auth)).json()
    assert stats["endpoints"]["POST /v1/chat/completions"]["by_status"] == {"200": 1, "502": 1}
