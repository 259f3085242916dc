"""Marker registration, signatures and misuse."""

from __future__ import annotations

import pytest

from pytest_aistack.plugin.markers import MARKERS


def test_every_marker_is_listed_with_signature_and_help(
    pytester: pytest.Pytester, ini: object
) -> None:
    result = pytester.runpytest("--markers")
    assert result.ret == 0
    lines = [f"@pytest.mark.{spec.signature}: {spec.help}" for spec in MARKERS]
    result.stdout.fnmatch_lines([line.replace("[", "[[]") for line in lines], consecutive=False)
    assert {spec.name for spec in MARKERS} == {
        "resilience",
        "conformance",
        "load",
        "requires_cloud",
        "requires_vllm",
        "requires_ollama",
        "requires_redis",
        "requires_docker",
        "requires_llamacpp",
        "requires_gateway",
    }


def test_markers_pass_strict_markers(pytester: pytest.Pytester, ini: object) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.resilience
        @pytest.mark.load
        def test_marked():
            pass
        """
    )
    pytester.runpytest("--strict-markers", "-m", "resilience and load").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        (
            "requires_vllm(modle='x')",
            "@pytest.mark.requires_vllm got unexpected keyword argument(s) modle; accepted: model=",
        ),
        (
            "requires_redis(db=1)",
            "@pytest.mark.requires_redis got unexpected keyword argument(s) db; "
            "accepted: no arguments",
        ),
        (
            "requires_ollama('llama3')",
            "@pytest.mark.requires_ollama takes keyword arguments only, got positional "
            "'llama3'; accepted: model=",
        ),
        (
            "requires_vllm(model=3)",
            "@pytest.mark.requires_vllm(model=...) expects a string, got int: 3",
        ),
        (
            "requires_cloud(provider='acme')",
            "@pytest.mark.requires_cloud(provider='acme'): unknown provider; known: openai, "
            "anthropic, mistral, groq, deepseek, openrouter (or pass key_env=...)",
        ),
        (
            "resilience(fault='down')",
            "@pytest.mark.resilience got unexpected keyword argument(s) fault; "
            "accepted: no arguments",
        ),
    ],
)
def test_misuse_is_a_clear_type_error(
    pytester: pytest.Pytester, ini: object, mark: str, message: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.{mark}
        def test_misused():
            pass

        def test_unaffected():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([f"E   TypeError: {message}".replace("[", "[[]")])
    # The error is about the user's marker: no plugin frames in the way.
    assert "requirements.py" not in result.stdout.str()
    assert "pytest_aistack/requires" not in result.stdout.str()


def test_class_and_module_markers_apply(pytester: pytest.Pytester, ini: object) -> None:
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.requires_cloud

        class TestGroup:
            def test_a(self):
                pass

            def test_b(self):
                pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["aistack: 2 tests skipped for missing requirements"])
