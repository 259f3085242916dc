from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_aistack.runtime.process import ManagedProcess

REPO = Path(__file__).resolve().parents[2]
LOCUSTFILES = REPO / "locustfiles"
TEST_LOCUSTFILES = Path(__file__).resolve().parent / "locustfiles"

MOCK_TTFT_MS = 50.0
MOCK_ITL_MS = 10.0
MOCK_TOKENS = 16


@pytest.fixture(scope="module")
def mock_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real mock LLM server (aistack mock-llm) with known timing, in a subprocess."""
    log = tmp_path_factory.mktemp("mock") / "mock.log"
    process = ManagedProcess(
        "mock-llm",
        [
            sys.executable,
            "-m",
            "pytest_aistack.cli",
            "mock-llm",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--model",
            "mock-model",
            "--ttft-ms",
            str(MOCK_TTFT_MS),
            "--itl-ms",
            str(MOCK_ITL_MS),
            "--output-tokens",
            str(MOCK_TOKENS),
        ],
        log_path=log,
    )
    with process:
        ready = process.wait_ready(timeout=30)
        yield str(ready["url"])
