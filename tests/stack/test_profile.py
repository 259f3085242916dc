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
