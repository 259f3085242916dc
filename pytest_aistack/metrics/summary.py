"""Summary: the numbers a person reads — percentiles, error counts, throughput, goodput."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .aggregate import RunMetrics
from .histogram import Histogram
from .record import Outcome

PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p99.9", 99.9),
)
_NS_PER_MS = 1_000_000.0


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """One latency metric, all values in nanoseconds (floats; NaN when no samples)."""

    count: int
    mean: float
    min: float
    max: float
    percentiles: dict[str, float]

    @classmethod
    def from_histogram(cls, hist: Histogram) -> MetricSummary:
        empty = hist.count == 0
        return cls(
            count=hist.count,
            mean=hist.mean,
            min=math.nan if empty else float(hist.min),
            max=math.nan if empty else float(hist.max),
            percentiles={name: hist.percentile(q) for name, q in PERCENTILES},
        )

    def stats_ns(self) -> dict[str, float]:
        return {"mean": self.mean, "min": self.min, "max": self.max, **self.percentiles}

    def to_dict_ms(self) -> dict[str, Any]:
        def ms(value: float) -> float | None:
            return None if math.isnan(value) else round(value / _NS_PER_MS, 6)

        return {"count": self.count, **{k: ms(v) for k, v in self.stats_ns().items()}}


@dataclass(frozen=True, slots=True)
class Summary:
    metrics: dict[str, MetricSummary]
    outcomes: dict[str, int]
    http_status: dict[str, int]
    error_examples: dict[str, list[str]]
    requests: int
    ok_requests: int
    good_requests: int
    output_tokens: int
    prompt_tokens: int
    tokens_estimated: bool
    interrupted: int
    window_s: float
    # ITL gaps of 0: two content events in one read (batched by the server, or read
    # late by the client). Many of them make ITL percentiles describe batching.
    itl_zero_gaps: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_metrics(cls, run: RunMetrics) -> Summary:
        window_s = math.nan
        if run.window_start_ns is not None and run.window_end_ns is not None:
            window_s = max(0.0, (run.window_end_ns - run.window_start_ns) / 1e9)
        return cls(
            metrics={name: MetricSummary.from_histogram(h) for name, h in run.histograms.items()},
            outcomes={o.value: run.outcomes.get(o.value, 0) for o in Outcome},
            http_status=dict(sorted(run.http_status.items())),
            error_examples={k: list(v) for k, v in run.error_examples.items()},
            requests=run.requests,
            ok_requests=run.outcomes.get(Outcome.OK.value, 0),
            good_requests=run.good_requests,
            output_tokens=run.output_tokens,
            prompt_tokens=run.prompt_tokens,
            tokens_estimated=run.estimated_token_requests > 0,
            interrupted=run.interrupted,
            window_s=window_s,
            itl_zero_gaps=run.histograms["itl"].count_below(1),
        )

    @property
    def failed_requests(self) -> int:
        return self.requests - self.ok_requests

    @property
    def error_rate(self) -> float:
        return self.failed_requests / self.requests if self.requests else math.nan

    def _per_s(self, amount: int) -> float:
        if math.isnan(self.window_s) or self.window_s <= 0:
            return math.nan
        return amount / self.window_s

    @property
    def requests_per_s(self) -> float:
        return self._per_s(self.requests)

    @property
    def output_tokens_per_s(self) -> float:
        return self._per_s(self.output_tokens)

    @property
    def goodput_per_s(self) -> float:
        return self._per_s(self.good_requests)

    def slo_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {name: m.stats_ns() for name, m in self.metrics.items()}
        values["error_rate"] = self.error_rate
        values["requests_per_s"] = self.requests_per_s
        values["output_tokens_per_s"] = self.output_tokens_per_s
        return values

    def to_dict(self) -> dict[str, Any]:
        def num(value: float) -> float | None:
            return None if math.isnan(value) else round(value, 6)

        return {
            "latency_ms": {name: m.to_dict_ms() for name, m in self.metrics.items()},
            "requests": self.requests,
            "ok_requests": self.ok_requests,
            "failed_requests": self.failed_requests,
            "good_requests": self.good_requests,
            "interrupted_at_stop": self.interrupted,
            "outcomes": dict(self.outcomes),
            "http_status": dict(self.http_status),
            "error_examples": {k: list(v) for k, v in self.error_examples.items()},
            "error_rate": num(self.error_rate),
            "output_tokens": self.output_tokens,
            "output_tokens_estimated": self.tokens_estimated,
            "prompt_tokens": self.prompt_tokens,
            "window_s": num(self.window_s),
            "requests_per_s": num(self.requests_per_s),
            "output_tokens_per_s": num(self.output_tokens_per_s),
            "goodput_per_s": num(self.goodput_per_s),
            "itl_zero_gaps": self.itl_zero_gaps,
        }


TABLE_METRICS = ("ttft", "itl", "tpot", "e2e", "ttfb", "scheduled_latency", "start_lag")


def format_table(summary: Summary) -> str:
    """The terminal table printed at the end of a run (milliseconds, three decimals)."""
    header = ["metric (ms)", "count", "mean", "min", "p50", "p90", "p95", "p99", "p99.9", "max"]
    rows = [header]
    for name in TABLE_METRICS:
        metric = summary.metrics.get(name)
        if metric is None or metric.count == 0:
            continue
        stats = metric.stats_ns()
        rows.append(
            [name, str(metric.count)] + [f"{stats[k] / _NS_PER_MS:.3f}" for k in header[2:]]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    failed = {k: v for k, v in summary.outcomes.items() if v and k != Outcome.OK.value}
    tokens = f"{summary.output_tokens}" + (
        " (estimated from events)" if summary.tokens_estimated else ""
    )
    lines.append("")
    lines.append(
        f"requests {summary.requests}  ok {summary.ok_requests}  failed {summary.failed_requests}"
        f"  error rate {summary.error_rate:.4f}  interrupted at stop {summary.interrupted}"
    )
    lines.append("outcomes: " + (", ".join(f"{k}={v}" for k, v in failed.items()) or "all ok"))
    if summary.itl_zero_gaps:
        itl_count = summary.metrics["itl"].count
        lines.append(
            f"itl: {summary.itl_zero_gaps} of {itl_count} gaps were 0 (tokens arrived together:"
            " batched by the server or read late)"
        )
    if summary.http_status:
        lines.append(
            "http status: " + ", ".join(f"{k}={v}" for k, v in summary.http_status.items())
        )
    lines.append(
        f"window {summary.window_s:.3f} s  requests/s {summary.requests_per_s:.2f}  "
        f"output tokens {tokens}  tokens/s {summary.output_tokens_per_s:.1f}  "
        f"goodput/s {summary.goodput_per_s:.2f}"
    )
    return "\n".join(lines)
