from __future__ import annotations

import pytest

from pytest_aistack.llm import auth_headers, build_body, endpoint_path


def test_chat_body_with_usage_and_extra() -> None:
    body = build_body("chat", "hi", model="m", max_tokens=8, extra={"temperature": 0})
    assert body == {
        "model": "m",
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 8,
        "stream_options": {"include_usage": True},
        "temperature": 0,
    }
    assert "stream_options" not in build_body("chat", "hi", model="m", stream=False)


def test_completions_body_joins_messages() -> None:
    messages = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi"}]
    assert build_body("completions", messages, model="m")["prompt"] == "Be terse.\nhi"
    assert build_body("completions", "hi", model="m")["prompt"] == "hi"


def test_paths_and_auth() -> None:
    assert endpoint_path("", "chat") == "/v1/chat/completions"
    assert endpoint_path("/v1", "completions") == "/v1/completions"
    assert endpoint_path("/proxy/", "chat") == "/proxy/v1/chat/completions"
    with pytest.raises(ValueError, match="unknown request kind 'embeddings'"):
        endpoint_path("", "embeddings")  # type: ignore[arg-type]
    assert auth_headers("k") == {"Authorization": "Bearer k"}
    assert auth_headers(None) == {}
