"""A stack file or profile that is not UTF-8 text (random bytes, UTF-16, NULs) stops the
run with the file, what is wrong with it and what to do — from pytest and from
``aistack up`` — never with a ``UnicodeDecodeError`` traceback."""

from __future__ import annotations

import codecs
import random
from pathlib import Path

import pytest

from pytest_aistack.stack import runs

from .up_process import aistack


def _random_bytes() -> bytes:
    # Seeded, and forced to hold a byte that is never UTF-8 (0xff) early on.
    return b"\xff" + random.Random(12).randbytes(4096)


GARBAGE = {
    "random bytes": (_random_bytes(), "not a text file: it holds NUL bytes"),
    "utf-16 text": (
        "services:\n  web: {command: [x], port: pick}\n".encode("utf-16"),
        "not a text file: it is UTF-16 text (byte-order mark FF FE)",
    ),
    "nul-filled": (b"\0" * 2048, "not a text file: it holds NUL bytes (the first at byte 0)"),
    "invalid utf-8": (
        b"services:\n  caf\xe9: {}\n",
        "not a text file: byte 15 (0xe9) is not UTF-8, so it is binary data",
    ),
}
STACK_FIX = (
    "a stack file is UTF-8 YAML: point stack_file (--aistack-stack-file, AISTACK_STACK_FILE) "
    'at a stack.yaml, or save this one as UTF-8 (docs/configuration.md, "Stack files")'
)
PROFILE_FIX = (
    "a profile is UTF-8 YAML: point --aistack-profile (AISTACK_PROFILE, profile) at an "
    "aistack.yaml, or save this one as UTF-8 (docs/profile.md)"
)
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"


@pytest.fixture(params=sorted(GARBAGE))
def garbage(request: pytest.FixtureRequest) -> tuple[bytes, str]:
    data, problem = GARBAGE[request.param]
    return data, problem


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text, text
    assert "UnicodeDecodeError" not in text, text


def test_pytest_stack_file(pytester: pytest.Pytester, garbage: tuple[bytes, str]) -> None:
    data, problem = garbage
    (pytester.path / "stack.yaml").write_bytes(data)
    pytester.makeini(INI)
    pytester.makepyfile("def test_uses_stack(aistack_stack): pass")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--aistack-stack-file=stack.yaml"
    )
    text = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(errors=1)
    path = pytester.path / "stack.yaml"
    assert f"stack_file {path} (from --aistack-stack-file): {path}: {problem}" in text, text
    assert STACK_FIX in text, text
    _no_traceback(text)
    assert runs.load_runs() == []


def test_pytest_profile(pytester: pytest.Pytester, garbage: tuple[bytes, str]) -> None:
    data, problem = garbage
    (pytester.path / "profile.yaml").write_bytes(data)
    pytester.makeini(INI)
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--aistack-profile=profile.yaml"
    )
    text = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text
    assert f"aistack: {pytester.path / 'profile.yaml'}: {problem}" in text, text
    assert PROFILE_FIX in text, text
    _no_traceback(text)


def test_up_stack_file(tmp_path: Path, garbage: tuple[bytes, str]) -> None:
    data, problem = garbage
    (tmp_path / "stack.yaml").write_bytes(data)
    result = aistack("up", "--stack-file", "stack.yaml", cwd=tmp_path)
    path = tmp_path / "stack.yaml"
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(
        f"aistack up: aistack: stack_file {path} (from --aistack-stack-file): {path}: {problem}"
    ), result.stderr
    assert result.stderr.strip().endswith(STACK_FIX)
    _no_traceback(result.stderr)
    assert runs.load_runs() == []


def test_up_profile(tmp_path: Path, garbage: tuple[bytes, str]) -> None:
    data, problem = garbage
    (tmp_path / "profile.yaml").write_bytes(data)
    result = aistack("up", "--profile", "profile.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"{tmp_path / 'profile.yaml'}: {problem}" in result.stderr
    assert result.stderr.strip().endswith(PROFILE_FIX), result.stderr
    _no_traceback(result.stderr)
    assert runs.load_runs() == []


def test_a_utf8_byte_order_mark_is_text(tmp_path: Path) -> None:
    """Editors on Windows write one; YAML allows it, so the file loads."""
    from pytest_aistack.stack.spec import load_stack_spec

    stack = tmp_path / "stack.yaml"
    stack.write_bytes(codecs.BOM_UTF8 + b"services:\n  web: {command: [x], port: pick}\n")
    assert list(load_stack_spec(stack).services) == ["web"]


def test_a_profiles_litellm_config_that_is_not_text(tmp_path: Path) -> None:
    """The profile may name the gateway's config (litellm_config:); the same check holds."""
    from pytest_aistack.stack.profile import ProfileError, load_profile

    (tmp_path / "litellm.yaml").write_bytes("model_list: []\n".encode("utf-16"))
    profile = tmp_path / "aistack.yaml"
    profile.write_text("litellm_config: litellm.yaml\n")
    with pytest.raises(ProfileError) as info:
        load_profile(profile)
    message = str(info.value)
    assert f"{tmp_path / 'litellm.yaml'}: not a text file: it is UTF-16 text" in message
    assert "a LiteLLM config is UTF-8 YAML: point --from-litellm" in message
