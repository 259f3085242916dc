"""A user's own stack file through the ``stack_file`` setting: the ``aistack_stack``
fixture and ``aistack up``/``status``/``down`` run it with the local backend, and a
file that is broken or does not fit the profile stops the run before anything starts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_aistack.settings import Settings, Source, resolve_outside_pytest
from pytest_aistack.stack import runs
from pytest_aistack.stack.factory import (
    REFERENCE_PROFILE,
    REFERENCE_SPEC,
    make_backend,
    profile_mismatches,
)
from pytest_aistack.stack.profile import load_profile
from pytest_aistack.stack.spec import StackSpecError, load_stack_spec

from .up_process import aistack, running_up

TINY = Path(__file__).with_name("tiny_service.py")
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"

# One service that is also the gateway, and a profile describing it (no proxies).
TINY_STACK = f"""\
gateway: web
services:
  web:
    command: ["${{python}}", "{TINY}", "--host", "${{host}}", "--port", "${{port}}"]
    port: announce
    health: {{http: /}}
    startup_timeout: 30
"""
TINY_PROFILE = """\
gateway: {model_group: chat}
backends: {web: {model_group: chat}}
model_groups: {chat: {deployments: [web]}}
policy: {allowed_fails: 1, cooldown_s: 1, num_retries: 0, timeout_s: 1, stream_timeout_s: 1}
"""


def write_tiny(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stack, profile = directory / "tiny-stack.yaml", directory / "tiny-profile.yaml"
    stack.write_text(TINY_STACK)
    profile.write_text(TINY_PROFILE)
    return stack, profile


# --- the fixture, in a real pytest run ----------------------------------------------------


def test_the_fixture_runs_the_stack_file_of_the_setting(pytester: pytest.Pytester) -> None:
    write_tiny(pytester.path)
    pytester.makeini(INI)
    pytester.makepyfile(
        """
        import httpx

        def test_uses_stack(aistack_stack):
            assert sorted(aistack_stack.stack.endpoints) == ["web"]
            response = httpx.get(aistack_stack.gateway_url, timeout=10)
            assert response.status_code == 200 and response.text == "ok"
        """
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--aistack-stack-file=tiny-stack.yaml",
        "--aistack-profile=tiny-profile.yaml",
        f"--aistack-report-dir={pytester.path / 'results'}",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            f"aistack: backend=local * stack_file={pytester.path / 'tiny-stack.yaml'} *",
            "aistack set by: *stack_file (--aistack-stack-file)*",
        ]
    )
    assert runs.load_runs() == []  # stopped and its record removed at session end


def test_a_profile_the_stack_file_does_not_fit_fails_before_start(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tiny stack with the reference profile: its gateway is there, its proxies are not.
    write_tiny(pytester.path)
    pytester.makeini(INI)
    pytester.makepyfile("def test_uses_stack(aistack_stack): pass")
    monkeypatch.setenv("AISTACK_STACK_FILE", "tiny-stack.yaml")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != 0
    text = result.stdout.str() + result.stderr.str()
    assert (
        f"stack_file {pytester.path / 'tiny-stack.yaml'} (from environment variable "
        f"AISTACK_STACK_FILE) does not provide what the profile {REFERENCE_PROFILE} expects:"
    ) in text, text
    assert "proxy 'vllm-a' (backends.vllm-a.proxy in the profile)" in text
    assert "proxy 'redis' (redis.proxy in the profile)" in text
    assert "a gateway" not in text
    assert runs.load_runs() == []  # nothing was started


# --- aistack up / status / down -----------------------------------------------------------


def test_up_status_down_with_a_user_stack_file(tmp_path: Path) -> None:
    write_tiny(tmp_path / "mine")
    # Relative paths: the command line resolves them against the current directory.
    up_args = ["--stack-file", "mine/tiny-stack.yaml", "--profile", "mine/tiny-profile.yaml"]
    up_args += ["--report-dir", "results"]
    with running_up(up_args, tmp_path / "up.out", cwd=tmp_path) as (up, text):
        assert f"stack file  {tmp_path / 'mine' / 'tiny-stack.yaml'}" in text
        assert re.search(r"web\s+http://127\.0\.0\.1:\d+", text), text

        status = aistack("status", cwd=tmp_path)
        assert status.returncode == 0, status.stdout + status.stderr
        assert re.search(r"web\s+http://\S+\s+up", status.stdout), status.stdout
        (record,) = runs.load_runs()

        down = aistack("down", cwd=tmp_path)
        assert down.returncode == 0, down.stderr
        assert f"stopped run {record.run_id}" in down.stdout
        assert up.wait(timeout=30) == 0
    assert runs.pids_with_run_id(record.run_id, record.groups) == []
    assert aistack("status", cwd=tmp_path).returncode == 3


def test_up_names_the_setting_of_a_broken_stack_file(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("services:\n  web: {command: [x], port: sometimes}\n")
    result = aistack("up", "--stack-file", "broken.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"aistack up: aistack: stack_file {tmp_path / 'broken.yaml'} (from --aistack-stack-file): "
        f"{tmp_path / 'broken.yaml'}: services.web.port: expected 'announce' or 'pick', "
        "got 'sometimes'"
    )
    assert runs.load_runs() == []


def test_up_names_a_missing_stack_file(tmp_path: Path) -> None:
    result = aistack("up", "--stack-file", "nope.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"aistack up: aistack: invalid stack_file 'nope.yaml' from --aistack-stack-file: "
        f"{tmp_path / 'nope.yaml'} does not exist;"
    )


# --- resolution outside pytest (aistack up) -----------------------------------------------


def test_outside_pytest_env_and_pyproject_resolve_against_their_own_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AISTACK_STACK_FILE", raising=False)
    monkeypatch.delenv("AISTACK_PROFILE", raising=False)
    project, work = tmp_path / "project", tmp_path / "project" / "work"
    work.mkdir(parents=True)
    for directory in (project, work):
        (directory / "s.yaml").write_text("services: {}\n")
    (project / "pyproject.toml").write_text('[tool.aistack]\nstack_file = "s.yaml"\n')

    resolved = resolve_outside_pytest(cwd=work)
    assert resolved.settings.stack_file == project / "s.yaml"
    assert resolved.origins["stack_file"].label.startswith("[tool.aistack] stack_file in ")

    monkeypatch.setenv("AISTACK_STACK_FILE", "s.yaml")
    resolved = resolve_outside_pytest(cwd=work)
    assert resolved.settings.stack_file == work / "s.yaml"
    assert resolved.origins["stack_file"].label == "environment variable AISTACK_STACK_FILE"


# --- the checks, directly ------------------------------------------------------------------


def test_the_reference_stack_fits_the_reference_profile() -> None:
    spec, profile = load_stack_spec(REFERENCE_SPEC), load_profile(REFERENCE_PROFILE)
    assert profile_mismatches(spec, profile) == []


def test_mismatches_list_every_missing_piece(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "toxiproxy: tp\nservices:\n  tp: {command: [x]}\n  a: {command: [x], proxy: vllm-a}\n"
    )
    missing = profile_mismatches(load_stack_spec(path), load_profile(REFERENCE_PROFILE))
    assert missing[0].startswith("a gateway: the profile's model groups (chat, ")
    assert missing[1:] == [
        "proxy 'vllm-b' (backends.vllm-b.proxy in the profile): no service has 'proxy: vllm-b'",
        "proxy 'ollama' (backends.ollama.proxy in the profile): no service has 'proxy: ollama'",
        "proxy 'cloud' (backends.cloud.proxy, backends.cloud-limited.proxy in the profile): "
        "no service has 'proxy: cloud'",
        "proxy 'redis' (redis.proxy in the profile): no service has 'proxy: redis'",
        "(the stack's proxies: vllm-a)",
    ]


def test_make_backend_says_which_setting_and_file(tmp_path: Path) -> None:
    stack, profile = write_tiny(tmp_path)
    origin = {"stack_file": Source(f"settings.stack_file in {profile} line 2", tmp_path)}
    settings = Settings(stack_file=stack, report_dir=tmp_path / "results")
    with pytest.raises(StackSpecError) as excinfo:
        make_backend(settings, origins=origin)  # the reference profile: does not fit
    message = str(excinfo.value)
    assert message.startswith(
        f"aistack: stack_file {stack} (from settings.stack_file in {profile} line 2) does not "
        f"provide what the profile {REFERENCE_PROFILE} expects:\n  - proxy 'vllm-a'"
    )
    assert message.endswith("describes this stack (docs/profile.md).")

    # With its own profile it fits, and nothing starts until up().
    _, loaded = make_backend(
        Settings(stack_file=stack, profile=profile, report_dir=tmp_path / "results")
    )
    assert loaded.path == profile
    assert runs.load_runs() == []
