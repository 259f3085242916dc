"""pytest_aistack.asgi: lifespan client, deadline transport, OpenAI SSE parsing, fixtures."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

import pytest_aistack.asgi.client as asgi_module
from pytest_aistack.asgi import (
    OpenAIEvent,
    asgi_lifespan_client,
    collect_openai_stream,
    parse_openai_event,
)
from pytest_aistack.metrics.record import Outcome


class RecordingApp:
    """A minimal ASGI app: records lifespan events, serves a scripted SSE stream."""

    def __init__(self, sse_body: bytes = b"") -> None:
        self.events: list[str] = []
        self.sse_body = sse_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.events.append("startup")
                    await send({"type": "lifespan.startup.complete"})
                else:
                    self.events.append("shutdown")
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == "/never":
            await asyncio.Event().wait()
        content_type = b"text/event-stream" if scope["path"] == "/sse" else b"text/plain"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", content_type)]})  # fmt: skip
        await send({"type": "http.response.body", "body": self.sse_body or b"ok"})


def sse(*data: str) -> bytes:
    return "".join(f"data: {d}\n\n" for d in data).encode()


def chunk(content: str | None = None, finish: str | None = None, **extra: Any) -> str:
    choices = [
        {"index": 0, "delta": {"content": content} if content else {}, "finish_reason": finish}
    ]
    return json.dumps({"choices": choices, **extra})


@pytest.mark.asyncio
async def test_lifespan_runs_around_the_client() -> None:
    app = RecordingApp()
    async with asgi_lifespan_client(app) as client:
        assert app.events == ["startup"]
        assert (await client.get("/")).text == "ok"
    assert app.events == ["startup", "shutdown"]


@pytest.mark.asyncio
async def test_a_response_that_never_finishes_times_out() -> None:
    async with asgi_lifespan_client(RecordingApp(), request_timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout, match=r"GET /never within 0.2 s"):
            await client.get("/never")


@pytest.mark.asyncio
async def test_collect_openai_stream() -> None:
    usage = json.dumps({"choices": [], "usage": {"completion_tokens": 2}})
    body = sse(chunk("Hel"), ": not data", chunk("lo"), chunk(finish="stop"), usage, "[DONE]")
    async with asgi_lifespan_client(RecordingApp(body)) as client:
        stream = await collect_openai_stream(client, "/sse", json={})
    assert stream.content == "Hello"
    # The classifier agrees with the events: a payload that is not JSON fails the stream.
    assert stream.outcome is Outcome.MALFORMED
    assert not stream.succeeded
    assert stream.finish_reason == "stop"
    assert stream.usage == {"completion_tokens": 2}
    assert stream.done
    assert [e.kind for e in stream.events] == [
        "chunk",
        "malformed",
        "chunk",
        "chunk",
        "chunk",
        "done",
    ]


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ("[DONE]", "done"),
        ('{"error": {"message": "x"}}', "error"),
        ("{oops", "malformed"),
        ('{"choices": [{"text": "hi"}]}', "chunk"),
    ],
)
def test_parse_openai_event(data: str, kind: str) -> None:
    from httpx_sse import ServerSentEvent

    event = parse_openai_event(ServerSentEvent(data=data))
    assert event.kind == kind
    if kind == "chunk":
        assert event.content == "hi"  # completions-style "text"


def test_event_without_choices_has_no_content() -> None:
    assert OpenAIEvent("chunk", {"choices": []}, "").content == ""
    assert OpenAIEvent("error", {"message": "x"}, "").finish_reason is None


def test_public_names() -> None:
    public = {name for name in vars(asgi_module) if not name.startswith("_")}
    exported = set(asgi_module.__all__)
    assert exported <= public
    defined_here = {
        name for name in public
        if getattr(getattr(asgi_module, name), "__module__", None) == asgi_module.__name__
    }  # fmt: skip
    assert defined_here == exported


ASYNCIO_INI = """
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
"""


def test_fixtures_with_an_overridden_app(pytester: pytest.Pytester) -> None:
    pytester.makeini(ASYNCIO_INI)
    pytester.makeconftest(
        """
        import pytest

        async def app(scope, receive, send):
            if scope["type"] == "lifespan":
                while (await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                await send({"type": "lifespan.shutdown.complete"})
                return
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        @pytest.fixture
        def asgi_app():
            return app
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        async def test_it(asgi_client):
            assert (await asgi_client.get("/anything")).status_code == 204
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=1)


def test_fixture_without_an_app_explains_itself(pytester: pytest.Pytester) -> None:
    pytester.makeini(ASYNCIO_INI)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        async def test_it(asgi_client):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*define a fixture named 'asgi_app'*"])
