"""Real mock-llm server processes for the tests (started with ManagedProcess)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from pytest_aistack.runtime.process import ManagedProcess

from .helpers import MockServer

START_DEADLINE_S = 20.0


MockFactory = Callable[..., MockServer]


@pytest.fixture
def start_mock(tmp_path: Path) -> Iterator[MockFactory]:
    """Start `aistack mock-llm` subprocesses; every one is stopped at teardown."""
    started: list[ManagedProcess] = []

    def start(*args: str, name: str = "vllm-a") -> MockServer:
        argv = [
            sys.executable, "-m", "pytest_aistack.cli", "mock-llm",
            "--host", "127.0.0.1", "--port", "0", "--name", name, *args,
        ]  # fmt: skip
        process = ManagedProcess(name, argv, log_path=tmp_path / f"{name}-{len(started)}.log")
        started.append(process)
        process.start()
        ready = process.wait_ready(START_DEADLINE_S)
        return MockServer(process, ready["url"], ready["admin_token"], ready["name"])

    yield start
    for process in started:
        process.stop(grace=5.0)


@pytest.fixture(scope="module")
def mock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    """One fast server shared by a test module (reset before each test by `mock`)."""
    log = tmp_path_factory.mktemp("mock") / "mock.log"
    argv = [
        sys.executable, "-m", "pytest_aistack.cli", "mock-llm",
        "--host", "127.0.0.1", "--port", "0", "--name", "vllm-a",
        "--model", "qwen", "--model", "llama",
        "--ttft-ms", "5", "--itl-ms", "1", "--output-tokens", "8",
    ]  # fmt: skip
    with ManagedProcess("mock-llm", argv, log_path=log) as process:
        ready = process.wait_ready(START_DEADLINE_S)
        yield MockServer(process, ready["url"], ready["admin_token"], ready["name"])


@pytest.fixture
def mock(mock_server: MockServer) -> MockServer:
    mock_server.reset()
    return mock_server


@pytest.fixture
def client(mock: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mock.url, timeout=10.0) as c:
        yield c
