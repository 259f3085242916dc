"""write_external_profile: admin_url only for backends that have the mock's admin API."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from pytest_aistack.stack.export import write_external_profile
from pytest_aistack.stack.local import LocalBackend
from pytest_aistack.stack.profile import load_profile
from pytest_aistack.stack.spec import parse_stack_spec

TINY = str(Path(__file__).with_name("tiny_service.py"))


def test_only_a_mock_llm_gets_an_admin_url(tmp_path: Path) -> None:
    spec = parse_stack_spec(
        {
            "services": {
                "mock": {
                    "command": ["${python}", "-m", "pytest_aistack.cli", "mock-llm",
                                "--host", "${host}", "--port", "${port}", "--name", "mock"],
                    "env": {"AISTACK_MOCK_ADMIN_TOKEN": "${admin_token}"},
                    "health": {"http": "/health"},
                },
                # Answers every GET with 200 "ok": no admin API, like llama_cpp.server.
                "real": {"command": [sys.executable, TINY, "--port", "0"], "health": {"http": "/"}},
            }
        },
        tmp_path / "stack.yaml",
    )  # fmt: skip
    profile_path = tmp_path / "aistack.yaml"
    profile_path.write_text(
        "settings: {report_dir: elsewhere}\n"
        "gateway: {url: '', model_group: chat}\n"
        "backends:\n  mock: {model_group: chat}\n  real: {model_group: chat}\n"
        "model_groups:\n  chat: {deployments: [mock, real]}\n"
        "policy: {allowed_fails: 1, cooldown_s: 4, num_retries: 1, "
        "timeout_s: 1.5, stream_timeout_s: 1.5}\n"
    )
    backend = LocalBackend(spec, log_dir=tmp_path / "logs")
    stack = backend.up()
    try:
        written = write_external_profile(stack, load_profile(profile_path), tmp_path / "out.yaml")
    finally:
        backend.down()
    raw = yaml.safe_load(written.read_text())
    assert raw["backends"]["mock"]["admin_url"] == stack.endpoints["mock"].url
    assert "admin_url" not in raw["backends"]["real"]
    assert "settings" not in raw


def test_gateway_replicas_are_written_for_an_external_run(tmp_path: Path) -> None:
    from pytest_aistack.stack.backend import Secret, Stack

    profile_path = tmp_path / "aistack.yaml"
    profile_path.write_text(
        "gateway: {url: '', model_group: chat}\n"
        "backends:\n  mock: {model_group: chat}\n"
        "model_groups:\n  chat: {deployments: [mock]}\n"
        "policy: {allowed_fails: 1, cooldown_s: 4, num_retries: 1, "
        "timeout_s: 1.5, stream_timeout_s: 1.5}\n"
    )
    stack = Stack(
        backend="local",
        gateway_url="http://127.0.0.1:4000",
        gateway_key=Secret("sk-x"),
        toxiproxy_url=None,
        endpoints={},
        gateway_replica_urls=("http://127.0.0.1:4001",),
    )
    written = write_external_profile(stack, load_profile(profile_path), tmp_path / "out.yaml")
    exported = load_profile(written)
    assert exported.gateway_url == "http://127.0.0.1:4000"
    assert exported.gateway_replica_urls == ("http://127.0.0.1:4001",)
