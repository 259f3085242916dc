"""Result files of a load run: ``<name>.json`` (versioned schema) and two CSV files.

Pure Python (no Locust import): the pytest fixture and the report tools read these.

JSON, schema ``pytest-aistack/load-result`` version 1::

    {
      "schema": "pytest-aistack/load-result", "schema_version": 1,
      "run": {locustfile, host, model, kind, arrival, users_max, processes, started_at, ...},
      "summary": Summary.to_dict(): latency_ms.{ttft,itl,tpot,e2e,ttfb,...}.{count,mean,min,
                 max,p50,p90,p95,p99,p99.9}, outcomes, error_rate, requests_per_s, ...,
      "slo": {"spec": [...], "passed": bool, "results": [{term, value, met}], "unmet": [...]},
      "reliability": {"reliable": bool, "reasons": [...], "processes": {...}},
      "histograms": RunMetrics.to_dict() (exact, mergeable with other runs); its
                    "timeline" holds one bucket per wall-clock second (requests, outcomes,
                    tokens, coarse TTFT/E2E histograms, users): metrics/timeline.py
    }

CSV: ``<name>_latency.csv`` one row per metric (milliseconds);
``<name>_outcomes.csv`` one row per outcome.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_aistack.errors import LoadError
from pytest_aistack.metrics import RunMetrics, SLOResult, SLOSpec, Summary

SCHEMA = "pytest-aistack/load-result"
SCHEMA_VERSION = 1
LATENCY_COLUMNS = ("count", "mean", "min", "p50", "p90", "p95", "p99", "p99.9", "max")


class ResultFileError(LoadError):
    pass


def build_result(
    *,
    run: dict[str, Any],
    metrics: RunMetrics,
    slo: SLOSpec,
    slo_results: list[SLOResult],
    reliability: dict[str, Any],
) -> dict[str, Any]:
    summary = Summary.from_metrics(metrics)
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "run": run,
        "summary": summary.to_dict(),
        "slo": {
            "spec": slo.to_list(),
            "passed": all(r.met for r in slo_results),
            "results": [
                {
                    "term": r.term.text,
                    "value": None if math.isnan(r.value) else r.value,
                    "met": r.met,
                }
                for r in slo_results
            ],
            "unmet": [r.describe() for r in slo_results if not r.met],
        },
        "reliability": reliability,
        "histograms": metrics.to_dict(),
    }


def write_result_files(result: dict[str, Any], directory: Path, name: str) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{name}.json"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")
    tmp.replace(json_path)  # readers never see a half-written file
    latency_path = directory / f"{name}_latency.csv"
    with latency_path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["metric", *(c if c == "count" else f"{c}_ms" for c in LATENCY_COLUMNS)])
        for metric, stats in result["summary"]["latency_ms"].items():
            writer.writerow(
                [metric, *("" if stats[c] is None else stats[c] for c in LATENCY_COLUMNS)]
            )
    outcomes_path = directory / f"{name}_outcomes.csv"
    with outcomes_path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["outcome", "requests"])
        for outcome, count in result["summary"]["outcomes"].items():
            writer.writerow([outcome, count])
    return [json_path, latency_path, outcomes_path]


@dataclass(frozen=True)
class LoadResult:
    """A parsed result file."""

    path: Path
    data: dict[str, Any]

    @property
    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = self.data["summary"]
        return summary

    def latency_ms(self, metric: str, stat: str) -> float | None:
        try:
            value: float | None = self.summary["latency_ms"][metric][stat]
        except KeyError:
            raise KeyError(
                f"{self.path}: no latency statistic {metric}.{stat}; metrics: "
                f"{', '.join(self.summary['latency_ms'])}"
            ) from None
        return value

    @property
    def outcomes(self) -> dict[str, int]:
        outcomes: dict[str, int] = self.summary["outcomes"]
        return outcomes

    @property
    def requests(self) -> int:
        return int(self.summary["requests"])

    @property
    def slo_passed(self) -> bool:
        return bool(self.data["slo"]["passed"])

    @property
    def reliable(self) -> bool:
        return bool(self.data["reliability"]["reliable"])

    def metrics(self) -> RunMetrics:
        return RunMetrics.from_dict(self.data["histograms"])


def read_result(path: Path) -> LoadResult:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ResultFileError(f"cannot read load result {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ResultFileError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ResultFileError(f"{path}: not a {SCHEMA} file")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ResultFileError(
            f"{path}: schema_version {version!r}, this pytest-aistack reads version "
            f"{SCHEMA_VERSION}; re-run the load test or upgrade pytest-aistack"
        )
    return LoadResult(path, data)
