"""requires_cloud: key variables, providers, and the opt-in authenticated probe."""

from __future__ import annotations

import re

import pytest

from .servers import Route
from .test_probes_http import Start, _one_test, _skip_reason

MODELS = {"object": "list", "data": [{"id": "gpt-x", "object": "model"}]}


def test_key_unset_skips(pytester: pytest.Pytester, ini: object) -> None:
    _one_test(pytester, "requires_cloud")
    result = pytester.runpytest("-rs")
    assert _skip_reason(result) == (
        "requires_cloud: no API key for cloud (environment variable OPENAI_API_KEY is not set "
        "or empty); set OPENAI_API_KEY or [tool.aistack] cloud_key_env"
    )


def test_key_set_passes_without_network(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    _one_test(pytester, "requires_cloud")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["aistack probes: none needed by the selected tests"])


def test_empty_key_counts_as_unset(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "  ")
    _one_test(pytester, "requires_cloud")
    pytester.runpytest().assert_outcomes(skipped=1)


def test_several_key_variables_all_required(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEY_A", "a")
    _one_test(pytester, "requires_cloud")
    result = pytester.runpytest("-rs", "--aistack-cloud-key-env=KEY_A,KEY_B,KEY_C")
    assert _skip_reason(result) == (
        "requires_cloud: no API key for cloud (environment variable KEY_B, KEY_C are not set "
        "or empty); set KEY_B, KEY_C or [tool.aistack] cloud_key_env"
    )


def test_provider_and_key_env_kwargs(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_GATEWAY_KEY", "x")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requires_cloud(provider="anthropic")
        def test_anthropic():
            pass

        @pytest.mark.requires_cloud(provider="internal", key_env="MY_GATEWAY_KEY")
        def test_custom():
            pass
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    assert _skip_reason(result) == (
        "requires_cloud: no API key for anthropic (environment variable ANTHROPIC_API_KEY is "
        "not set or empty); set ANTHROPIC_API_KEY or pass key_env= to the marker"
    )


def test_probe_cloud_sends_the_key(
    pytester: pytest.Pytester, ini: object, http_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = http_server({"/v1/models": Route(body=MODELS, bearer="sk-good")})
    _one_test(pytester, "requires_cloud")
    args = ["-rs", "--aistack-probe-cloud", f"--aistack-cloud-base-url={api.url}"]

    monkeypatch.setenv("OPENAI_API_KEY", "sk-good")
    pytester.runpytest(*args).assert_outcomes(passed=1)

    monkeypatch.setenv("OPENAI_API_KEY", "sk-revoked")
    result = pytester.runpytest(*args)
    result.assert_outcomes(skipped=1)
    assert re.fullmatch(
        rf"requires_cloud: no cloud API at {api.url} \(GET /v1/models: HTTP 401: "
        r'\{"error": "invalid api key"\} '
        r"after \d+ ms\); set AISTACK_CLOUD_BASE_URL or \[tool.aistack\] cloud_base_url",
        _skip_reason(result),
    )
    assert "sk-revoked" not in result.stdout.str()
    assert api.hits["/v1/models"] == 2
