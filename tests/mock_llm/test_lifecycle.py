"""Capacity (queue, 429, shedding), warm-up and SIGTERM drain, on real subprocesses."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx

from pytest_aistack.runtime.waiting import wait_until

from .conftest import MockFactory
from .helpers import CHAT, RawResponse, raw_request

STREAM = {**CHAT, "stream": True}
MODEL = ("--model", "qwen")


def stream_in_background(
    url: str, profile: str, read_for_s: float = 15.0
) -> tuple[threading.Thread, list[RawResponse]]:
    result: list[RawResponse] = []

    def run() -> None:
        result.append(
            raw_request(
                url,
                "/v1/chat/completions",
                STREAM,
                {"x-mock-profile": profile},
                read_for_s=read_for_s,
            )
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def in_flight(url: str) -> int:
    text = httpx.get(url + "/metrics", timeout=5.0).text
    line = next(ln for ln in text.splitlines() if ln.startswith("mock_llm_in_flight "))
    return int(line.split()[1])


def test_queue_timeout_is_429_and_full_queue_sheds_503(start_mock: MockFactory) -> None:
    mock = start_mock(*MODEL, "--max-concurrency", "1", "--queue-depth", "1",
                      "--queue-timeout-s", "0.5", "--retry-after-s", "3")  # fmt: skip
    thread, _ = stream_in_background(mock.url, "ttft_ms=0,itl_ms=100,output_tokens=20")
    wait_until(
        lambda: in_flight(mock.url) == 1, timeout=5.0, what="the first stream to be admitted"
    )
    queued: list[httpx.Response] = []
    waiter = threading.Thread(
        target=lambda: queued.append(
            httpx.post(mock.url + "/v1/chat/completions", json=CHAT, timeout=5.0)
        )
    )
    started = time.monotonic()
    waiter.start()
    wait_until(
        lambda: "mock_llm_queued 1" in httpx.get(mock.url + "/metrics").text,
        timeout=5.0,
        what="a queued request",
    )
    shed = httpx.post(mock.url + "/v1/chat/completions", json=CHAT, timeout=5.0)
    assert shed.status_code == 503
    assert shed.headers["retry-after"] == "3"
    assert shed.json()["error"]["code"] == "shed"
    assert httpx.get(mock.url + "/healthz").status_code == 200  # health is never queued
    waiter.join(timeout=5.0)
    assert queued[0].status_code == 429
    assert queued[0].headers["retry-after"] == "3"
    assert time.monotonic() - started >= 0.5
    stats = mock.stats()
    assert stats["rejected"]["queue_timeout"] == 1
    assert stats["rejected"]["shed"] == 1
    thread.join(timeout=10.0)


def test_queued_request_runs_when_a_slot_frees(start_mock: MockFactory) -> None:
    mock = start_mock(*MODEL, "--max-concurrency", "1", "--queue-timeout-s", "5")
    thread, first = stream_in_background(mock.url, "ttft_ms=0,itl_ms=50,output_tokens=6")
    wait_until(
        lambda: in_flight(mock.url) == 1, timeout=5.0, what="the first stream to be admitted"
    )
    second = httpx.post(mock.url + "/v1/chat/completions", json=CHAT, timeout=10.0)
    assert second.status_code == 200
    thread.join(timeout=10.0)
    assert first[0].complete


def test_warmup_then_ready(start_mock: MockFactory) -> None:
    mock = start_mock(*MODEL, "--warmup-s", "1.5")
    with httpx.Client(base_url=mock.url, timeout=5.0) as client:
        assert client.get("/healthz").status_code == 200
        readyz = client.get("/readyz")
        assert (readyz.status_code, readyz.json()) == (503, {"status": "loading"})
        assert client.get("/health").status_code == 503
        generation = client.post("/v1/chat/completions", json=CHAT)
        assert generation.status_code == 503
        assert "retry-after" in generation.headers
        wait_until(lambda: client.get("/readyz").status_code == 200, timeout=10.0, what="readiness")
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        assert mock.stats()["rejected"]["loading"] == 1


def test_sigterm_drains_in_flight_streams_then_exits_0(start_mock: MockFactory) -> None:
    mock = start_mock(*MODEL, "--drain-timeout-s", "10")
    thread, streamed = stream_in_background(mock.url, "ttft_ms=0,itl_ms=50,output_tokens=20")
    wait_until(lambda: in_flight(mock.url) == 1, timeout=5.0, what="the stream to start")
    assert mock.process.pid is not None
    os.kill(mock.process.pid, signal.SIGTERM)
    with httpx.Client(base_url=mock.url, timeout=5.0) as client:
        readyz = client.get("/readyz")
        assert (readyz.status_code, readyz.json()) == (503, {"status": "draining"})
        refused = client.post("/v1/chat/completions", json=CHAT)
        assert refused.status_code == 503
        assert client.get("/healthz").status_code == 200
    thread.join(timeout=10.0)
    assert streamed[0].complete
    assert streamed[0].data_lines()[-1] == "[DONE]"
    assert len(streamed[0].content_times()) == 20
    assert mock.process.wait_exit(timeout=5.0) == 0


def test_drain_deadline_cuts_the_rest(start_mock: MockFactory) -> None:
    mock = start_mock(*MODEL, "--drain-timeout-s", "0.5")
    thread, streamed = stream_in_background(mock.url, "ttft_ms=0,itl_ms=100,output_tokens=100")
    wait_until(lambda: in_flight(mock.url) == 1, timeout=5.0, what="the stream to start")
    assert mock.process.pid is not None
    signalled = time.monotonic()
    os.kill(mock.process.pid, signal.SIGTERM)
    thread.join(timeout=10.0)
    assert streamed[0].closed
    assert not streamed[0].complete
    assert mock.process.wait_exit(timeout=5.0) == 0
    assert 0.4 <= time.monotonic() - signalled < 5.0


def test_second_sigterm_cuts_at_once(start_mock: MockFactory) -> None:
    mock = start_mock(*MODEL, "--drain-timeout-s", "60")
    thread, streamed = stream_in_background(mock.url, "ttft_ms=0,itl_ms=100,output_tokens=100")
    wait_until(lambda: in_flight(mock.url) == 1, timeout=5.0, what="the stream to start")
    assert mock.process.pid is not None
    os.kill(mock.process.pid, signal.SIGTERM)
    wait_until(
        lambda: httpx.get(mock.url + "/readyz").status_code == 503, timeout=5.0, what="draining"
    )
    os.kill(mock.process.pid, signal.SIGTERM)
    assert mock.process.wait_exit(timeout=5.0) == 0
    thread.join(timeout=10.0)
    assert not streamed[0].complete
