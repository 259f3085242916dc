"""The text table (`make demo` prints it) is the resiliency matrix."""

from __future__ import annotations

from pytest_aistack.resilience.records import ScenarioRecord
from pytest_aistack.resilience.table import COLUMNS, format_table


def test_table_shows_dependency_fault_promise_and_verdict_grouped_by_dependency() -> None:
    records = [
        ScenarioRecord(
            "one_deployment_down",
            "proxy of vllm-a disabled",
            "no failed request",
            ["6/6 ok"],
            "PASS",
            dependency="vllm-a",
            promise="policy.allowed_fails",
        ),
        ScenarioRecord("redis_down", verdict="FAIL", dependency="redis", promise="policy.x"),
        ScenarioRecord("slow", verdict="PASS", dependency="vllm-a", promise="policy.timeout_s"),
    ]
    lines = format_table(records).splitlines()
    assert [c.strip() for c in lines[0].split(" | ")] == [name for name, _ in COLUMNS]
    cells = [[c.strip() for c in line.split(" | ")] for line in lines if "policy." in line]
    assert [(c[0], c[2], c[-1]) for c in cells] == [
        ("vllm-a", "policy.allowed_fails", "PASS"),
        ("vllm-a", "policy.timeout_s", "PASS"),
        ("redis", "policy.x", "FAIL"),
    ]
    assert cells[0][1] == "proxy of vllm-a disabled"
    assert cells[0][4] == "6/6 ok"
