"""Compare a load result with a baseline: per-metric deltas, regressions beyond tolerances.

A metric *regresses* when it got worse by more than its tolerance: latency
percentiles and the error rate by going up, throughput (requests/s, output
tokens/s, goodput/s) by going down. Improvements never fail.

Tolerance grammar (terms separated by commas or newlines; ``#`` starts a comment)::

    term  := name "=" allow | name "=" "off"
    allow := percent ["min" absolute] | absolute
    name  := a metric name, or a glob over them: ttft_p99, ttft_*, *_p99
    percent  := number "%"            (of the baseline value)
    absolute := number [ms | us | s]  (latency: ms when no unit; other metrics: their unit)

``15% min 2ms`` allows the larger of 15 % of the baseline and 2 ms. Later terms
override earlier ones, so user terms override :data:`DEFAULT_TOLERANCES`.

Both ``aistack compare`` (:mod:`pytest_aistack.report.cli_compare`) and a Locust run
with ``--baseline`` (:mod:`pytest_aistack.load.collector`) use it, so it lives with
the result files it reads rather than in the report layer above them; :func:`text`
is the table both print.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pytest_aistack.errors import ConfigError
from pytest_aistack.load.results import LoadResult

LATENCY_METRICS = ("ttft", "itl", "tpot", "e2e", "ttfb", "scheduled_latency")
LATENCY_STATS = ("p50", "p90", "p95", "p99")
# (name, summary key, better direction, unit)
RUN_METRICS: tuple[tuple[str, str, Literal["lower", "higher"], str], ...] = (
    ("error_rate", "error_rate", "lower", ""),
    ("requests_per_s", "requests_per_s", "higher", "/s"),
    ("output_tokens_per_s", "output_tokens_per_s", "higher", "/s"),
    ("goodput_per_s", "goodput_per_s", "higher", "/s"),
)
DEFAULT_TOLERANCES = (
    "*_ms=15% min 2ms, error_rate=0.01, requests_per_s=15%, output_tokens_per_s=15%, "
    "goodput_per_s=15%"
)
# What must be equal for two runs to be comparable (from the result files' "run").
RUN_KEYS = ("model", "kind", "arrival", "user_class", "users_max", "stream")
_UNITS_MS = {"ms": 1.0, "us": 0.001, "s": 1000.0}
_TERM = re.compile(
    r"^(?P<name>[a-z0-9_.*?]+)=(?:(?P<off>off)|(?P<pct>[0-9.]+)%(?:min(?P<floor>[0-9.]+)"
    r"(?P<floor_unit>ms|us|s)?)?|(?P<abs>[0-9.]+)(?P<abs_unit>ms|us|s)?)$"
)


class CompareError(ConfigError):
    """The two files cannot be compared (unreadable, not load results, different runs)."""


class ToleranceError(ConfigError):
    """A tolerance term that cannot be parsed; the message names it and shows the grammar."""


@dataclass(frozen=True, slots=True)
class Tolerance:
    text: str
    relative: float | None = None  # fraction of the baseline
    absolute: float | None = None  # in the metric's unit (ms for latency)
    off: bool = False

    def allowance(self, baseline: float) -> float:
        return max(
            (self.relative or 0.0) * abs(baseline),
            self.absolute or 0.0,
        )


@dataclass(frozen=True, slots=True)
class Delta:
    metric: str
    unit: str
    better: Literal["lower", "higher"]
    baseline: float | None
    current: float | None
    tolerance: Tolerance

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def relative(self) -> float | None:
        change = self.change
        if change is None or self.baseline == 0:
            return None
        assert self.baseline is not None
        return change / abs(self.baseline)

    @property
    def verdict(self) -> str:
        """``regression``, ``better``, ``ok``, ``not checked`` or ``n/a`` (no baseline)."""
        if self.baseline is None:
            return "n/a"
        if self.tolerance.off:
            return "not checked"
        if self.current is None:
            return "regression"  # the baseline had samples, this run has none
        worse = self.current - self.baseline
        if self.better == "higher":
            worse = -worse
        if worse > self.tolerance.allowance(self.baseline) + 1e-12:
            return "regression"
        return "better" if worse < 0 else "ok"

    def describe(self) -> str:
        unit = " ms" if self.unit == "_ms" else self.unit
        if self.current is None:
            return f"{self.metric}: baseline {self.baseline:.6g}{unit}, this run has no samples"
        relative = self.relative
        shown = "" if relative is None else f" ({relative:+.1%})"
        return (
            f"{self.metric}: {self.baseline:.6g} -> {self.current:.6g}{unit}{shown}, "
            f"tolerance {self.tolerance.text}"
        )


@dataclass(frozen=True)
class Comparison:
    baseline: LoadResult
    current: LoadResult
    deltas: tuple[Delta, ...]
    warnings: tuple[str, ...]

    @property
    def regressions(self) -> list[Delta]:
        return [d for d in self.deltas if d.verdict == "regression"]

    @property
    def passed(self) -> bool:
        return not self.regressions


def parse_tolerances(text: str, *, source: str = "tolerance") -> list[tuple[str, Tolerance]]:
    """``(name or glob, Tolerance)`` in order; ``@FILE`` reads the terms from FILE."""
    text = text.strip()
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text()
        except OSError as exc:
            raise ToleranceError(
                f"{source}: cannot read tolerance file {path}: {exc.strerror}"
            ) from None
        source = str(path)
    terms = []
    for line in text.splitlines():
        for raw in line.split("#", 1)[0].split(","):
            compact = "".join(raw.split())
            if compact:
                terms.append(_parse_term(compact, source))
    return terms


def _parse_term(text: str, source: str) -> tuple[str, Tolerance]:
    match = _TERM.match(text)
    if match is None:
        raise ToleranceError(
            f"{source}: cannot parse tolerance {text!r}; expected NAME=15%, NAME=15% min 2ms, "
            f"NAME=2ms, NAME=0.01 or NAME=off (NAME a metric or a glob such as ttft_* or "
            f"*_p99_ms; metrics: {', '.join(metric_names()[:6])}, ...)"
        )
    name = match["name"]
    if not any(fnmatch.fnmatchcase(metric, name) for metric in metric_names()):
        raise ToleranceError(
            f"{source}: tolerance {text!r} names no metric; metrics are {', '.join(metric_names())}"
        )
    try:
        if match["off"]:
            return name, Tolerance(text, off=True)
        if match["pct"] is not None:
            floor = None
            if match["floor"] is not None:
                floor = float(match["floor"]) * _UNITS_MS[match["floor_unit"] or "ms"]
            return name, Tolerance(_shown(text), relative=float(match["pct"]) / 100, absolute=floor)
        scale = _UNITS_MS[match["abs_unit"]] if match["abs_unit"] else 1.0
        return name, Tolerance(_shown(text), absolute=float(match["abs"]) * scale)
    except ValueError:
        raise ToleranceError(f"{source}: tolerance {text!r}: not a number") from None


def _shown(term: str) -> str:
    return term.split("=", 1)[1].replace("min", " min ")


def metric_names() -> list[str]:
    latency = [f"{m}_{s}_ms" for m in LATENCY_METRICS for s in LATENCY_STATS]
    return latency + [name for name, _, _, _ in RUN_METRICS]


def tolerance_for(metric: str, terms: Sequence[tuple[str, Tolerance]]) -> Tolerance:
    chosen = Tolerance("none", absolute=0.0)
    for pattern, tolerance in terms:
        if fnmatch.fnmatchcase(metric, pattern):
            chosen = tolerance
    return chosen


def check_comparable(baseline: LoadResult, current: LoadResult) -> list[str]:
    """The differences between the two runs' set-ups that make deltas meaningless."""
    b_run, c_run = baseline.data.get("run", {}), current.data.get("run", {})
    differences = []
    for key in RUN_KEYS:
        if key in b_run and key in c_run and b_run[key] != c_run[key]:
            differences.append(f"run.{key}: baseline {b_run[key]!r}, current {c_run[key]!r}")
    b_file = Path(str(b_run.get("locustfile", ""))).name
    c_file = Path(str(c_run.get("locustfile", ""))).name
    if b_file and c_file and b_file != c_file:
        differences.append(f"run.locustfile: baseline {b_file!r}, current {c_file!r}")
    return differences


def compare(
    baseline: LoadResult,
    current: LoadResult,
    tolerances: Iterable[tuple[str, Tolerance]] = (),
    *,
    allow_mismatch: bool = False,
) -> Comparison:
    terms = parse_tolerances(DEFAULT_TOLERANCES, source="defaults") + list(tolerances)
    differences = check_comparable(baseline, current)
    if differences and not allow_mismatch:
        raise CompareError(
            f"{current.path} and baseline {baseline.path} are runs of different set-ups:\n"
            + "\n".join(f"- {d}" for d in differences)
            + "\nre-run the baseline with the same locustfile and options, or pass "
            "--allow-mismatch to compare anyway"
        )
    deltas = []
    for metric in LATENCY_METRICS:
        for stat in LATENCY_STATS:
            name = f"{metric}_{stat}_ms"
            base = _latency(baseline, metric, stat)
            if base is None and _latency(current, metric, stat) is None:
                continue  # e.g. scheduled latency of closed-loop runs
            deltas.append(
                Delta(
                    name,
                    "_ms",
                    "lower",
                    base,
                    _latency(current, metric, stat),
                    tolerance_for(name, terms),
                )
            )
    for name, key, better, unit in RUN_METRICS:
        deltas.append(
            Delta(
                name,
                unit,
                better,
                _number(baseline.summary.get(key)),
                _number(current.summary.get(key)),
                tolerance_for(name, terms),
            )
        )
    warnings = [f"set-ups differ (--allow-mismatch): {d}" for d in differences]
    for label, result in (("baseline", baseline), ("current", current)):
        reliability = result.data.get("reliability", {})
        if not reliability.get("reliable", True):
            reasons = "; ".join(str(r) for r in reliability.get("reasons", []))
            warnings.append(f"{label} run's timings are not reliable: {reasons}")
    b_slo = baseline.data.get("slo", {}).get("spec")
    c_slo = current.data.get("slo", {}).get("spec")
    if b_slo != c_slo:
        warnings.append(f"the runs had different SLOs (goodput counts differ): {b_slo} vs {c_slo}")
    return Comparison(baseline, current, tuple(deltas), tuple(warnings))


def _latency(result: LoadResult, metric: str, stat: str) -> float | None:
    stats: dict[str, Any] = result.summary.get("latency_ms", {}).get(metric) or {}
    if not stats.get("count"):
        return None
    return _number(stats.get(stat))


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# ---------------------------------------------------------------------------------------
# the text table (aistack compare's default format, and a Locust run's --baseline)

HEADER = ["metric", "baseline", "current", "delta", "change", "tolerance", "verdict"]


def _value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"


def _tolerance(tolerance: Tolerance, better: str) -> str:
    if tolerance.off:
        return "off"
    sign = "+" if better == "lower" else "-"
    return f"{sign}{tolerance.text}"


def row(delta: Delta) -> list[str]:
    """One delta as the cells of :data:`HEADER`."""
    change, relative = delta.change, delta.relative
    return [
        delta.metric,
        _value(delta.baseline),
        _value(delta.current),
        "n/a" if change is None else f"{change:+.6g}",
        "n/a" if relative is None else f"{relative:+.1%}",
        _tolerance(delta.tolerance, delta.better),
        delta.verdict.upper() if delta.verdict == "regression" else delta.verdict,
    ]


def verdict_lines(comparison: Comparison) -> list[str]:
    regressions = comparison.regressions
    checked = [d for d in comparison.deltas if d.verdict not in ("n/a", "not checked")]
    if not regressions:
        return [f"compare passed: none of {len(checked)} metrics regressed beyond tolerance"]
    return [
        f"REGRESSION: {len(regressions)} of {len(checked)} metrics worse beyond tolerance:",
        *(f"- {d.describe()}" for d in regressions),
    ]


def heading(comparison: Comparison) -> list[str]:
    def describe(label: str, result: LoadResult) -> str:
        run = result.data.get("run", {})
        when = run.get("started_at") or "?"
        return f"{label} {result.path} ({result.requests} requests, started {when})"

    return [describe("baseline", comparison.baseline), describe("current ", comparison.current)]


def text(comparison: Comparison) -> str:
    rows = [HEADER, *(row(d) for d in comparison.deltas)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = heading(comparison)
    lines += [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in rows
    ]
    lines += [f"warning: {w}" for w in comparison.warnings]
    lines += verdict_lines(comparison)
    return "\n".join(lines) + "\n"
