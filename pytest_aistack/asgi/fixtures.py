"""pytest fixtures for in-process ASGI testing (see ``pytest_aistack.asgi``).

Override ``asgi_app`` in your conftest.py to return your app; ``asgi_client`` then
runs its lifespan and gives an ``httpx.AsyncClient`` talking to it in-process::

    @pytest.fixture
    def asgi_app():
        from myservice.main import app
        return app

    @pytest.mark.asyncio
    async def test_health(asgi_client):
        assert (await asgi_client.get("/health")).status_code == 200
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

if TYPE_CHECKING:
    import httpx


@pytest.fixture
def asgi_app() -> Any:
    """The ASGI app under test: override this fixture to return yours."""
    raise pytest.UsageError(
        "the asgi_client fixture needs an app: define a fixture named 'asgi_app' in your "
        "conftest.py that returns your ASGI application"
    )


@pytest_asyncio.fixture
async def asgi_client(asgi_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An ``httpx.AsyncClient`` on ``asgi_app``, inside its lifespan (startup/shutdown)."""
    from pytest_aistack.asgi import asgi_lifespan_client

    async with asgi_lifespan_client(asgi_app) as client:
        yield client
