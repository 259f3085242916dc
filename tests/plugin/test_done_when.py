"""The issue's acceptance case, in a scratch project run as a separate pytest process.

The inner pytest is a subprocess so the plugin is found the way a user's project
finds it: through the installed distribution's ``pytest11`` entry point.
"""

from __future__ import annotations

import re

import pytest

from .test_probes_http import MODELS, Start

REASON = (
    r"requires_vllm: no vLLM at {url} \(GET /v1/models: connection refused after \d+ ms\); "
    r"set AISTACK_VLLM_URL or \[tool.aistack\] vllm_url"
)


def test_requires_vllm_skip_pass_strict(
    pytester: pytest.Pytester,
    http_server: Start,
    refused_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytester.makefile(".toml", pyproject="[project]\nname = 'scratch'\nversion = '0'\n")
    pytester.makepyfile(
        test_chat="""
        import pytest

        @pytest.mark.requires_vllm
        def test_chat():
            pass
        """
    )
    # No plugin autoloading tricks: the subprocess sees exactly what a user's shell sees.
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setenv("AISTACK_VLLM_URL", refused_url)
    skipped = pytester.runpytest_subprocess("-rs", "-p", "no:cacheprovider")
    skipped.assert_outcomes(skipped=1)
    skip_line = next(line for line in skipped.outlines if line.startswith("SKIPPED"))
    skip_reason = skip_line.split(": ", 1)[1]
    assert re.fullmatch(REASON.format(url=refused_url), skip_reason)

    server = http_server({"/v1/models": MODELS})
    monkeypatch.setenv("AISTACK_VLLM_URL", server.url)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert server.hits["/v1/models"] == 1

    monkeypatch.setenv("AISTACK_VLLM_URL", refused_url)
    strict = pytester.runpytest_subprocess("-rf", "-p", "no:cacheprovider", "--aistack-strict")
    strict.assert_outcomes(failed=1)
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    failure_lines = [line for line in strict.outlines if line.startswith("requires_vllm: ")]
    assert failure_lines, strict.stdout.str()
    assert re.fullmatch(REASON.format(url=refused_url), failure_lines[0])
