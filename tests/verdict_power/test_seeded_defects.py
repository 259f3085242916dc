"""The seeded defects still apply to the reference stack, and the verdict table counts right."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from benchmarks.seeded_defects import (
    DEFECTS,
    GATEWAY_CONFIG,
    STACK_FILE,
    Defect,
    DefectError,
    Edit,
    write_stack,
)
from benchmarks.verdict_power import Run, table
from pytest_aistack.reference_stack import REFERENCE_DIR
from pytest_aistack.stack.spec import load_stack_spec


@pytest.mark.parametrize("defect", DEFECTS, ids=[d.name for d in DEFECTS])
def test_each_defect_changes_only_its_file_and_still_loads(defect: Defect, tmp_path: Path) -> None:
    spec = load_stack_spec(write_stack(defect, tmp_path))
    assert spec.services["gateway"].config_template == tmp_path / GATEWAY_CONFIG
    for name in (STACK_FILE, GATEWAY_CONFIG):
        changed = (tmp_path / name).read_text() != (REFERENCE_DIR / name).read_text()
        assert changed is (name == defect.file), name
    yaml.safe_load((tmp_path / GATEWAY_CONFIG).read_text())


def test_a_healthy_copy_is_the_reference_stack(tmp_path: Path) -> None:
    write_stack(None, tmp_path)
    for name in (STACK_FILE, GATEWAY_CONFIG):
        assert (tmp_path / name).read_text() == (REFERENCE_DIR / name).read_text()


def test_an_edit_that_no_longer_matches_names_the_defect() -> None:
    stale = Defect("stale", "x", GATEWAY_CONFIG, (Edit("  no_such_key: 1\n", ""),))
    with pytest.raises(DefectError, match=r"defect 'stale': expected 1 x '  no_such_key: 1\\n'"):
        stale.apply("model_list: []\n")


def test_the_defect_names_are_unique() -> None:
    names = [d.name for d in DEFECTS]
    assert len(names) == len(set(names))


def test_table_counts_caught_equivalent_and_healthy_runs() -> None:
    caught = Run("a", exit_code=1, failed={"rate_limit": "rate limit not enforced"})
    missed = Run("b", exit_code=0, passed=["rate_limit"])
    same = Run("c", equivalent="no change in this version", exit_code=0)
    healthy = [
        Run("healthy 1", exit_code=0, seconds=80),
        Run("healthy 2", exit_code=1, seconds=90, failed={"x": "y"}),
    ]
    text = table([caught, missed, same], healthy)
    assert "| a | yes | rate_limit | rate limit not enforced |" in text
    assert "| b | **NO** | - |  |" in text
    assert "| c | equivalent | - | no change in this version |" in text
    assert "catch rate: 1 of 2 defects (50 %); 1 equivalent (not counted)" in text
    assert "healthy runs: 1 of 2 passed" in text
    assert "suite wall time (s): healthy 80, 90" in text
