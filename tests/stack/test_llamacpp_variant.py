"""The llama.cpp variant's files agree with each other and with the mock reference stack.

Its stack file, gateway config and profile make the same promises as the reference ones
(the same scenarios assert both); only the deployments differ. None of this needs the
llama.cpp build: ``make llamacpp-lane`` runs the stack itself.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_aistack.cli import main
from pytest_aistack.reference_stack import REFERENCE_DIR
from pytest_aistack.stack.factory import (
    REFERENCE_PROFILE,
    REFERENCE_SPEC,
    profile_mismatches,
)
from pytest_aistack.stack.local import LocalBackend, StackStartError, user_cache_dir
from pytest_aistack.stack.profile import Profile, load_profile
from pytest_aistack.stack.spec import StackSpec, load_stack_spec, parse_stack_spec

PROFILE = REFERENCE_DIR / "aistack-llamacpp.yaml"
LLAMA_SERVERS = ("llamacpp-a", "llamacpp-b", "llamacpp-c")


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile(PROFILE)


@pytest.fixture(scope="module")
def spec() -> StackSpec:
    stack_file = yaml.safe_load(PROFILE.read_text())["settings"]["stack_file"]
    return load_stack_spec(PROFILE.parent / stack_file)


def _gateway_config(spec: StackSpec) -> dict[str, Any]:
    template = spec.services["gateway"].config_template
    assert template is not None
    config: dict[str, Any] = yaml.safe_load(template.read_text())
    return config


def test_the_profile_names_the_stack_file_and_fits_it(spec: StackSpec, profile: Profile) -> None:
    assert spec.path == REFERENCE_DIR / "stack-llamacpp.yaml"
    assert profile_mismatches(spec, profile) == []
    # llama.cpp has no admin API: ground truth must come from the proxies.
    assert all(not b.admin_url for b in profile.backends.values())


def test_same_promises_as_the_reference_stack(spec: StackSpec, profile: Profile) -> None:
    assert profile.policy == load_profile(REFERENCE_PROFILE).policy
    reference = load_stack_spec(REFERENCE_SPEC)
    ours, theirs = _gateway_config(spec), _gateway_config(reference)
    for section in ("router_settings", "litellm_settings", "general_settings"):
        assert ours[section] == theirs[section], section
    assert spec.services["gateway"].env == reference.services["gateway"].env
    assert spec.gateway_replicas == reference.gateway_replicas
    for replica in spec.gateway_replicas:
        assert spec.services[replica].command == spec.services["gateway"].command
        assert spec.services[replica].config_template == spec.services["gateway"].config_template
    for model in ours["model_list"]:
        params = model["litellm_params"]
        assert (params["timeout"], params["stream_timeout"]) == (1.5, 1.5), model


def test_the_profile_is_what_its_litellm_config_derives(
    spec: StackSpec, profile: Profile, tmp_path: Path
) -> None:
    template = spec.services["gateway"].config_template
    assert template is not None
    out = tmp_path / "derived.yaml"
    assert main(["profile", "--from-litellm", str(template), "-o", str(out)]) == 0
    derived = load_profile(out)
    assert derived.model_groups == profile.model_groups
    assert derived.backends == profile.backends
    assert derived.primary_group == profile.primary_group
    # Not in a LiteLLM config: the proxy's env, compared with the stack file's below.
    policy = profile.policy
    assert (
        dataclasses.replace(
            derived.policy,
            redis_recovery_s=policy.redis_recovery_s,
            state_sync_s=policy.state_sync_s,
        )
        == policy
    )
    env = spec.services["gateway"].env
    assert float(env["REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT"]) == policy.redis_recovery_s
    assert float(env["DEFAULT_COOLDOWN_REDIS_READ_INTERVAL_SECONDS"]) == policy.state_sync_s


def test_deployments_are_the_llama_servers_behind_their_proxies(
    spec: StackSpec, profile: Profile
) -> None:
    ids_by_group: dict[str, set[str]] = {}
    for model in _gateway_config(spec)["model_list"]:
        deployment = model["model_info"]["id"]
        ids_by_group.setdefault(model["model_name"], set()).add(deployment)
        if deployment in LLAMA_SERVERS:
            assert model["litellm_params"]["model"] == "openai/tiny-llama"
            assert model["litellm_params"]["api_base"] == f"${{proxy_url:{deployment}}}/v1"
    for name in ("chat", "chat-fallback", "cloud"):
        assert ids_by_group[name] == set(profile.model_groups[name].deployments), name
    assert ids_by_group["chat"] == {"llamacpp-a", "llamacpp-b"}
    assert ids_by_group["chat-fallback"] == {"llamacpp-c"}


@pytest.mark.parametrize("name", LLAMA_SERVERS)
def test_llama_servers_run_from_the_cache(spec: StackSpec, name: str) -> None:
    service = spec.services[name]
    command = list(service.command)
    assert command[:3] == ["${cache_dir}/llamacpp/venv/bin/python", "-m", "llama_cpp.server"]
    assert command[command.index("--model") + 1] == "${cache_dir}/llamacpp/model.gguf"
    # Otherwise a second request ends the first one's stream with an early [DONE].
    assert command[command.index("--interrupt_requests") + 1] == "False"
    assert (service.port, service.health.path, service.proxy) == ("pick", "/v1/models", name)


def test_cache_dir_follows_aistack_cache_dir_then_xdg(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AISTACK_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_cache_dir() == tmp_path / "home" / ".cache" / "pytest-aistack"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache_dir() == tmp_path / "xdg" / "pytest-aistack"
    monkeypatch.setenv("AISTACK_CACHE_DIR", str(tmp_path / "mine"))
    assert user_cache_dir() == tmp_path / "mine"


def test_cache_dir_reaches_the_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AISTACK_CACHE_DIR", str(tmp_path / "cache"))
    serve = (
        "import sys, http.server as h; print('cache', sys.argv[1], flush=True); "
        "h.HTTPServer(('127.0.0.1', int(sys.argv[2])), h.BaseHTTPRequestHandler).serve_forever()"
    )
    command = [sys.executable, "-c", serve, "${cache_dir}/llamacpp", "${port}"]
    spec = parse_stack_spec(
        {"services": {"echo": {"command": command, "port": "pick", "health": {"tcp": True}}}},
        tmp_path / "stack.yaml",
    )
    backend = LocalBackend(spec, log_dir=tmp_path / "logs")
    backend.up()
    try:
        log = backend.log_dir / "echo.log"
        assert log.read_text().splitlines()[0] == f"cache {tmp_path / 'cache'}/llamacpp"
    finally:
        backend.down()


def test_a_missing_interpreter_names_the_service_and_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-venv" / "bin" / "python"
    spec = parse_stack_spec(
        {"services": {"llamacpp-a": {"command": [str(missing), "-m", "llama_cpp.server"]}}},
        tmp_path / "stack.yaml",
    )
    with pytest.raises(StackStartError) as caught:
        LocalBackend(spec, log_dir=tmp_path / "logs").up()
    message = str(caught.value)
    assert f"llamacpp-a: cannot run '{missing}'" in message
    assert "No such file or directory" in message
    assert f"services.llamacpp-a.command in {tmp_path / 'stack.yaml'}" in message
