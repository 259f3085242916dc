"""Read a results directory: every file type the harness writes there, each parsed once.

=============================  ====================================================
``resilience.json``            the scenario records (``pytest_aistack.resilience.records``)
``*.xml`` (JUnit)              pytest ``--junitxml`` runs: outcome of every test
``*.json`` with schema         load runs (``pytest_aistack.load.results``)
``pytest-aistack/load-result``
=============================  ====================================================

Only the directory itself is read, not sub-directories (those hold per-run logs). A
file that cannot be parsed is reported as a problem naming it, never skipped silently.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_aistack.errors import ConfigError
from pytest_aistack.load.results import SCHEMA as LOAD_SCHEMA
from pytest_aistack.load.results import LoadResult, ResultFileError, read_result
from pytest_aistack.resilience.records import RESULTS_FILE as SCENARIO_FILE
from pytest_aistack.resilience.records import ScenarioRecord

OUTCOMES = ("passed", "failed", "error", "skipped")


class ReportError(ConfigError):
    """The results directory cannot be read at all."""


@dataclass(frozen=True)
class TestCase:
    name: str  # classname::name as pytest writes them
    outcome: str  # one of OUTCOMES
    seconds: float
    message: str = ""


@dataclass(frozen=True)
class TestRun:
    """One JUnit file."""

    path: Path
    cases: tuple[TestCase, ...]

    def count(self, outcome: str) -> int:
        return sum(1 for case in self.cases if case.outcome == outcome)

    @property
    def seconds(self) -> float:
        return sum(case.seconds for case in self.cases)


@dataclass
class Results:
    directory: Path
    scenarios: list[ScenarioRecord] = field(default_factory=list)
    test_runs: list[TestRun] = field(default_factory=list)
    loads: list[LoadResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "<file>: why it was not read"

    @property
    def empty(self) -> bool:
        return not (self.scenarios or self.test_runs or self.loads)

    @property
    def failed_scenarios(self) -> list[ScenarioRecord]:
        return [s for s in self.scenarios if s.verdict.upper() == "FAIL"]

    @property
    def failed_tests(self) -> list[tuple[TestRun, TestCase]]:
        return [
            (run, case)
            for run in self.test_runs
            for case in run.cases
            if case.outcome in ("failed", "error")
        ]

    @property
    def unmet_loads(self) -> list[LoadResult]:
        return [load for load in self.loads if not load.slo_passed]

    @property
    def ok(self) -> bool:
        """No failed scenario, test or SLO, and every file was readable."""
        return not (self.failed_scenarios or self.failed_tests or self.unmet_loads or self.problems)


def collect(directory: Path) -> Results:
    if not directory.is_dir():
        raise ReportError(
            f"{directory}: no such results directory; pass the directory the run wrote "
            "(--aistack-report-dir, default results)"
        )
    results = Results(directory)
    for path in sorted(directory.iterdir()):
        if not path.is_file():
            continue
        if path.name == SCENARIO_FILE:
            _read_scenarios(path, results)
        elif path.suffix == ".xml":
            _read_junit(path, results)
        elif path.suffix == ".json":
            _read_load(path, results)
    return results


def _read_scenarios(path: Path, results: Results) -> None:
    try:
        rows = json.loads(path.read_text())
        results.scenarios.extend(ScenarioRecord.from_json(row) for row in rows)
    except (OSError, ValueError, TypeError) as exc:
        results.problems.append(f"{path}: not a scenario record list ({exc})")


def _read_load(path: Path, results: Results) -> None:
    try:
        head: Any = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        results.problems.append(f"{path}: not JSON ({exc})")
        return
    if not isinstance(head, dict) or head.get("schema") != LOAD_SCHEMA:
        return  # some other JSON file (a profile, a baseline): not ours to judge
    try:
        results.loads.append(read_result(path))
    except ResultFileError as exc:
        results.problems.append(str(exc))


def _read_junit(path: Path, results: Results) -> None:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        results.problems.append(f"{path}: not a JUnit XML file ({exc})")
        return
    if root.tag not in ("testsuites", "testsuite"):
        return  # some other XML
    cases = []
    for element in root.iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            child = element.find(tag)
            if child is not None:
                outcome = "failed" if tag == "failure" else tag
                message = child.get("message") or (child.text or "").strip()
                break
        classname, name = element.get("classname", ""), element.get("name", "?")
        cases.append(
            TestCase(
                name=f"{classname}::{name}" if classname else name,
                outcome=outcome,
                seconds=float(element.get("time") or 0.0),
                message=message,
            )
        )
    results.test_runs.append(TestRun(path, tuple(cases)))
