"""Deriving the stack profile from a LiteLLM config: what maps, how, and what is reported."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pytest_aistack.cli import main
from pytest_aistack.stack.litellm.profile import derive_profile
from pytest_aistack.stack.profile import ProfileError, load_profile

from .litellm_configs import FIXTURES, PRODUCTION, base

# ---------------------------------------------------------------------------------------
# a real user's config


def test_the_production_config_derives_the_expected_profile() -> None:
    result = derive_profile(PRODUCTION)
    assert result.errors == []
    expected = yaml.safe_load((FIXTURES / "production.profile.yaml").read_text())
    for key in expected:
        assert result.profile[key] == expected[key], key
    assert list(result.profile) == list(expected)


def test_the_production_profile_loads_with_every_chain_and_layer() -> None:
    profile = load_profile(FIXTURES / "production.profile.yaml")
    assert len(profile.model_groups) == 17
    assert sum(1 for g in profile.model_groups.values() if g.fallbacks) == 16
    # litellm_settings.request_timeout (90) beats router_settings.timeout (60) for a
    # deployment without its own; streams take router_settings.stream_timeout (20).
    assert profile.timeout_of("vllm-llama8b-0") == 90
    assert profile.timeout_of("vllm-llama8b-0", stream=True) == 20
    # the deployment's own values, and the stream timeout of the router over its timeout
    assert profile.timeout_of("llamacpp-deepseek") == 300
    assert profile.timeout_of("llamacpp-deepseek", stream=True) == 20
    assert profile.cooldown_of("llamacpp-deepseek") == 60
    assert profile.rpm_of("azure-gpt-4o") == 600  # model_info.rpm on both deployments
    assert profile.rpm_of("llama-3.1-70b") is None  # tpm only
    assert profile.backends["vllm-llama70b-1"].tpm == 400000  # through a YAML merge key
    assert profile.policy.cache_namespace == "litellm.prod.cache"
    assert profile.policy.retries_for("TimeoutError") == 1
    assert profile.policy.worst_case_s() == 2 * 120


def test_secrets_stay_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_HOST", "secret-redis-host")
    monkeypatch.setenv("LITELLM_MASTER_KEY", "sk-secret")
    out = tmp_path / "profile.yaml"
    assert main(["profile", "--from-litellm", str(PRODUCTION), "-o", str(out)]) == 0
    text = out.read_text()
    assert "secret" not in text
    assert "os.environ/REDIS_HOST" in text  # named in the note about redis.proxy
    assert "export AISTACK_GATEWAY_KEY=$LITELLM_MASTER_KEY" in text


def test_what_no_scenario_checks_is_listed(tmp_path: Path) -> None:
    notes = derive_profile(PRODUCTION).notes
    for expected in (
        "router_settings.{enable_pre_call_checks, retry_after}: not checked by any scenario",
        "litellm_settings.{drop_params, success_callback, failure_callback}: not checked",
        "model_list[].model_info.mode (tei-bge-0): not checked by any scenario",
        "litellm_settings.cache_params.supported_call_types: not checked by any scenario",
        "router_settings.context_window_fallbacks (2 chains): not checked by any scenario",
        "router_settings.content_policy_fallbacks (1 chain): not checked by any scenario",
        "general_settings.{database_url, alerting, proxy_batch_write_at}: not checked",
    ):
        assert any(note.startswith(expected) for note in notes), expected
    forwarded = next(n for n in notes if "forward_client_headers_to_llm_api" in n)
    assert forwarded.startswith("model groups qwen2.5-coder-32b, code-completion,")
    assert "llama-3.1-8b," not in forwarded  # listed in the config


# ---------------------------------------------------------------------------------------
# the command


def test_the_command_prints_the_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "--from-litellm", str(PRODUCTION)]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("# Stack profile derived from ")
    assert "# Notes:\n# - " in out.out
    assert yaml.safe_load(out.out)["model_groups"]["gpt-4o"]["fallbacks"] == [
        "azure-gpt-4o",
        "claude-3-5-sonnet",
    ]
    assert out.err == ""


def test_the_command_writes_a_profile_that_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "aistack.yaml"
    assert main(["profile", "--from-litellm", str(PRODUCTION), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"wrote {out} (17 model groups, 20 deployments, 16 fallback chain(s)," in err
    assert "note: backends.{vllm-llama70b-0, " in err
    assert load_profile(out).primary_group == "llama-3.1-70b"


def test_proxy_map_and_model_group(tmp_path: Path) -> None:
    result = derive_profile(
        PRODUCTION,
        proxy_map={"openai-gpt-4o": "openai", "redis": "redis-main"},
        model_group="code-completion",
    )
    assert result.profile["backends"]["openai-gpt-4o"]["proxy"] == "openai"
    assert result.profile["redis"] == {"proxy": "redis-main"}
    assert result.profile["gateway"]["model_group"] == "code-completion"
    # The policy's timeouts are the longest of the new primary's chain (10 and 90 s).
    assert result.profile["policy"]["timeout_s"] == 90
    assert not any("redis.proxy: 'redis' (assumed" in n for n in result.notes)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--proxy-map", "nope=x"], "--proxy-map nope=...: no deployment has model_info.id 'nope'"),
        (["--proxy-map", "broken"], "--proxy-map 'broken': expected ID=PROXY"),
        (["--model-group", "nope"], "--model-group 'nope': the config has no such model_name"),
    ],
)
def test_command_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profile", "--from-litellm", str(PRODUCTION), *argv]) != 0
    assert message in capsys.readouterr().err


def test_unmapped_settings_fail_the_command_but_the_rest_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = base()
    del config["model_list"][1]["model_info"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "aistack.yaml"
    code = main(["profile", "--from-litellm", str(tmp_path / "config.yaml"), "-o", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert "error: " in err
    assert "add model_info: {id: NAME}" in err
    assert "1 setting(s) could not be mapped" in err
    text = out.read_text()
    assert "# NOT MAPPED" in text
    assert yaml.safe_load(text)["model_groups"]["chat"]["deployments"] == ["a"]


def test_unreadable_and_invalid_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "--from-litellm", str(tmp_path / "nope.yaml")]) == 1
    assert "cannot read the LiteLLM config (No such file or directory)" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text("model_list: [\n")
    assert main(["profile", "--from-litellm", str(tmp_path / "bad.yaml")]) == 1
    assert "bad.yaml: not valid YAML" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# the profile's litellm_config: key


def write_pair(tmp_path: Path, config: dict[str, object], profile: str) -> Path:
    (tmp_path / "gateway").mkdir(exist_ok=True)
    (tmp_path / "gateway" / "litellm.yaml").write_text(yaml.safe_dump(config))
    path = tmp_path / "aistack.yaml"
    path.write_text("litellm_config: gateway/litellm.yaml\n" + profile)
    return path


def test_litellm_config_fills_in_what_the_profile_does_not_state(tmp_path: Path) -> None:
    path = write_pair(
        tmp_path,
        base(),
        "gateway: {url: 'http://127.0.0.1:4000'}\n"
        "backends:\n"
        "  a: {admin_url: 'http://127.0.0.1:8001', proxy: a-proxy}\n"
        "policy: {num_retries: 0}\n",
    )
    profile = load_profile(path)
    assert profile.litellm_config == tmp_path / "gateway" / "litellm.yaml"
    assert profile.gateway_url == "http://127.0.0.1:4000"
    assert profile.policy.num_retries == 0  # stated: wins over router_settings.num_retries 1
    assert profile.policy.cooldown_s == 4  # not stated: from the config
    assert profile.backends["a"].proxy == "a-proxy"
    assert profile.backends["a"].admin_url == "http://127.0.0.1:8001"
    assert profile.backends["a"].model_group == "chat"
    assert profile.fallback_chain() == ("chat", "spare")
    assert any("forward_client_headers_to_llm_api" in note for note in profile.notes)


def test_litellm_config_errors_stop_the_profile_with_all_of_them(tmp_path: Path) -> None:
    config = base()
    del config["model_list"][0]["litellm_params"]["api_base"]
    config["router_settings"]["disable_cooldowns"] = True
    path = write_pair(tmp_path, config, "")
    with pytest.raises(ProfileError) as excinfo:
        load_profile(path)
    message = str(excinfo.value)
    assert message.startswith(f"{path}:1: litellm_config: 2 setting(s) of ")
    assert "\n- " + str(tmp_path / "gateway" / "litellm.yaml") in message
    assert "disable_cooldowns: True (bool)" in message
    assert "no api_base" in message
    assert message.endswith(
        "or state those keys in the profile (explicit keys win; docs/profile.md)"
    )


def test_stating_the_key_an_error_would_fill_settles_it(tmp_path: Path) -> None:
    config = base()
    del config["model_list"][0]["litellm_params"]["api_base"]
    config["router_settings"]["disable_cooldowns"] = True
    path = write_pair(tmp_path, config, "backends: {a: {proxy: a}}\npolicy: {cooldown_s: 4}\n")
    assert load_profile(path).backends["a"].proxy == "a"


def test_a_missing_litellm_config(tmp_path: Path) -> None:
    path = tmp_path / "aistack.yaml"
    path.write_text("gateway: {}\nlitellm_config: nope.yaml\n")
    with pytest.raises(ProfileError) as excinfo:
        load_profile(path)
    assert str(excinfo.value) == (
        f"{path}:2: litellm_config: {tmp_path / 'nope.yaml'}: no such file "
        "(the path is relative to the profile's folder)"
    )


def test_the_profile_picks_the_primary_group(tmp_path: Path) -> None:
    config = base()
    config["model_list"][2]["litellm_params"]["timeout"] = 9  # spare: the primary below
    config["router_settings"]["fallbacks"] = []
    path = write_pair(tmp_path, config, "gateway: {model_group: spare}\n")
    profile = load_profile(path)
    assert profile.primary_group == "spare"
    assert profile.policy.timeout_s == 9  # the longest of the primary's chain
    assert profile.backends["a"].timeout_s == 2
    path = write_pair(tmp_path, config, "gateway: {model_group: nope}\n")
    with pytest.raises(ProfileError, match=r":2: gateway.model_group: expected one of chat, spare"):
        load_profile(path)


def test_a_wildcard_entry_is_settled_by_stating_model_groups(tmp_path: Path) -> None:
    config = base()
    config["model_list"].append({"model_name": "*", "litellm_params": {"model": "openai/*"}})
    with pytest.raises(ProfileError, match=r"'\*' \(str\): a wildcard routes any model name"):
        load_profile(write_pair(tmp_path, config, ""))
    profile = load_profile(write_pair(tmp_path, config, "model_groups: {}\n"))
    assert list(profile.model_groups) == ["chat", "spare"]
