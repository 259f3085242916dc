"""Every endpoint's shape, over real sockets to a real `aistack mock-llm` process."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import httpx
import pytest

from .helpers import CHAT, MockServer

# Read as package data, as an installed pytest-aistack carries them.
GOLDEN = files("pytest_aistack.mock_llm") / "fixtures"


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def assert_shape(actual: Any, expected: Any, where: str = "$") -> None:
    """Every key of ``expected`` is in ``actual`` with the same JSON type (recursively)."""
    if expected is None:
        return  # null in the golden example: any value (or null) is fine
    assert type(actual) is type(expected) or (
        isinstance(expected, float) and isinstance(actual, int | float)
    ), f"{where}: {type(actual).__name__} != {type(expected).__name__}"
    if isinstance(expected, dict):
        for key, value in expected.items():
            assert key in actual, f"{where}: missing key {key!r}"
            assert_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list) and expected and actual:
        assert_shape(actual[0], expected[0], f"{where}[0]")


def sse_data(text: str) -> list[str]:
    return [line[len("data: ") :] for line in text.split("\n") if line.startswith("data: ")]


def test_chat_completion_non_stream(client: httpx.Client) -> None:
    response = client.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 200
    body = response.json()
    assert_shape(body, golden("openai_chat_completion.json"))
    assert body["choices"][0]["message"]["content"] == " ".join(f"tok{i}" for i in range(8))
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 8, "total_tokens": 11}
    assert response.headers["x-mock-backend"] == "vllm-a"


def test_chat_stream_matches_golden_and_counts(client: httpx.Client) -> None:
    payload = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    response = client.post("/v1/chat/completions", json=payload)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["transfer-encoding"] == "chunked"
    ours = sse_data(response.text)
    theirs = sse_data((GOLDEN / "openai_chat_stream.txt").read_text(encoding="utf-8"))
    assert ours[-1] == theirs[-1] == "[DONE]"
    chunks = [json.loads(d) for d in ours[:-1]]
    golden_chunks = [json.loads(d) for d in theirs[:-1]]
    assert_shape(chunks[0], golden_chunks[0])  # role chunk
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    for chunk in chunks[1:-2]:
        assert_shape(chunk, golden_chunks[1])
    assert_shape(chunks[-2], golden_chunks[2])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert_shape(chunks[-1], golden_chunks[3])
    assert chunks[-1]["usage"]["completion_tokens"] == 8
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert content == " ".join(f"tok{i}" for i in range(8))


def test_stream_without_include_usage_has_no_usage_chunk(client: httpx.Client) -> None:
    response = client.post("/v1/chat/completions", json={**CHAT, "stream": True})
    chunks = [json.loads(d) for d in sse_data(response.text)[:-1]]
    assert all(c["choices"] for c in chunks)
    assert all("usage" not in c for c in chunks)


@pytest.mark.parametrize(
    ("limit_key", "limit", "expected_tokens", "reason"),
    [
        ("max_tokens", 3, 3, "length"),
        ("max_completion_tokens", 2, 2, "length"),
        ("max_tokens", 50, 8, "stop"),
    ],
)
def test_max_tokens(
    client: httpx.Client, limit_key: str, limit: int, expected_tokens: int, reason: str
) -> None:
    body = client.post("/v1/chat/completions", json={**CHAT, limit_key: limit}).json()
    assert body["usage"]["completion_tokens"] == expected_tokens
    assert body["choices"][0]["finish_reason"] == reason


def test_stop_sequence_ends_before_the_matching_token(client: httpx.Client) -> None:
    body = client.post("/v1/chat/completions", json={**CHAT, "stop": ["tok3"]}).json()
    assert body["choices"][0]["message"]["content"] == "tok0 tok1 tok2"
    assert body["choices"][0]["finish_reason"] == "stop"


def test_unknown_params_are_ignored_like_vllm(client: httpx.Client) -> None:
    extra = {"temperature": 0.2, "top_k": 3, "repetition_penalty": 1.1, "foo": {"bar": 1}}
    assert client.post("/v1/chat/completions", json={**CHAT, **extra}).status_code == 200


def test_completions_stream_and_non_stream(client: httpx.Client) -> None:
    payload = {"model": "llama", "prompt": "a b c d", "max_tokens": 4}
    body = client.post("/v1/completions", json=payload).json()
    assert_shape(body, golden("openai_completion.json"))
    assert body["choices"][0]["text"] == "tok0 tok1 tok2 tok3"
    assert body["usage"] == {"prompt_tokens": 4, "completion_tokens": 4, "total_tokens": 8}
    streamed = client.post("/v1/completions", json={**payload, "stream": True}).text
    chunks = [json.loads(d) for d in sse_data(streamed)[:-1]]
    assert "".join(c["choices"][0]["text"] for c in chunks) == "tok0 tok1 tok2 tok3"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert chunks[0]["object"] == "text_completion"


def test_embeddings_are_deterministic_and_validated(client: httpx.Client) -> None:
    payload = {"model": "qwen", "input": ["alpha", "beta", "alpha"]}
    body = client.post("/v1/embeddings", json=payload).json()
    assert_shape(body, golden("openai_embeddings.json"))
    vectors = [d["embedding"] for d in body["data"]]
    assert vectors[0] == vectors[2] != vectors[1]
    assert len(vectors[0]) == 32
    assert abs(sum(v * v for v in vectors[0]) - 1.0) < 1e-9
    again = client.post("/v1/embeddings", json=payload).json()
    assert again["data"][0]["embedding"] == vectors[0]

    too_many = client.post("/v1/embeddings", json={"model": "qwen", "input": ["x"] * 33})
    assert too_many.status_code == 413
    assert "at most 32" in too_many.json()["error"]["message"]
    too_long = client.post("/v1/embeddings", json={"model": "qwen", "input": "x" * 10_001})
    assert too_long.status_code == 400
    assert too_long.json()["error"]["param"] == "input"


def test_embeddings_base64_as_the_openai_client_asks(client: httpx.Client) -> None:
    import base64
    import struct

    plain = client.post("/v1/embeddings", json={"model": "qwen", "input": "z"}).json()
    b64 = client.post(
        "/v1/embeddings", json={"model": "qwen", "input": "z", "encoding_format": "base64"}
    ).json()
    raw = base64.b64decode(b64["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert decoded == pytest.approx(plain["data"][0]["embedding"], rel=1e-6)


def test_models(client: httpx.Client) -> None:
    body = client.get("/v1/models").json()
    assert_shape(body, golden("openai_models.json"))
    assert [m["id"] for m in body["data"]] == ["qwen", "llama"]
    assert {m["owned_by"] for m in body["data"]} == {"vllm-a"}


def test_ollama_chat_stream(client: httpx.Client) -> None:
    payload = {"model": "qwen", "messages": [{"role": "user", "content": "hi you"}]}
    response = client.post("/api/chat", json=payload)  # Ollama streams by default
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.text.splitlines()]
    golden_lines = (GOLDEN / "ollama_chat_stream.ndjson").read_text(encoding="utf-8").splitlines()
    expected = [json.loads(line) for line in golden_lines]
    for line in lines[:-1]:
        assert_shape(line, expected[0])
        assert line["done"] is False
    final = lines[-1]
    assert_shape(final, expected[1])
    assert final["done"] is True
    assert final["eval_count"] == 8
    assert final["prompt_eval_count"] == 2
    assert final["eval_duration"] == 7 * 1_000_000  # 7 gaps of itl 1 ms, in ns
    assert "".join(line["message"]["content"] for line in lines) == " ".join(
        f"tok{i}" for i in range(8)
    )


def test_ollama_generate_non_stream_and_tags(client: httpx.Client) -> None:
    body = client.post(
        "/api/generate",
        json={"model": "qwen", "prompt": "x", "stream": False, "options": {"num_predict": 3}},
    ).json()
    assert_shape(body, golden("ollama_generate.json"))
    assert body["response"] == "tok0 tok1 tok2"
    assert body["done_reason"] == "length"
    tags = client.get("/api/tags").json()
    assert_shape(tags, golden("ollama_tags.json"))
    assert [m["name"] for m in tags["models"]] == ["qwen", "llama"]


def test_health_endpoints(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    assert client.get("/health").json() == {"status": "ok"}


def test_metrics_count_requests_and_tokens(client: httpx.Client) -> None:
    client.post("/v1/chat/completions", json=CHAT)
    text = client.get("/metrics").text
    assert 'mock_llm_requests_total{endpoint="POST /v1/chat/completions",status="200"} 1' in text
    assert "mock_llm_tokens_sent_total 8" in text
    assert "mock_llm_in_flight 0" in text


def test_request_id_is_echoed_and_recorded(client: httpx.Client, mock: MockServer) -> None:
    response = client.post("/v1/chat/completions", json=CHAT, headers={"x-request-id": "r-1"})
    assert response.headers["x-request-id"] == "r-1"
    generated = client.post("/v1/chat/completions", json=CHAT).headers["x-request-id"]
    assert generated.startswith("mock-vllm-a-")
    stats = mock.stats()
    record = stats["requests"]["r-1"]
    assert record["backend"] == "vllm-a"
    assert record["outcome"] == "completed"
    assert record["tokens_sent"] == record["tokens_planned"] == 8
    assert record["received_at"] <= record["first_token_at"] <= record["finished_at"]
    assert generated in stats["requests"]
    assert stats["endpoints"]["POST /v1/chat/completions"] == {"total": 2, "by_status": {"200": 2}}


def test_keep_alive_serves_many_requests_on_one_connection(client: httpx.Client) -> None:
    for _ in range(5):
        assert client.post("/v1/chat/completions", json={**CHAT, "stream": True}).is_success
    assert client.get("/healthz").is_success


def test_request_id_from_the_body_when_no_header(client: httpx.Client, mock: MockServer) -> None:
    response = client.post("/v1/chat/completions", json={**CHAT, "mock_request_id": "via-body"})
    assert response.headers["x-request-id"] == "via-body"
    both = client.post(
        "/v1/chat/completions",
        json={**CHAT, "mock_request_id": "ignored"},
        headers={"x-request-id": "header-wins"},
    )
    assert both.headers["x-request-id"] == "header-wins"
    requests = mock.stats()["requests"]
    assert requests["via-body"]["outcome"] == "completed"
    assert "header-wins" in requests
    assert "ignored" not in requests


def test_stats_filters(client: httpx.Client, mock: MockServer) -> None:
    for rid in ("f1", "f2", "f3"):
        client.post("/v1/chat/completions", json=CHAT, headers={"x-request-id": rid})
    with mock.admin() as admin:
        assert list(admin.get("/admin/stats?request_id=f1&request_id=f3").json()["requests"]) == [
            "f1", "f3",
        ]  # fmt: skip
        assert list(admin.get("/admin/stats?last=2").json()["requests"]) == ["f2", "f3"]
        lean = admin.get("/admin/stats?requests=0").json()
    assert "requests" not in lean
    assert lean["endpoints"]["POST /v1/chat/completions"]["total"] == 3


def test_seeded_draws_depend_only_on_seed_and_request_id(client: httpx.Client) -> None:
    def tokens(request_id: str, seed: int) -> int:
        headers = {
            "x-request-id": request_id,
            "x-mock-profile": f"output_tokens=uniform:1:1000,seed={seed},itl_ms=0,ttft_ms=0",
        }
        body = client.post("/v1/chat/completions", json=CHAT, headers=headers).json()
        count: int = body["usage"]["completion_tokens"]
        return count

    assert tokens("same", 1) == tokens("same", 1)
    assert len({tokens(f"id-{i}", 1) for i in range(6)}) > 1
    assert len({tokens("same", seed) for seed in range(6)}) > 1
