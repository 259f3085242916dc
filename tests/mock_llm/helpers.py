"""Shared helpers of the mock-llm tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from pytest_aistack.process import ManagedProcess

CHAT = {"model": "qwen", "messages": [{"role": "user", "content": "one two three"}]}


@dataclass
class MockServer:
    process: ManagedProcess
    url: str
    admin_token: str
    name: str

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"authorization": f"Bearer {self.admin_token}"},
            timeout=5.0,
        )

    def stats(self) -> dict[str, Any]:
        with self.admin() as client:
            response = client.get("/admin/stats")
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data

    def reset(self) -> None:
        with self.admin() as client:
            client.post("/admin/reset").raise_for_status()
