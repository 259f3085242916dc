"""resilience.json: the rows of the resiliency matrix, old files included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_aistack.resilience.records import (
    RESULTS_FILE,
    UNKNOWN,
    ScenarioRecord,
    load_records,
    resilience_matrix,
    save_records,
)


def test_dependency_and_promise_round_trip(tmp_path: Path) -> None:
    record = ScenarioRecord("one_deployment_down", verdict="PASS")
    record.dependency = "vllm-a"
    record.promise = "policy.allowed_fails, policy.cooldown_s"
    record.observe("6/6 ok")
    save_records([record], tmp_path)

    saved = json.loads((tmp_path / RESULTS_FILE).read_text())
    assert saved[0]["dependency"] == "vllm-a"
    assert saved[0]["promise"] == "policy.allowed_fails, policy.cooldown_s"
    (loaded,) = load_records(tmp_path)
    assert loaded == record
    assert loaded.promises == ["policy.allowed_fails", "policy.cooldown_s"]


def test_a_file_from_before_the_matrix_still_loads(tmp_path: Path) -> None:
    old_row = {
        "scenario": "stream_cut",
        "fault": "limit_data",
        "expected": "explicit failure",
        "observed": ["3/3 in-band error"],
        "verdict": "PASS",
        "seconds": 2.5,
    }
    (tmp_path / RESULTS_FILE).write_text(json.dumps([old_row]))
    (loaded,) = load_records(tmp_path)
    assert (loaded.dependency, loaded.promise, loaded.verdict) == ("", "", "PASS")
    (row,) = resilience_matrix([loaded])
    assert (row.dependency, row.promise) == (UNKNOWN, UNKNOWN)


def test_a_newer_writers_extra_keys_are_ignored() -> None:
    loaded = ScenarioRecord.from_json({"scenario": "x", "verdict": "FAIL", "added_later": 1})
    assert (loaded.scenario, loaded.verdict) == ("x", "FAIL")


def test_a_misspelt_field_raises_instead_of_vanishing() -> None:
    record = ScenarioRecord("x")
    with pytest.raises(AttributeError):
        record.dependancy = "redis"  # type: ignore[attr-defined]


def test_matrix_groups_rows_by_dependency_in_first_seen_order() -> None:
    records = [
        ScenarioRecord("a", dependency="vllm-a", promise="policy.allowed_fails"),
        ScenarioRecord("b", dependency="redis", promise="policy.redis_recovery_s"),
        ScenarioRecord("c", dependency="vllm-a", promise="policy.timeout_s"),
    ]
    rows = resilience_matrix(records)
    assert [(r.dependency, r.scenario) for r in rows] == [
        ("vllm-a", "a"),
        ("vllm-a", "c"),
        ("redis", "b"),
    ]


def test_a_non_list_file_is_refused_with_its_path(tmp_path: Path) -> None:
    (tmp_path / RESULTS_FILE).write_text('{"scenario": "x"}')
    with pytest.raises(TypeError, match=r"resilience\.json: expected a JSON list"):
        load_records(tmp_path)
