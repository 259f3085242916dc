"""The plugin's ``scenario`` fixture (pytest_aistack.resilience.fixtures): each test's
row of the resiliency matrix in ``resilience.json``, its verdict from the outcome, and a
failure that names the promise it broke. Run with pytester and no conftest: a user's
own scenarios get it from the plugin alone."""

from __future__ import annotations

import json

import pytest


def test_rows_verdicts_and_the_broken_promise(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        """
        import pytest

        def test_breaker(scenario):
            scenario.dependency = "vllm-a"
            scenario.promise = "policy.allowed_fails"
            scenario.fault = "proxy of vllm-a disabled"
            scenario.expected = "trips after 2 failures"
            scenario.observe("5 failures reached vllm-a")
            assert 5 == 2, "the breaker trips late"

        def test_redis(scenario):
            scenario.dependency = "redis"
            scenario.promise = "policy.redis_recovery_s"
            scenario.observe("cached again after 1.2s")

        def test_not_here(scenario):
            scenario.dependency = "gateway"
            pytest.skip("no second gateway")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--aistack-report-dir=results")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["*- broken promise -*", "policy.allowed_fails (dependency vllm-a): expected trips*"]
    )
    rows = json.loads((pytester.path / "results" / "resilience.json").read_text())
    assert [(r["scenario"], r["dependency"], r["promise"], r["verdict"]) for r in rows] == [
        ("breaker", "vllm-a", "policy.allowed_fails", "FAIL"),
        ("redis", "redis", "policy.redis_recovery_s", "PASS"),
        ("not_here", "gateway", "", "SKIP"),
    ]
    assert rows[0]["observed"] == [
        "5 failures reached vllm-a",
        "failed: AssertionError: the breaker trips late",
    ]
    assert rows[0]["fault"] == "proxy of vllm-a disabled"
