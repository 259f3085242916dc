from __future__ import annotations

from pathlib import Path

import pytest

from pytest_aistack.stack.factory import REFERENCE_PROFILE
from pytest_aistack.stack.profile import ProfileError, load_profile

VALID = """\
gateway:
  url: http://127.0.0.1:4000
  model_group: chat
backends:
  a: {model_group: chat, proxy: a}
  b: {model_group: fb}
model_groups:
  chat:
    deployments: [a]
    fallbacks: [fb]
  fb:
    deployments: [b]
policy:
  allowed_fails: 1
  cooldown_s: 4
  num_retries: 1
  timeout_s: 1.5
  stream_timeout_s: 2
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aistack.yaml"
    path.write_text(text)
    return path


def test_reference_profile_declares_the_chain_and_policy() -> None:
    profile = load_profile(REFERENCE_PROFILE)
    assert profile.fallback_chain() == ("chat", "chat-fallback", "cloud")
    assert [b.name for b in profile.backends_of("chat")] == ["vllm-a", "vllm-b"]
    assert profile.policy.rate_limited_group == "chat-limited"
    assert profile.redis_proxy == "redis"


def test_a_valid_profile_parses(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, VALID))
    assert profile.gateway_url == "http://127.0.0.1:4000"
    assert profile.gateway_key_env == "AISTACK_GATEWAY_KEY"
    assert profile.policy.worst_case_s() == 2 * 2.0
    assert profile.backends["b"].proxy is None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  cooldown_s: 4", "  cooldown_s: soon", ":15: policy.cooldown_s: expected a number"),
        ("  num_retries: 1", "  num_retries: 1.5", ":16: policy.num_retries: expected a whole"),
        ("  allowed_fails: 1\n", "", ":13: policy.allowed_fails: is required"),
        ("    deployments: [a]", "    deployments: [a, zz]", ":9: model_groups.chat.deployments.1"),
        ("    fallbacks: [fb]", "    fallbacks: [chat]", ":10: model_groups.chat.fallbacks.0"),
        ("  b: {model_group: fb}", "  b: {model_group: nope}", ":6: backends.b.model_group"),
        ("  model_group: chat\n", "  model_group: chat\n  colour: red\n", ":4: gateway.colour"),
        ("gateway:", "gatewy:", ":1: gatewy: unknown key; expected one of"),
        ("  url: http://127.0.0.1:4000", "  url: 4000", ":2: gateway.url: expected a string"),
    ],
)
def test_errors_name_file_line_key_and_expectation(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new))
    with pytest.raises(ProfileError) as excinfo:
        load_profile(path)
    assert str(excinfo.value).startswith(str(path) + ":")
    assert expected in str(excinfo.value)


def test_missing_file_says_what_to_point_at(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"point --aistack-profile at an aistack\.yaml"):
        load_profile(tmp_path / "nope.yaml")


def test_settings_key_is_left_to_the_settings_resolver(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, "settings:\n  strict: true\n" + VALID))
    assert profile.raw_settings == {"strict": True}


def test_gateway_replicas_and_rate_limit_keys_parse(tmp_path: Path) -> None:
    text = VALID.replace(
        "  model_group: chat\n",
        "  model_group: chat\n  replicas: [http://127.0.0.1:4001, http://127.0.0.1:4002]\n",
        1,
    ) + (
        "  rate_limit:\n    model_group: chat\n    rpm: 5\n    window_s: 10\n"
        "    max_hold_s: 0.5\n    retry_after_header: x-retry-in\n"
    )
    profile = load_profile(write(tmp_path, text))
    assert profile.gateway_replica_urls == ("http://127.0.0.1:4001", "http://127.0.0.1:4002")
    policy = profile.policy
    assert (policy.rate_limited_group, policy.rpm) == ("chat", 5)
    assert (policy.rate_window_s, policy.rate_max_hold_s) == (10.0, 0.5)
    assert policy.retry_after_header == "x-retry-in"


def test_rate_limit_defaults_are_litellms_minute_and_a_prompt_429(tmp_path: Path) -> None:
    text = VALID + "  rate_limit: {model_group: chat, rpm: 5}\n"
    policy = load_profile(write(tmp_path, text)).policy
    assert (policy.rate_window_s, policy.rate_max_hold_s) == (60.0, 1.0)
    assert policy.retry_after_header == "retry-after"
    assert load_profile(write(tmp_path, VALID)).gateway_replica_urls == ()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("  rate_limit: {model_group: chat, rpm: 5, window_s: 0}\n", "rate_limit.window_s"),
        ("  rate_limit: {model_group: chat, rpm: 5, max_hold_s: -1}\n", "rate_limit.max_hold_s"),
        ("  rate_limit: {model_group: chat, rpm: 5, windw_s: 9}\n", "rate_limit.windw_s: unknown"),
    ],
)
def test_bad_rate_limit_keys_name_the_key(tmp_path: Path, extra: str, expected: str) -> None:
    with pytest.raises(ProfileError, match=expected.replace(".", r"\.")):
        load_profile(write(tmp_path, VALID + extra))


def test_gateway_replicas_must_be_a_list_of_urls(tmp_path: Path) -> None:
    text = VALID.replace("  model_group: chat\n", "  model_group: chat\n  replicas: 4001\n", 1)
    with pytest.raises(ProfileError, match=r"gateway\.replicas: expected a list"):
        load_profile(write(tmp_path, text))
