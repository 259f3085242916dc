"""LLM request metrics: records, definitions, histograms, summaries and SLOs."""

from __future__ import annotations

from . import definitions
from .aggregate import RunMetrics, wall_offset_ns
from .histogram import MAX_RELATIVE_ERROR, Histogram
from .record import Outcome, RequestRecord
from .slo import SLOError, SLOResult, SLOSpec, SLOTerm, evaluate, parse_slo, unmet_lines
from .summary import MetricSummary, Summary, format_table

__all__ = [
    "MAX_RELATIVE_ERROR",
    "Histogram",
    "MetricSummary",
    "Outcome",
    "RequestRecord",
    "RunMetrics",
    "SLOError",
    "SLOResult",
    "SLOSpec",
    "SLOTerm",
    "Summary",
    "definitions",
    "evaluate",
    "format_table",
    "parse_slo",
    "unmet_lines",
    "wall_offset_ns",
]
