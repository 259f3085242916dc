"""Every fault mode, per request (x-mock-fault) and via the admin API, over real sockets."""

from __future__ import annotations

import json

import httpx
import pytest

from pytest_aistack.mock_llm.scheduler import EARLY_S, SLOTS_PER_S
from pytest_aistack.runtime.waiting import wait_until

from .helpers import CHAT, MockServer, raw_request

STREAM = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}


def outcome_of(mock: MockServer, request_id: str) -> dict[str, object]:
    """The server's record once the request has ended (polled: the end is asynchronous)."""

    def ended() -> dict[str, object] | None:
        record = mock.stats()["requests"].get(request_id)
        return record if record and record["outcome"] != "in_progress" else None

    return wait_until(ended, timeout=5.0, what=f"request {request_id} to end")


@pytest.mark.parametrize("code", [400, 401, 404, 408, 429, 500, 502, 503, 504])
def test_status_faults(client: httpx.Client, mock: MockServer, code: int) -> None:
    headers = {"x-mock-fault": f"status,code={code},retry_after=2", "x-request-id": f"s{code}"}
    response = client.post("/v1/chat/completions", json=CHAT, headers=headers)
    assert response.status_code == code
    assert response.headers["retry-after"] == "2"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "injected" in error["message"]
    record = mock.stats()["requests"][f"s{code}"]
    assert (record["status"], record["outcome"]) == (code, "http_error")


def test_status_fault_without_retry_after(client: httpx.Client) -> None:
    response = client.post(
        "/v1/chat/completions", json=CHAT, headers={"x-mock-fault": "status,code=500"}
    )
    assert response.status_code == 500
    assert "retry-after" not in response.headers


def test_hang_headers_sends_nothing(mock: MockServer) -> None:
    response = raw_request(
        mock.url, "/v1/chat/completions", STREAM,
        {"x-mock-fault": "hang_headers", "x-request-id": "hang-h"}, read_for_s=0.6,
    )  # fmt: skip
    assert response.timed_out
    assert response.status == 0
    assert outcome_of(mock, "hang-h")["outcome"] == "client_disconnected"


def test_slow_headers_delay_the_status_line(mock: MockServer) -> None:
    response = raw_request(
        mock.url, "/v1/chat/completions", STREAM, {"x-mock-fault": "slow_headers,seconds=0.4"}
    )
    assert response.status == 200
    assert response.complete
    assert response.headers_after_s >= 0.4


def test_hang_first_token_for_a_while(mock: MockServer) -> None:
    response = raw_request(
        mock.url, "/v1/chat/completions", STREAM,
        {"x-mock-fault": "hang_first_token,seconds=0.4"},
    )  # fmt: skip
    assert response.complete
    assert response.headers_after_s < 0.3
    assert response.content_times()[0] >= 0.4
    assert response.data_lines()[-1] == "[DONE]"


def test_hang_first_token_forever(mock: MockServer) -> None:
    response = raw_request(
        mock.url, "/v1/chat/completions", STREAM,
        {"x-mock-fault": "hang_first_token", "x-request-id": "hang-t"}, read_for_s=0.6,
    )  # fmt: skip
    assert response.status == 200
    assert response.timed_out
    assert response.content_times() == []
    assert outcome_of(mock, "hang-t")["outcome"] == "client_disconnected"


STALL_S = 0.5


def test_stall_with_pings_then_resume(mock: MockServer) -> None:
    response = raw_request(
        mock.url, "/v1/chat/completions", STREAM,
        {"x-mock-fault": f"stall,after=3,seconds={STALL_S},ping=0.1", "x-request-id": "stall"},
    )  # fmt: skip
    assert response.complete
    times = response.content_times()
    assert len(times) == 8
    # The resumed token cannot arrive before the stall has passed since the request was
    # sent (the scheduler writes a step at most EARLY_S + one slot early). Not the gap
    # between the two arrivals: a client descheduled when token 3 arrives reads it late
    # and shortens that gap, so it fails on a loaded machine while the mock is right.
    assert times[3] >= STALL_S - EARLY_S - 1 / SLOTS_PER_S
    pings = [t for t, payload in response.chunks if payload == b": ping\n\n"]
    assert 3 <= len(pings) <= 5
    assert all(times[2] <= t <= times[3] for t in pings)
    assert outcome_of(mock, "stall")["outcome"] == "completed"


def test_stall_forever(mock: MockServer) -> None:
    response = raw_request(
        mock.url, "/v1/chat/completions", STREAM, {"x-mock-fault": "stall,after=2"}, read_for_s=0.6
    )
    assert response.timed_out
    assert len(response.content_times()) == 2


def test_cut_closes_the_connection_mid_stream(client: httpx.Client, mock: MockServer) -> None:
    response = raw_request(
        mock.url,
        "/v1/chat/completions",
        STREAM,
        {"x-mock-fault": "cut,after=3", "x-request-id": "cut"},
    )
    assert response.closed
    assert not response.complete
    assert len(response.content_times()) == 3
    record = outcome_of(mock, "cut")
    assert (record["outcome"], record["tokens_sent"]) == ("cut", 3)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1/chat/completions", json=STREAM, headers={"x-mock-fault": "cut,after=3"})


def test_truncate_ends_cleanly_without_finish_or_done(mock: MockServer) -> None:
    response = raw_request(
        mock.url, "/v1/chat/completions", STREAM,
        {"x-mock-fault": "truncate,after=4", "x-request-id": "trunc"},
    )  # fmt: skip
    assert response.complete
    lines = response.data_lines()
    assert "[DONE]" not in lines
    chunks = [json.loads(line) for line in lines]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == (
        "tok0 tok1 tok2 tok3"
    )
    assert outcome_of(mock, "trunc")["outcome"] == "truncated"


def test_malformed_chunk_then_the_stream_continues(mock: MockServer) -> None:
    response = raw_request(
        mock.url, "/v1/chat/completions", STREAM,
        {"x-mock-fault": "malformed,at=2", "x-request-id": "bad"},
    )  # fmt: skip
    assert response.complete
    lines = response.data_lines()
    bad = []
    for line in lines[:-1]:
        try:
            json.loads(line)
        except json.JSONDecodeError:
            bad.append(line)
    assert len(bad) == 1
    assert lines[-1] == "[DONE]"
    assert "tok2" not in response.body.decode()
    record = outcome_of(mock, "bad")
    assert (record["outcome"], record["tokens_sent"]) == ("malformed", 7)


def test_inband_error_event_ends_the_stream(mock: MockServer) -> None:
    response = raw_request(
        mock.url, "/v1/chat/completions", STREAM,
        {"x-mock-fault": "inband_error,at=2,message=overloaded", "x-request-id": "inband"},
    )  # fmt: skip
    assert response.complete
    lines = response.data_lines()
    assert json.loads(lines[-1]) == {
        "error": {"message": "overloaded", "type": "server_error", "param": None, "code": 500}
    }
    assert len(response.content_times()) == 2
    assert outcome_of(mock, "inband")["outcome"] == "inband_error"


def test_cut_after_all_tokens_drops_only_the_end(mock: MockServer) -> None:
    response = raw_request(
        mock.url, "/v1/chat/completions", STREAM, {"x-mock-fault": "cut,after=8"}
    )
    assert response.closed
    assert len(response.content_times()) == 8
    assert "[DONE]" not in response.data_lines()


def test_non_stream_faults(client: httpx.Client, mock: MockServer) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1/chat/completions", json=CHAT, headers={"x-mock-fault": "cut,after=1"})
    truncated = client.post(
        "/v1/chat/completions", json=CHAT, headers={"x-mock-fault": "truncate,after=1"}
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(truncated.content)
    inband = client.post(
        "/v1/chat/completions", json=CHAT, headers={"x-mock-fault": "inband_error,at=1"}
    )
    assert inband.status_code == 200
    assert inband.json()["error"]["type"] == "server_error"


def test_ollama_stream_cut(mock: MockServer) -> None:
    body = {"model": "qwen", "messages": [{"role": "user", "content": "x"}]}
    response = raw_request(mock.url, "/api/chat", body, {"x-mock-fault": "cut,after=2"})
    assert response.closed
    lines = response.body.decode().splitlines()
    assert [json.loads(line)["message"]["content"] for line in lines] == ["tok0", " tok1"]


def test_fault_in_the_body_field(client: httpx.Client) -> None:
    response = client.post("/v1/chat/completions", json={**CHAT, "mock_fault": "status,code=502"})
    assert response.status_code == 502


@pytest.mark.parametrize(
    ("header", "names"),
    [
        ("explode", "unknown mode 'explode'"),
        ("status,code=418", "418"),
        ("cut", "cut needs after"),
        ("stall,after=x", "after='x'"),
        ("cut,after=1,bogus=2", "does not take 'bogus'"),
    ],
)
def test_bad_fault_header_is_a_400_naming_it(client: httpx.Client, header: str, names: str) -> None:
    response = client.post("/v1/chat/completions", json=CHAT, headers={"x-mock-fault": header})
    assert response.status_code == 400
    assert names in response.json()["error"]["message"]
    assert response.json()["error"]["param"] == "x-mock-fault"


# --- admin faults ---------------------------------------------------------------------


def post_fault(mock: MockServer, body: dict[str, object]) -> httpx.Response:
    with mock.admin() as admin:
        return admin.post("/admin/faults", json=body)


def test_admin_fault_next_n(client: httpx.Client, mock: MockServer) -> None:
    created = post_fault(mock, {"fault": "status,code=500", "count": 2})
    assert created.status_code == 200
    assert created.json() == {
        "id": created.json()["id"], "fault": "status,code=500", "remaining": 2,
        "probability": None, "endpoints": None,
    }  # fmt: skip
    codes = [client.post("/v1/chat/completions", json=CHAT).status_code for _ in range(4)]
    assert codes == [500, 500, 200, 200]
    assert mock.stats()["faults"] == []


def test_admin_fault_until_reset(client: httpx.Client, mock: MockServer) -> None:
    post_fault(mock, {"fault": "status,code=503,retry_after=1"})
    assert [client.post("/v1/completions", json={"model": "qwen", "prompt": "x"}).status_code
            for _ in range(3)] == [503, 503, 503]  # fmt: skip
    assert client.get("/healthz").status_code == 200  # faults never touch health
    mock.reset()
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200


def test_admin_fault_probability(client: httpx.Client, mock: MockServer) -> None:
    post_fault(mock, {"fault": "status,code=500", "probability": 0.5, "seed": 3})
    codes = [client.post("/v1/chat/completions", json=CHAT).status_code for _ in range(40)]
    assert set(codes) == {200, 500}
    assert 8 <= codes.count(500) <= 32
    mock.reset()
    post_fault(mock, {"fault": "status,code=500", "probability": 0.0})
    assert {client.post("/v1/chat/completions", json=CHAT).status_code for _ in range(5)} == {200}


def test_admin_fault_endpoint_filter_and_header_precedence(
    client: httpx.Client, mock: MockServer
) -> None:
    post_fault(mock, {"fault": "status,code=504", "endpoints": ["/v1/completions"]})
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
    assert client.post("/v1/completions", json={"model": "qwen", "prompt": "x"}).status_code == 504
    header = {"x-mock-fault": "status,code=429"}
    completion = {"model": "qwen", "prompt": "x"}
    assert client.post("/v1/completions", json=completion, headers=header).status_code == 429


def test_admin_stream_fault_applies_to_streams(mock: MockServer) -> None:
    post_fault(mock, {"fault": "cut,after=1", "count": 1})
    first = raw_request(mock.url, "/v1/chat/completions", STREAM)
    second = raw_request(mock.url, "/v1/chat/completions", STREAM)
    assert (first.closed, first.complete) == (True, False)
    assert second.complete


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"fault": "status,code=500", "count": 0}, "count=0"),
        ({"fault": "status,code=500", "probability": 2}, "probability=2"),
        ({"fault": "nope"}, "unknown mode"),
        ({"count": 1}, "'fault' must be a string"),
        ({"fault": "cut,after=1", "when": "now"}, "unknown key(s) ['when']"),
    ],
)
def test_admin_fault_validation(mock: MockServer, body: dict[str, object], names: str) -> None:
    response = post_fault(mock, body)
    assert response.status_code == 400
    assert names in response.json()["error"]["message"]


def test_admin_needs_the_token(mock: MockServer) -> None:
    with httpx.Client(base_url=mock.url, timeout=5.0) as anonymous:
        for method, path in [("GET", "/admin/stats"), ("POST", "/admin/faults"),
                             ("POST", "/admin/reset")]:  # fmt: skip
            response = anonymous.request(method, path, json={"fault": "status,code=500"})
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "invalid_admin_token"
        wrong = anonymous.get("/admin/stats", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
    assert mock.stats()["faults"] == []  # the unauthenticated POST did nothing
