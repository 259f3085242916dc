"""Strict mode, the terminal summary section, the report header and probe lines."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_aistack.chaos import engine as chaos_engine

from .servers import RedisServer, Route
from .test_probes_http import MODELS, Start, _one_test

REFUSED_REASON = (
    r"requires_vllm: no vLLM at {url} \(GET /v1/models: connection refused after \d+ ms\); "
    r"set AISTACK_VLLM_URL or \[tool.aistack\] vllm_url"
)


def _failed_reason(result: pytest.RunResult) -> str:
    for line in result.outlines:
        match = re.match(r"FAILED \S+ - Failed: (.*)$", line)
        if match:
            return match.group(1)
    raise AssertionError("no FAILED line in:\n" + result.stdout.str())


@pytest.mark.parametrize("how", ["cli", "ini", "env"])
def test_strict_turns_the_skip_into_a_failure(
    pytester: pytest.Pytester,
    ini: Callable[..., Path],
    refused_url: str,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    _one_test(pytester, "requires_vllm")
    args = ["-rA", "--tb=line", "-o", "console_output_style=classic"]
    args.append(f"--aistack-vllm-url={refused_url}")
    if how == "cli":
        args.append("--aistack-strict")
    elif how == "ini":
        ini(aistack_strict="true")
    else:
        monkeypatch.setenv("AISTACK_STRICT", "1")
    result = pytester.runpytest(*args, "--no-fold-skipped")
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # The failure carries exactly the reason the skip would have had.
    long_reason = next(
        line for line in result.outlines if line.startswith("requires_vllm: no vLLM")
    )
    assert re.fullmatch(REFUSED_REASON.format(url=refused_url), long_reason)
    result.stdout.fnmatch_lines(
        ["aistack: 1 test failed for missing requirements (--aistack-strict)"]
    )


def test_strict_reports_failed_not_error_and_runs_no_fixture(
    pytester: pytest.Pytester, ini: object, refused_url: str
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def vllm_client():
            raise AssertionError("the fixture must not run when vLLM is missing")

        @pytest.mark.requires_vllm
        def test_chat(vllm_client):
            pass
        """
    )
    result = pytester.runpytest(f"--aistack-vllm-url={refused_url}", "--aistack-strict")
    result.assert_outcomes(failed=1, errors=0)
    assert "the fixture must not run" not in result.stdout.str()


def test_strict_does_not_touch_met_requirements(
    pytester: pytest.Pytester, ini: object, http_server: Start
) -> None:
    server = http_server({"/v1/models": MODELS})
    _one_test(pytester, "requires_vllm")
    result = pytester.runpytest(f"--aistack-vllm-url={server.url}", "--aistack-strict")
    result.assert_outcomes(passed=1)
    assert "aistack: " not in "\n".join(
        line for line in result.outlines if "missing requirements" in line
    )


def test_summary_section_counts_tests_per_requirement(
    pytester: pytest.Pytester, ini: object, refused_url: str
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requires_vllm
        def test_v1(): pass

        @pytest.mark.requires_vllm
        def test_v2(): pass

        @pytest.mark.requires_vllm
        @pytest.mark.requires_redis
        def test_both(): pass

        @pytest.mark.requires_redis
        def test_r(): pass

        @pytest.mark.requires_cloud
        def test_c(): pass

        def test_plain(): pass
        """
    )
    redis_url = refused_url.replace("http://", "redis://")
    result = pytester.runpytest(
        f"--aistack-vllm-url={refused_url}", f"--aistack-redis-url={redis_url}"
    )
    result.assert_outcomes(passed=1, skipped=5)
    result.stdout.re_match_lines(
        [
            r"=+ aistack =+$",
            r"aistack: 5 tests skipped for missing requirements$",
            r"- requires_cloud x1: no API key for cloud \(environment variable OPENAI_API_KEY "
            r"is not set or empty\); set OPENAI_API_KEY or \[tool.aistack\] cloud_key_env$",
            rf"- requires_redis x2: no Redis at {redis_url} \(PING: connection refused "
            r"after \d+ ms\); set AISTACK_REDIS_URL or \[tool.aistack\] redis_url$",
            rf"- requires_vllm x3: no vLLM at {refused_url} \(GET /v1/models: connection "
            r"refused after \d+ ms\); set AISTACK_VLLM_URL or \[tool.aistack\] vllm_url$",
        ],
        consecutive=True,
    )


def test_no_summary_section_when_nothing_is_missing(pytester: pytest.Pytester, ini: object) -> None:
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert not [line for line in result.outlines if re.match(r"=+ aistack =+$", line)]


def test_only_selected_tests_are_probed(
    pytester: pytest.Pytester, ini: object, http_server: Start
) -> None:
    vllm = http_server({"/v1/models": MODELS})
    ollama = http_server({"/api/tags": Route(body={"models": []})})
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requires_vllm
        def test_vllm(): pass

        @pytest.mark.requires_ollama
        def test_ollama(): pass
        """
    )
    result = pytester.runpytest(
        "-k", "vllm", f"--aistack-vllm-url={vllm.url}", f"--aistack-ollama-url={ollama.url}"
    )
    result.assert_outcomes(passed=1)
    assert vllm.hits["/v1/models"] == 1
    assert ollama.hits["/api/tags"] == 0
    result = pytester.runpytest("--collect-only", "-k", "nothing-matches")
    result.stdout.fnmatch_lines(["aistack probes: none needed by the selected tests"])


def test_header_shows_settings_and_origins(
    pytester: pytest.Pytester,
    ini: object,
    monkeypatch: pytest.MonkeyPatch,
    redis_server: RedisServer,
) -> None:
    monkeypatch.setenv("AISTACK_STRICT", "1")
    redis_url = f"redis://:{redis_server.password.replace(' ', '%20')}@127.0.0.1:1/0"
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest(
        "--aistack-vllm-url=http://127.0.0.1:1234", f"--aistack-redis-url={redis_url}"
    )
    result.stdout.fnmatch_lines(
        [
            "aistack: backend=local strict=True probe_timeout=1s profile=- stack_file=- "
            "keep_up=False "
            f"report_dir={pytester.path}/results",
            "aistack targets: vllm=http://127.0.0.1:1234 ollama=http://127.0.0.1:11434 "
            "llamacpp=http://127.0.0.1:8080 gateway=http://127.0.0.1:4000 "
            "redis=redis://:***@127.0.0.1:1/0",
            "aistack cloud: keys=OPENAI_API_KEY base_url=https://api.openai.com probe_cloud=False",
            "aistack chaos: engine=auto toxiproxy_bin=-*",
            "aistack set by: strict (environment variable AISTACK_STRICT), "
            "vllm_url (--aistack-vllm-url), redis_url (--aistack-redis-url)",
        ]
    )
    assert "s3cret" not in result.stdout.str()


def test_probe_results_follow_collection(
    pytester: pytest.Pytester, ini: object, http_server: Start, refused_url: str
) -> None:
    vllm = http_server({"/v1/models": MODELS})
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requires_vllm
        def test_v(): pass

        @pytest.mark.requires_gateway
        def test_g(): pass
        """
    )
    result = pytester.runpytest(
        f"--aistack-vllm-url={vllm.url}", f"--aistack-gateway-url={refused_url}"
    )
    result.stdout.re_match_lines(
        [
            r"collected 2 items$",
            rf"aistack probe vllm {vllm.url}: ok \(GET /v1/models: 200 after \d+ ms, "
            r"1 model\(s\)\)$",
            rf"aistack probe gateway {refused_url}: FAILED \(GET /health/liveliness: "
            r"connection refused after \d+ ms\)$",
        ],
        consecutive=True,
    )


def test_header_shows_chaos_engine_choice(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in for the engine's choice: this test is about the header, not the engine.
    monkeypatch.setattr(
        chaos_engine,
        "describe_engine_choice",
        lambda settings: f"embedded ({settings.chaos_engine})",
    )
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest("--aistack-chaos-engine=embedded")
    result.stdout.fnmatch_lines(
        ["aistack chaos: engine=embedded toxiproxy_bin=- -> embedded (embedded)"]
    )

    def broken(settings: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(chaos_engine, "describe_engine_choice", broken)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["aistack chaos: * -> could not determine (RuntimeError: boom)"])
