"""What each resilience scenario did, saved as ``<report_dir>/resilience.json``.

Each :class:`ScenarioRecord` is one row of the resiliency matrix: which dependency was
broken, by what fault, which promise of the profile's ``policy:`` was checked, what was
expected, what was observed and the verdict. A scenario fills its record through the
``scenario`` fixture (pytest_aistack.resilience.fixtures)::

    scenario.dependency = "vllm-a"                 # what was broken
    scenario.promise = "policy.allowed_fails"      # the policy key(s) checked
    scenario.fault = "proxy of vllm-a disabled"
    scenario.expected = "..."
    scenario.observe("...")                        # any number of lines

The verdict comes from the test outcome. The JSON shape is documented in
docs/scenarios.md ("resilience.json"); files written before ``dependency`` and
``promise`` existed still load (the fields are empty).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

RESULTS_FILE = "resilience.json"
# What the matrix shows for a record from before the field existed.
UNKNOWN = "(not recorded)"


# slots: a misspelt attribute (``scenario.promises = ...``) raises instead of vanishing
# from the saved row.
@dataclass(slots=True)
class ScenarioRecord:
    scenario: str
    fault: str = ""
    expected: str = ""
    observed: list[str] = field(default_factory=list)
    verdict: str = "not run"  # PASS | FAIL | SKIP | not run
    seconds: float = 0.0
    # Which part was broken: a backend name (several joined by ", "), "redis", "gateway".
    dependency: str = ""
    # The policy key(s) this row checks, joined by ", ": "policy.allowed_fails".
    promise: str = ""
    # Where the evidence came from, per backend: "ground truth: vllm-a: mock admin API;
    # llamacpp-a: proxy ledger (by x-request-id)" (AIStack.ground_truth).
    ground_truth: str = ""

    def observe(self, line: str) -> None:
        self.observed.append(line)

    @property
    def promises(self) -> list[str]:
        return [key.strip() for key in self.promise.split(",") if key.strip()]

    @classmethod
    def from_json(cls, row: Any) -> ScenarioRecord:
        """One saved row; keys this version does not know are ignored (newer writers)."""
        if not isinstance(row, dict):
            raise TypeError(f"a scenario record is a JSON object, got {type(row).__name__}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in known})


@dataclass(frozen=True)
class MatrixRow:
    """One promise checked: dependency x fault -> verdict."""

    dependency: str
    fault: str
    promise: str
    expected: str
    observed: tuple[str, ...]
    verdict: str
    scenario: str
    seconds: float


def resilience_matrix(records: list[ScenarioRecord]) -> list[MatrixRow]:
    """The records as matrix rows, grouped by dependency (first-seen order kept)."""
    order: dict[str, int] = {}
    for r in records:
        order.setdefault(r.dependency or UNKNOWN, len(order))
    rows = [
        MatrixRow(
            dependency=r.dependency or UNKNOWN,
            fault=r.fault,
            promise=r.promise or UNKNOWN,
            expected=r.expected,
            observed=tuple(r.observed),
            verdict=r.verdict,
            scenario=r.scenario,
            seconds=r.seconds,
        )
        for r in records
    ]
    return sorted(rows, key=lambda row: order[row.dependency])


def save_records(records: list[ScenarioRecord], report_dir: Path) -> Path:
    out = report_dir / RESULTS_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([asdict(r) for r in records], indent=2))
    return out


def load_records(report_dir: Path) -> list[ScenarioRecord]:
    path = report_dir / RESULTS_FILE
    rows = json.loads(path.read_text())
    if not isinstance(rows, list):
        raise TypeError(f"{path}: expected a JSON list of scenario records")
    return [ScenarioRecord.from_json(row) for row in rows]
