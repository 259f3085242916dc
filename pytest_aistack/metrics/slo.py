"""Service-level objectives: ``ttft_p99_ms<=500, itl_p95_ms<=50, error_rate<=0.01``.

Grammar (terms separated by commas, semicolons or newlines; spaces ignored)::

    term    := name op number
    name    := latency | "error_rate" | "requests_per_s" | "output_tokens_per_s"
    latency := metric "_" stat "_" unit
    metric  := ttfb | ttft | itl | tpot | e2e | scheduled_latency
    stat    := p50 | p90 | p95 | p99 | p99.9 | p999 | mean | min | max
    unit    := us | ms | s
    op      := <= | < | >= | >

A run's summary either meets each term or not (:func:`evaluate`); a single request
is "good" (counted in goodput) when it succeeded and its own values meet every
latency term (:meth:`SLOSpec.request_meets`): for ITL, a request has several
values, and the request's own statistic is compared (its p95 for ``itl_p95``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_aistack.errors import LoadError

from .definitions import latency_values_ns
from .record import Outcome, RequestRecord

LATENCY_SLO_METRICS = ("ttfb", "ttft", "itl", "tpot", "e2e", "scheduled_latency")
RUN_SLO_NAMES = ("error_rate", "requests_per_s", "output_tokens_per_s")
STATS = {
    "p50": 50.0,
    "p90": 90.0,
    "p95": 95.0,
    "p99": 99.0,
    "p99.9": 99.9,
    "p999": 99.9,
    "mean": None,
    "min": None,
    "max": None,
}
UNITS_NS = {"us": 1_000.0, "ms": 1_000_000.0, "s": 1_000_000_000.0}
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}
_TERM = re.compile(r"^(?P<name>[a-z_][a-z0-9_.]*?)(?P<op><=|>=|<|>)(?P<value>[^<>=]+)$")
_LATENCY_NAME = re.compile(
    r"^(?P<metric>" + "|".join(LATENCY_SLO_METRICS) + r")_(?P<stat>p50|p90|p95|p99\.9|p999|p99"
    r"|mean|min|max)_(?P<unit>us|ms|s)$"
)


class SLOError(LoadError):
    """An SLO spec that cannot be parsed; the message says which term and how to fix it."""


@dataclass(frozen=True, slots=True)
class SLOTerm:
    text: str
    name: str
    op: str
    threshold: float
    # Latency terms only:
    metric: str | None = None
    stat: str | None = None
    unit: str | None = None

    @property
    def is_latency(self) -> bool:
        return self.metric is not None

    def holds(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return OPERATORS[self.op](value, self.threshold)


@dataclass(frozen=True, slots=True)
class SLOResult:
    term: SLOTerm
    value: float
    met: bool

    def describe(self) -> str:
        unit = self.term.unit or ""
        shown = "n/a (no samples)" if math.isnan(self.value) else f"{self.value:.6g}{unit}"
        return (
            f"{self.term.name}: measured {shown}, objective {self.term.op} "
            f"{self.term.threshold:g}{unit}"
        )


@dataclass(frozen=True, slots=True)
class SLOSpec:
    terms: tuple[SLOTerm, ...]
    source: str = ""

    def __bool__(self) -> bool:
        return bool(self.terms)

    def request_meets(self, record: RequestRecord) -> bool:
        """Whether one request counts toward goodput under this spec."""
        if record.outcome is not Outcome.OK:
            return False
        values: dict[str, list[int]] | None = None
        for term in self.terms:
            if term.metric is None:
                continue
            if values is None:
                values = latency_values_ns(record)
            samples = values[term.metric]
            if not samples:
                # E.g. TPOT of a one-token answer: the term does not apply to it.
                continue
            value_ns = _own_statistic(samples, term.stat or "max")
            assert term.unit is not None
            if not term.holds(value_ns / UNITS_NS[term.unit]):
                return False
        return True

    def to_list(self) -> list[str]:
        return [term.text for term in self.terms]


def _own_statistic(samples: list[int], stat: str) -> float:
    if stat == "mean":
        return sum(samples) / len(samples)
    if stat == "min":
        return float(min(samples))
    if stat == "max":
        return float(max(samples))
    ordered = sorted(samples)
    q = STATS[stat]
    assert q is not None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def parse_slo(spec: str, *, source: str = "SLO spec") -> SLOSpec:
    """Parse ``spec``; ``source`` names where it came from (an option, a file) in errors."""
    terms: list[SLOTerm] = []
    for raw in re.split(r"[,;\n]", spec):
        text = "".join(raw.split())
        if not text:
            continue
        terms.append(_parse_term(text, source))
    return SLOSpec(tuple(terms), source=spec)


def _parse_term(text: str, source: str) -> SLOTerm:
    example = "e.g. 'ttft_p99_ms<=500, itl_p95_ms<=50, error_rate<=0.01'"
    match = _TERM.match(text)
    if match is None:
        raise SLOError(
            f"{source}: cannot parse SLO term {text!r}; expected '<name><op><number>' with "
            f"op one of <=, <, >=, > ({example})"
        )
    name, op, value_text = match["name"], match["op"], match["value"]
    try:
        threshold = float(value_text)
    except ValueError:
        raise SLOError(
            f"{source}: SLO term {text!r}: {value_text!r} is not a number ({example})"
        ) from None
    if not math.isfinite(threshold) or threshold < 0:
        raise SLOError(f"{source}: SLO term {text!r}: threshold must be a finite number >= 0")
    if name in RUN_SLO_NAMES:
        if name == "error_rate" and threshold > 1:
            raise SLOError(
                f"{source}: SLO term {text!r}: error_rate is a fraction in [0, 1] "
                f"(write 0.01 for 1 %)"
            )
        return SLOTerm(text=text, name=name, op=op, threshold=threshold)
    latency = _LATENCY_NAME.match(name)
    if latency is None:
        raise SLOError(
            f"{source}: unknown SLO name {name!r} in {text!r}; use "
            f"<metric>_<stat>_<unit> with metric in {', '.join(LATENCY_SLO_METRICS)}, "
            f"stat in {', '.join(STATS)}, unit in {', '.join(UNITS_NS)}; or one of "
            f"{', '.join(RUN_SLO_NAMES)}"
        )
    stat = "p99.9" if latency["stat"] == "p999" else latency["stat"]
    return SLOTerm(
        text=text,
        name=name,
        op=op,
        threshold=threshold,
        metric=latency["metric"],
        stat=stat,
        unit=latency["unit"],
    )


def evaluate(spec: SLOSpec, summary_values: Mapping[str, Any]) -> list[SLOResult]:
    """Compare each term with a run's values.

    ``summary_values`` is ``Summary.slo_values()``: run-level names map to floats,
    latency metrics map to ``{stat: value_ns}``.
    """
    results = []
    for term in spec.terms:
        if term.metric is not None:
            stats = summary_values.get(term.metric, {})
            value_ns = stats.get(term.stat, math.nan)
            assert term.unit is not None
            value = value_ns / UNITS_NS[term.unit]
        else:
            value = float(summary_values.get(term.name, math.nan))
        results.append(SLOResult(term=term, value=value, met=term.holds(value)))
    return results


def unmet_lines(results: list[SLOResult]) -> list[str]:
    """One ``- `` line per unmet objective (the shape pytest-httpx uses for offenders)."""
    return [f"- {result.describe()}" for result in results if not result.met]
