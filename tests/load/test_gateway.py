"""burst.py against the reference stack's real LiteLLM gateway (Authorization: Bearer)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_aistack.load.pytest_fixtures import RunLocust

from .conftest import LOCUSTFILES

pytestmark = pytest.mark.load


def test_burst_through_the_gateway(run_locust: RunLocust, aistack_stack: Any) -> None:
    run = run_locust(
        LOCUSTFILES / "burst.py",
        host=aistack_stack.gateway_url,
        env={"AISTACK_API_KEY": aistack_stack.stack.gateway_key.value},
        # Latency on a shared machine is not this test's business; the gate is.
        slo="error_rate<=0.01",
        args=[
            "--llm-model", aistack_stack.profile.primary_group,
            "--shape-users", "2", "--burst-multiplier", "2", "--burst-at", "1",
            "--burst-for", "2", "--shape-duration", "4", "--llm-max-tokens", "8",
        ],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    result = run.result
    assert result.requests > 0
    assert result.outcomes["ok"] == result.requests
    # LiteLLM passes stream_options.include_usage through: exact token counts.
    assert result.summary["output_tokens_estimated"] is False
    assert result.summary["output_tokens"] == 8 * result.requests


def test_gateway_rejects_a_missing_key_as_http_error(
    run_locust: RunLocust, aistack_stack: Any
) -> None:
    run = run_locust(
        LOCUSTFILES / "burst.py",
        host=aistack_stack.gateway_url,
        env={"AISTACK_API_KEY": "", "OPENAI_API_KEY": ""},
        args=[
            "--llm-model", aistack_stack.profile.primary_group,
            "--shape-users", "1", "--burst-at", "10", "--shape-duration", "1.5",
        ],
    )  # fmt: skip
    assert run.exit_code == 1
    assert "SLO FAILED" in run.output
    outcomes = run.result.outcomes
    assert outcomes["http_error"] == run.result.requests > 0
    assert set(run.result.summary["http_status"]) == {"401"}
