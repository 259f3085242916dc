from __future__ import annotations

from collections.abc import Iterator

import pytest

from .replay_server import ReplayServer


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    server = ReplayServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
