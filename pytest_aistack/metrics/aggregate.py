"""RunMetrics: the mergeable state of a run — histograms, outcome counts, tokens.

One instance per load-generator process; workers ship theirs to the master, which
merges them (exactly: histograms add bucket counts). Request records are folded in
and dropped, so memory does not grow with the length of a run.
"""

from __future__ import annotations

import time
from typing import Any

from .definitions import LATENCY_METRICS, e2e_ns, latency_values_ns, output_tokens
from .histogram import Histogram
from .record import Outcome, RequestRecord
from .slo import SLOSpec
from .timeline import Timeline

HISTOGRAM_NAMES: tuple[str, ...] = (*LATENCY_METRICS, "e2e_failed")
_ERROR_EXAMPLES_PER_OUTCOME = 3


def wall_offset_ns() -> int:
    """Add to a monotonic reading to get wall-clock ns (only for run windows)."""
    return time.time_ns() - time.monotonic_ns()


class RunMetrics:
    def __init__(self, slo: SLOSpec | None = None) -> None:
        self.slo = slo
        self.histograms: dict[str, Histogram] = {name: Histogram() for name in HISTOGRAM_NAMES}
        self.outcomes: dict[str, int] = {}
        self.http_status: dict[str, int] = {}
        self.error_examples: dict[str, list[str]] = {}
        self.requests = 0
        self.good_requests = 0
        self.output_tokens = 0
        self.prompt_tokens = 0
        self.estimated_token_requests = 0
        self.interrupted = 0
        # Wall-clock ns: comparable across processes on different machines, unlike
        # monotonic clocks; only used for the throughput window.
        self.window_start_ns: int | None = None
        self.window_end_ns: int | None = None
        self.timeline = Timeline()

    def add(self, record: RequestRecord, offset_ns: int) -> None:
        self.requests += 1
        outcome = record.outcome.value
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        tokens, estimated = output_tokens(record)
        self.output_tokens += tokens
        self.estimated_token_requests += estimated
        self.prompt_tokens += record.usage_prompt_tokens or 0
        good = False
        if record.outcome is Outcome.OK:
            for name, values in latency_values_ns(record).items():
                hist = self.histograms[name]
                for value in values:
                    hist.record(value)
            good = self.slo is None or self.slo.request_meets(record)
            self.good_requests += good
        else:
            self.histograms["e2e_failed"].record(e2e_ns(record))
            if record.outcome is Outcome.HTTP_ERROR and record.status is not None:
                key = str(record.status)
                self.http_status[key] = self.http_status.get(key, 0) + 1
            examples = self.error_examples.setdefault(outcome, [])
            if len(examples) < _ERROR_EXAMPLES_PER_OUTCOME and record.error:
                examples.append(record.error[:300])
        start = record.scheduled_ns if record.scheduled_ns is not None else record.sent_ns
        self._extend_window(start + offset_ns, record.end_ns + offset_ns)
        self.timeline.add(record, offset_ns, good=good, tokens=tokens)

    def _extend_window(self, start_ns: int | None, end_ns: int | None) -> None:
        if start_ns is not None and (
            self.window_start_ns is None or start_ns < self.window_start_ns
        ):
            self.window_start_ns = start_ns
        if end_ns is not None and (self.window_end_ns is None or end_ns > self.window_end_ns):
            self.window_end_ns = end_ns

    def merge(self, other: RunMetrics) -> None:
        for name, hist in other.histograms.items():
            self.histograms.setdefault(name, Histogram()).merge(hist)
        for target, source in (
            (self.outcomes, other.outcomes),
            (self.http_status, other.http_status),
        ):
            for key, n in source.items():
                target[key] = target.get(key, 0) + n
        for outcome, examples in other.error_examples.items():
            mine = self.error_examples.setdefault(outcome, [])
            mine.extend(examples[: _ERROR_EXAMPLES_PER_OUTCOME - len(mine)])
        self.requests += other.requests
        self.good_requests += other.good_requests
        self.output_tokens += other.output_tokens
        self.prompt_tokens += other.prompt_tokens
        self.estimated_token_requests += other.estimated_token_requests
        self.interrupted += other.interrupted
        self._extend_window(other.window_start_ns, other.window_end_ns)
        self.timeline.merge(other.timeline)

    def to_dict(self) -> dict[str, Any]:
        return {
            "histograms": {name: hist.to_dict() for name, hist in self.histograms.items()},
            "outcomes": dict(self.outcomes),
            "http_status": dict(self.http_status),
            "error_examples": {k: list(v) for k, v in self.error_examples.items()},
            "requests": self.requests,
            "good_requests": self.good_requests,
            "output_tokens": self.output_tokens,
            "prompt_tokens": self.prompt_tokens,
            "estimated_token_requests": self.estimated_token_requests,
            "interrupted": self.interrupted,
            "window_start_ns": self.window_start_ns,
            "window_end_ns": self.window_end_ns,
            "timeline": self.timeline.to_list(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], slo: SLOSpec | None = None) -> RunMetrics:
        metrics = cls(slo)
        try:
            metrics.histograms = {
                name: Histogram.from_dict(hist) for name, hist in data["histograms"].items()
            }
            for name in HISTOGRAM_NAMES:
                metrics.histograms.setdefault(name, Histogram())
            metrics.outcomes = {str(k): int(v) for k, v in data["outcomes"].items()}
            metrics.http_status = {str(k): int(v) for k, v in data["http_status"].items()}
            metrics.error_examples = {
                str(k): [str(x) for x in v] for k, v in data.get("error_examples", {}).items()
            }
            for name in (
                "requests",
                "good_requests",
                "output_tokens",
                "prompt_tokens",
                "estimated_token_requests",
                "interrupted",
            ):
                setattr(metrics, name, int(data[name]))
            metrics.window_start_ns = data["window_start_ns"]
            metrics.window_end_ns = data["window_end_ns"]
            # Optional: result files written before the timeline existed have none.
            metrics.timeline = Timeline.from_list(data.get("timeline", []))
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
            raise ValueError(f"not serialised RunMetrics: missing or bad field {exc!r}") from exc
        return metrics
