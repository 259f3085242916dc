"""Describe a running local stack as an external one: a filled-in profile plus two secrets.

``aistack up`` and the demo use this so that any other process (pytest with
``--aistack-backend external``, Locust) can drive the stack they started.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from pytest_aistack.stack.backend import Stack
from pytest_aistack.stack.ground_truth import answers_mock_admin
from pytest_aistack.stack.profile import Profile

ADMIN_TOKEN_ENV = "AISTACK_MOCK_ADMIN_TOKEN"


def write_external_profile(stack: Stack, profile: Profile, dest: Path) -> Path:
    """Copy ``profile`` with the stack's real URLs filled in; secrets are not written."""
    raw: dict[str, Any] = yaml.safe_load(profile.path.read_text()) or {}
    raw.pop("settings", None)  # the caller's settings, not the stack's
    raw.setdefault("gateway", {})["url"] = stack.gateway_url
    if stack.gateway_replica_urls:
        raw["gateway"]["replicas"] = list(stack.gateway_replica_urls)
    raw.setdefault("toxiproxy", {})["url"] = stack.toxiproxy_url or ""
    redis = stack.endpoints.get("redis")
    if redis is not None and isinstance(raw.get("redis"), dict):
        raw["redis"]["url"] = redis.url
    token = stack.admin_token.value if stack.admin_token is not None else None
    for name, backend in (raw.get("backends") or {}).items():
        endpoint = stack.endpoints.get(name)
        # Only a mock LLM has an admin API. A real server (llama.cpp) named admin_url would
        # be asked for /admin/stats and fail; its ground truth is its proxy's ledger.
        if (
            endpoint is not None
            and isinstance(backend, dict)
            and token is not None
            and answers_mock_admin(endpoint.url, token)
        ):
            backend["admin_url"] = endpoint.url
    dest.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Generated for a running stack from {profile.path}; valid while it runs.\n"
    dest.write_text(header + yaml.safe_dump(raw, sort_keys=False))
    return dest


def secrets_env(stack: Stack, profile: Profile) -> dict[str, str]:
    """The environment a client of the stack needs: gateway key, mock admin token."""
    env = {profile.gateway_key_env: stack.gateway_key.value}
    if stack.admin_token is not None:
        env[ADMIN_TOKEN_ENV] = stack.admin_token.value
    return env


def write_secret_file(path: Path, value: str) -> Path:
    """A file only this user can read (for ``export X="$(cat FILE)"``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return path
