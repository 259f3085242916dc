"""ExternalBackend: the user's own stack, described by a profile; no lifecycle.

``up()`` only checks that what the profile names is reachable and says precisely what
is not; ``down()`` does nothing. Faults need the user's Toxiproxy (``toxiproxy.url``)
with proxies named as in ``backends.<name>.proxy``.
"""

from __future__ import annotations

import os

import httpx

from pytest_aistack.errors import StackError
from pytest_aistack.stack.backend import Endpoint, Secret, Stack
from pytest_aistack.stack.profile import Profile

PROBE_TIMEOUT = 3.0


class ExternalStackError(StackError):
    """Something the profile names is unreachable or missing; the message lists each."""


def _probe(url: str) -> str | None:
    try:
        httpx.get(url, timeout=PROBE_TIMEOUT)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None  # any HTTP answer means something listens there


class ExternalBackend:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile

    def up(self) -> Stack:
        p = self.profile
        problems: list[str] = []
        if not p.gateway_url:
            problems.append(f"gateway.url is empty in {p.path}; set it to your gateway's URL")
        else:
            why = _probe(p.gateway_url)
            if why:
                problems.append(f"gateway {p.gateway_url} (gateway.url): {why}")
        for i, url in enumerate(p.gateway_replica_urls):
            if not url:
                problems.append(
                    f"gateway.replicas.{i} is empty in {p.path}; set it to that instance's URL"
                )
            elif why := _probe(url):
                problems.append(f"gateway replica {url} (gateway.replicas.{i}): {why}")
        key = os.environ.get(p.gateway_key_env, "")
        if not key:
            problems.append(
                f"environment variable {p.gateway_key_env} (gateway.key_env) is not set; "
                "export your gateway key in it"
            )
        if p.toxiproxy_url:
            why = _probe(f"{p.toxiproxy_url}/version")
            if why:
                problems.append(f"Toxiproxy {p.toxiproxy_url} (toxiproxy.url): {why}")
        for backend in p.backends.values():
            if backend.admin_url:
                why = _probe(f"{backend.admin_url}/healthz")
                if why:
                    problems.append(
                        f"admin API of {backend.name} {backend.admin_url} "
                        f"(backends.{backend.name}.admin_url): {why}"
                    )
        if problems:
            raise ExternalStackError(
                "the external stack is not usable:\n" + "\n".join(f"- {x}" for x in problems)
            )
        admin_token = os.environ.get("AISTACK_MOCK_ADMIN_TOKEN")
        endpoints = {
            b.name: Endpoint(name=b.name, url=b.admin_url, proxy=b.proxy)
            for b in p.backends.values()
        }
        if p.redis_url:
            endpoints["redis"] = Endpoint(name="redis", url=p.redis_url, proxy=p.redis_proxy)
        return Stack(
            backend="external",
            gateway_url=p.gateway_url.rstrip("/"),
            gateway_key=Secret(key),
            toxiproxy_url=p.toxiproxy_url.rstrip("/") or None,
            endpoints=endpoints,
            gateway_replica_urls=tuple(url.rstrip("/") for url in p.gateway_replica_urls),
            admin_token=Secret(admin_token) if admin_token else None,
        )

    def down(self) -> None:
        return None
