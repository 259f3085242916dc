from __future__ import annotations

from pathlib import Path

import pytest

from pytest_aistack.stack import runs
from pytest_aistack.stack.external import ExternalBackend, ExternalStackError
from pytest_aistack.stack.profile import load_profile

INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"


def test_the_stack_starts_only_when_a_test_asks_for_it(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile("def test_plain(): assert True")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert runs.load_runs() == []
    assert not runs.runs_dir().exists()


def test_an_external_profile_with_bad_urls_fails_usefully(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    profile = tmp_path / "mine.yaml"
    profile.write_text(
        "gateway: {url: 'http://127.0.0.1:9', key_env: MY_GATEWAY_KEY}\n"
        "backends: {a: {model_group: g}}\n"
        "model_groups: {g: {deployments: [a]}}\n"
        "policy: {allowed_fails: 1, cooldown_s: 1, num_retries: 0, timeout_s: 1,"
        " stream_timeout_s: 1}\n"
    )
    pytester.makeini(INI)
    pytester.makepyfile("def test_uses_stack(aistack_stack): pass")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--aistack-backend=external", f"--aistack-profile={profile}"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*the external stack is not usable:*",
            "*- gateway http://127.0.0.1:9 (gateway.url): ConnectError*",
            "*- environment variable MY_GATEWAY_KEY (gateway.key_env) is not set*",
        ]
    )


def test_external_backend_names_each_problem(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "toxiproxy: {url: 'http://127.0.0.1:9'}\n"
        "backends: {a: {model_group: g, admin_url: 'http://127.0.0.1:9'}}\n"
        "model_groups: {g: {deployments: [a]}}\n"
        "policy: {allowed_fails: 1, cooldown_s: 1, num_retries: 0, timeout_s: 1,"
        " stream_timeout_s: 1}\n"
    )
    with pytest.raises(ExternalStackError) as excinfo:
        ExternalBackend(load_profile(path)).up()
    text = str(excinfo.value)
    assert f"gateway.url is empty in {path}" in text
    assert "Toxiproxy http://127.0.0.1:9 (toxiproxy.url)" in text
    assert "admin API of a http://127.0.0.1:9 (backends.a.admin_url)" in text
