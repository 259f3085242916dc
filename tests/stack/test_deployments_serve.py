"""Every backend of the running stack answers a plain request: through its own proxy, and
through the gateway for each deployment of the primary group's fallback chain.

The precondition of every scenario (a fault means nothing on a stack that does not serve
without one), on whichever stack the session runs: the mock reference stack in the unit
lane, the llama.cpp variant in ``make llamacpp-lane`` (``--aistack-profile
pytest_aistack/reference_stack/aistack-llamacpp.yaml``), or a user's.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from pytest_aistack.chaos.client import ToxiproxyClient
from pytest_aistack.stack.handle import AIStack

# usage-based routing sends the next request to the least-used deployment, so a group's
# deployments each serve within a few requests; far more means one of them never does.
REQUESTS_PER_GROUP = 10


def _proxy_listen(stack: AIStack, proxy: str) -> str:
    """host:port of the proxy: as the backend started it, else as Toxiproxy reports it
    (an external stack); a wildcard listen address is reached on loopback."""
    for endpoint in stack.stack.endpoints.values():
        if endpoint.proxy == proxy and endpoint.proxy_listen is not None:
            return endpoint.proxy_listen
    if stack.toxiproxy_url is None:
        pytest.fail(f"proxy {proxy!r}: this stack has no Toxiproxy (toxiproxy.url)")
    with ToxiproxyClient(stack.toxiproxy_url, timeout=5.0) as client:
        host, _, port = client.proxy(proxy).listen.rpartition(":")
    return f"{'127.0.0.1' if host in ('', '0.0.0.0', '[::]') else host}:{port}"


def test_each_backend_answers_through_its_proxy(aistack_stack: AIStack) -> None:
    backends = aistack_stack.profile.backends
    assert backends, f"{aistack_stack.profile.path} lists no backends"
    for name, backend in backends.items():
        if backend.proxy is None:
            continue
        base = f"http://{_proxy_listen(aistack_stack, backend.proxy)}"
        with httpx.Client(base_url=base, timeout=10.0) as client:
            models = client.get("/v1/models")
            assert models.status_code == 200, (name, models.text[:200])
            model = models.json()["data"][0]["id"]
            answer = client.post(
                "/v1/chat/completions",
                json={
                    "model": model,
                    "messages": [{"role": "user", "content": "hello"}],
                    "max_tokens": 8,
                },
                headers={"x-request-id": uuid.uuid4().hex},
            )
        assert answer.status_code == 200, (name, answer.text[:200])
        content = answer.json()["choices"][0]["message"]["content"]
        assert content.strip(), f"{name} answered an empty message: {answer.text[:200]}"


def test_every_deployment_serves_through_the_gateway(aistack_stack: AIStack) -> None:
    profile = aistack_stack.profile
    for group in profile.fallback_chain():
        wanted = set(profile.model_groups[group].deployments)
        seen: set[str] = set()
        for _ in range(REQUESTS_PER_GROUP):
            result = aistack_stack.chat(model=group, deadline=10.0)
            assert result.clean_success, f"{group}: {result.describe()}"
            assert result.body is not None
            content = result.body["choices"][0]["message"]["content"]
            assert content.strip(), f"{group}: empty answer via {result.served_by}"
            assert result.served_by in wanted, (group, result.served_by, wanted)
            seen.add(result.served_by)
            if seen == wanted:
                break
        assert seen == wanted, (
            f"{group}: {REQUESTS_PER_GROUP} requests served only by {sorted(seen)}, "
            f"never by {sorted(wanted - seen)}"
        )
