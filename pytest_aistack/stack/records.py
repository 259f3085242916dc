"""What each resilience scenario did: the rows of the demo's table, saved as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS_FILE = "resilience.json"


@dataclass
class ScenarioRecord:
    scenario: str
    fault: str = ""
    expected: str = ""
    observed: list[str] = field(default_factory=list)
    verdict: str = "not run"  # PASS | FAIL | SKIP | not run
    seconds: float = 0.0

    def observe(self, line: str) -> None:
        self.observed.append(line)


def save_records(records: list[ScenarioRecord], report_dir: Path) -> Path:
    out = report_dir / RESULTS_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([asdict(r) for r in records], indent=2))
    return out


def load_records(report_dir: Path) -> list[ScenarioRecord]:
    path = report_dir / RESULTS_FILE
    return [ScenarioRecord(**row) for row in json.loads(path.read_text())]
