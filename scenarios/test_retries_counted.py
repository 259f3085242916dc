"""Scenario 8: a failed attempt is retried ``num_retries`` times, counted at the backends."""

from __future__ import annotations

import time

import pytest

from pytest_aistack.chaos.faults import Chaos
from pytest_aistack.resilience.records import ScenarioRecord
from pytest_aistack.stack.ground_truth import attempts
from pytest_aistack.stack.handle import AIStack

# The router picks one deployment per attempt, so some resets may carry no traffic.
pytestmark = [pytest.mark.resilience, pytest.mark.chaos(assert_all_faults_exercised=False)]

# No fallback group may answer: every attempt the gateway makes is one in the group's logs.
NO_FALLBACKS = {"disable_fallbacks": True}


def test_retries_counted(stack: AIStack, chaos: Chaos, scenario: ScenarioRecord) -> None:
    policy = stack.policy
    group = stack.profile.primary_group
    deployments = [b.name for b in stack.profile.backends_of(group)]
    # A reset answer surfaces as LiteLLM's InternalServerError ("Connection error.").
    retries = policy.retries_for("InternalServerError")
    expected = retries + 1
    scenario.dependency = ", ".join(deployments)
    scenario.promise = "policy.num_retries, policy.retry_policy"
    scenario.fault = f"reset_peer on {', '.join(deployments)}: every answer reset"
    scenario.expected = (
        f"one request, fallbacks off: exactly retries+1 = {expected} attempts in the "
        "backends' ground truth, then an error to the user"
    )
    stack.require_ground_truth(deployments)  # before any fault: a skip says what is missing
    truths = {name: stack.admin(name) for name in deployments}
    for name in deployments:
        chaos.reset_peer(stack.proxy_of(name)).apply()

    sent_at = time.time()
    result = stack.chat(extra=NO_FALLBACKS)
    window = (sent_at, time.time())
    made = {name: attempts(truth, result.request_id, window) for name, truth in truths.items()}
    total = sum(made.values())
    header = result.headers.get("x-litellm-attempted-retries", "absent")
    scenario.observe(
        f"{result.describe()}; attempts in ground truth {made}; "
        f"x-litellm-attempted-retries {header}"
    )
    scenario.ground_truth = stack.ground_truth(deployments)
    scenario.observe(scenario.ground_truth)
    assert result.status != 200, f"every attempt was reset, yet: {result.describe()}"
    assert total == expected, (
        f"policy.num_retries={retries} promised: {result.request_id} made {total} "
        f"attempt(s) in ground truth {made}, not {expected} (1 + {retries} retries)"
    )
