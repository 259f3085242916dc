"""requires_vllm / ollama / llamacpp / gateway / docker against real local servers."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from .servers import HttpServer, Route

MODELS = Route(body={"object": "list", "data": [{"id": "m-small", "object": "model"}]})
TAGS = Route(body={"models": [{"name": "llama3:latest", "model": "llama3:latest"}]})

Start = Callable[..., HttpServer]


def _one_test(pytester: pytest.Pytester, marker: str) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.{marker}
        def test_needs_it():
            pass
        """
    )


def _skip_reason(result: pytest.RunResult) -> str:
    for line in result.outlines:
        match = re.match(r"SKIPPED \[1\] \S+: (.*)$", line)
        if match:
            return match.group(1)
    raise AssertionError("no SKIPPED line in:\n" + result.stdout.str())


def test_vllm_answering_passes(pytester: pytest.Pytester, ini: object, http_server: Start) -> None:
    server = http_server({"/v1/models": MODELS})
    _one_test(pytester, "requires_vllm")
    result = pytester.runpytest(f"--aistack-vllm-url={server.url}")
    result.assert_outcomes(passed=1)
    assert server.hits["/v1/models"] == 1


def test_vllm_refused_skips_with_exact_reason(
    pytester: pytest.Pytester, ini: object, refused_url: str
) -> None:
    _one_test(pytester, "requires_vllm")
    result = pytester.runpytest("-rs", f"--aistack-vllm-url={refused_url}")
    result.assert_outcomes(skipped=1)
    assert re.fullmatch(
        rf"requires_vllm: no vLLM at {refused_url} \(GET /v1/models: connection refused "
        r"after \d+ ms\); set AISTACK_VLLM_URL or \[tool.aistack\] vllm_url",
        _skip_reason(result),
    )


def test_skip_points_at_the_test(pytester: pytest.Pytester, ini: object, refused_url: str) -> None:
    _one_test(pytester, "requires_vllm")
    result = pytester.runpytest("-rs", f"--aistack-vllm-url={refused_url}")
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] test_skip_points_at_the_test.py:3: *"])


def test_vllm_model_listed_and_not_listed(
    pytester: pytest.Pytester, ini: object, http_server: Start
) -> None:
    server = http_server({"/v1/models": MODELS})
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requires_vllm(model="m-small")
        def test_listed():
            pass

        @pytest.mark.requires_vllm(model="m-huge")
        def test_not_listed():
            pass
        """
    )
    result = pytester.runpytest("-rs", f"--aistack-vllm-url={server.url}")
    result.assert_outcomes(passed=1, skipped=1)
    assert re.fullmatch(
        rf"requires_vllm: vLLM at {server.url} does not list model 'm-huge' "
        r"\(GET /v1/models: 200 after \d+ ms; listed: m-small\); "
        r"set AISTACK_VLLM_URL or \[tool.aistack\] vllm_url",
        _skip_reason(result),
    )
    # One GET serves both tests: probes run once per target per session.
    assert server.hits["/v1/models"] == 1


@pytest.mark.parametrize(
    ("route", "detail"),
    [
        (Route(503, {"error": "loading"}), r'HTTP 503: \{"error": "loading"\}'),
        (Route(200, {"models": []}), "200 but not an OpenAI model list"),
        (Route(200, b"<html>hi</html>"), "200 but not an OpenAI model list"),
    ],
)
def test_vllm_wrong_answers_skip(
    pytester: pytest.Pytester, ini: object, http_server: Start, route: Route, detail: str
) -> None:
    server = http_server({"/v1/models": route})
    _one_test(pytester, "requires_vllm")
    result = pytester.runpytest("-rs", f"--aistack-vllm-url={server.url}")
    result.assert_outcomes(skipped=1)
    assert re.search(rf"\(GET /v1/models: {detail} after \d+ ms\)", _skip_reason(result))


def test_slow_server_is_cut_at_probe_timeout(
    pytester: pytest.Pytester, ini: object, http_server: Start
) -> None:
    server = http_server({"/v1/models": Route(body={"data": []}, delay=10.0)})
    _one_test(pytester, "requires_vllm")
    result = pytester.runpytest(
        "-rs", f"--aistack-vllm-url={server.url}", "--aistack-probe-timeout=0.3"
    )
    result.assert_outcomes(skipped=1)
    match = re.search(r"GET /v1/models: timed out after (\d+) ms", _skip_reason(result))
    assert match, _skip_reason(result)
    # Bounded by the 0.3 s timeout; the upper bound is generous for a loaded machine.
    assert 300 <= int(match.group(1)) < 3000


def test_probes_run_concurrently(
    pytester: pytest.Pytester, ini: object, http_server: Start
) -> None:
    slow = Route(body={"data": []}, delay=10.0)
    vllm = http_server({"/v1/models": slow})
    ollama = http_server({"/api/tags": slow})
    llama = http_server({"/health": slow})
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requires_vllm
        @pytest.mark.requires_ollama
        @pytest.mark.requires_llamacpp
        def test_all():
            pass
        """
    )
    result = pytester.runpytest(
        "-rs",
        f"--aistack-vllm-url={vllm.url}",
        f"--aistack-ollama-url={ollama.url}",
        f"--aistack-llamacpp-url={llama.url}",
        "--aistack-probe-timeout=1",
    )
    result.assert_outcomes(skipped=1)
    # Three probes of 1 s each: one after another they would need 3 s.
    assert result.duration < 2.5, result.duration
    reason = _skip_reason(result)
    assert reason.count("timed out") == 3
    assert " | requires_" in reason


def test_ollama_tags_and_model_tag(
    pytester: pytest.Pytester, ini: object, http_server: Start
) -> None:
    server = http_server({"/api/tags": TAGS})
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requires_ollama
        def test_any():
            pass

        @pytest.mark.requires_ollama(model="llama3")
        def test_default_tag():
            pass

        @pytest.mark.requires_ollama(model="qwen2:7b")
        def test_missing():
            pass
        """
    )
    result = pytester.runpytest("-rs", f"--aistack-ollama-url={server.url}")
    result.assert_outcomes(passed=2, skipped=1)
    assert re.fullmatch(
        rf"requires_ollama: Ollama at {server.url} does not list model 'qwen2:7b' "
        r"\(GET /api/tags: 200 after \d+ ms; listed: llama3:latest\); "
        r"set AISTACK_OLLAMA_URL or \[tool.aistack\] ollama_url",
        _skip_reason(result),
    )


def test_ollama_refused(pytester: pytest.Pytester, ini: object, refused_url: str) -> None:
    _one_test(pytester, "requires_ollama")
    result = pytester.runpytest("-rs", f"--aistack-ollama-url={refused_url}")
    assert re.fullmatch(
        rf"requires_ollama: no Ollama at {refused_url} \(GET /api/tags: connection refused "
        r"after \d+ ms\); set AISTACK_OLLAMA_URL or \[tool.aistack\] ollama_url",
        _skip_reason(result),
    )


def test_llamacpp_health(pytester: pytest.Pytester, ini: object, http_server: Start) -> None:
    up = http_server({"/health": Route(body={"status": "ok"})})
    loading = http_server({"/health": Route(503, {"error": {"message": "Loading model"}})})
    _one_test(pytester, "requires_llamacpp")
    pytester.runpytest(f"--aistack-llamacpp-url={up.url}").assert_outcomes(passed=1)
    result = pytester.runpytest("-rs", f"--aistack-llamacpp-url={loading.url}")
    assert re.fullmatch(
        rf"requires_llamacpp: no llama.cpp server at {loading.url} \(GET /health: "
        r'/health HTTP 503: \{"error": \{"message": "Loading model"\}\} after \d+ ms\); '
        r"set AISTACK_LLAMACPP_URL or \[tool.aistack\] llamacpp_url",
        _skip_reason(result),
    )


def test_gateway_liveliness_then_health(
    pytester: pytest.Pytester, ini: object, http_server: Start
) -> None:
    litellm_like = http_server({"/health/liveliness": Route(body="I'm alive!")})
    plain = http_server({"/health": Route(body={"ok": True})})
    neither = http_server({})
    _one_test(pytester, "requires_gateway")
    pytester.runpytest(f"--aistack-gateway-url={litellm_like.url}").assert_outcomes(passed=1)
    pytester.runpytest(f"--aistack-gateway-url={plain.url}").assert_outcomes(passed=1)
    assert plain.hits == {"/health/liveliness": 1, "/health": 1}
    result = pytester.runpytest("-rs", f"--aistack-gateway-url={neither.url}")
    assert re.fullmatch(
        rf"requires_gateway: no gateway at {neither.url} \(GET /health/liveliness: "
        r'/health/liveliness HTTP 404: \{"detail": "Not Found"\}, '
        r'/health HTTP 404: \{"detail": "Not Found"\} after \d+ ms\); '
        r"set AISTACK_GATEWAY_URL or \[tool.aistack\] gateway_url",
        _skip_reason(result),
    )


def test_docker_engine_on_unix_socket(
    pytester: pytest.Pytester,
    ini: object,
    http_server: Start,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    engine = http_server({"/_ping": Route(body=b"OK")}, unix_path=tmp_path / "docker.sock")
    monkeypatch.setenv("DOCKER_HOST", engine.url)
    _one_test(pytester, "requires_docker")
    pytester.runpytest().assert_outcomes(passed=1)
    assert engine.hits["/_ping"] == 1


def test_docker_missing_socket(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/absent.sock")
    _one_test(pytester, "requires_docker")
    result = pytester.runpytest("-rs")
    assert re.fullmatch(
        rf"requires_docker: no Docker engine at unix://{tmp_path}/absent.sock "
        r"\(GET /_ping: no such socket after \d+ ms\); start the Docker daemon or set DOCKER_HOST",
        _skip_reason(result),
    )


def test_docker_tcp_host(
    pytester: pytest.Pytester,
    ini: object,
    http_server: Start,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = http_server({"/_ping": Route(body=b"OK")})
    monkeypatch.setenv("DOCKER_HOST", engine.url.replace("http://", "tcp://"))
    _one_test(pytester, "requires_docker")
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.requires_docker  # our own marker: runs where this machine has an engine
def test_real_docker_engine(pytester: pytest.Pytester, ini: object) -> None:
    _one_test(pytester, "requires_docker")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.re_match_lines([r"aistack probe docker \S+: ok \(GET /_ping: 200 after \d+ ms\)"])
