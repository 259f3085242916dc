from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_aistack.llm.replay import ReplayServer


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    server = ReplayServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
