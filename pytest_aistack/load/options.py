"""Command-line options of the LLM load generator (added to Locust's parser).

Each option also reads an environment variable (shown in ``locust --help``); a
value given neither way falls back to the attribute of the ``LLMUser`` subclass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_aistack.errors import LoadError
from pytest_aistack.llm.stream import StreamTimeouts
from pytest_aistack.metrics.slo import SLOError, SLOSpec, parse_slo

from .arrival import ARRIVAL_KINDS, Arrival, ArrivalError, parse_arrival
from .selfcheck import DEFAULT_MAX_CPU_PERCENT, DEFAULT_MAX_LOOP_LAG_MS, Limits

API_KEY_ENV_VARS = ("AISTACK_API_KEY", "OPENAI_API_KEY")


class OptionError(LoadError):
    pass


# (flag, environment variable, type, default, help)
_LLM_OPTIONS: tuple[tuple[str, str, type, Any, str], ...] = (
    ("--llm-model", "AISTACK_MODEL", str, "", "model name (default: the user class's `model`)"),
    ("--llm-kind", "AISTACK_LLM_KIND", str, "", "chat or completions (default: the class's)"),
    ("--llm-max-tokens", "AISTACK_MAX_TOKENS", int, 0, "max_tokens per request (0: the class's)"),
    ("--llm-prompts", "AISTACK_PROMPTS", str, "", "prompts JSONL (default fixtures/prompts.jsonl)"),
    ("--llm-arrival", "AISTACK_ARRIVAL", str, "", f"one of {', '.join(ARRIVAL_KINDS)}"),
    ("--llm-rate", "AISTACK_RATE", float, 0.0, "open loop: requests/s per user"),
    ("--llm-burstiness", "AISTACK_BURSTINESS", float, 0.0, "gamma shape (1 = Poisson; 0: class's)"),
    ("--llm-seed", "AISTACK_SEED", int, 0, "seed of arrival draws and prompt order"),
    (
        "--llm-start-spread",
        "AISTACK_START_SPREAD",
        float,
        -1.0,
        "s: each user starts at a seeded random offset in [0, this) (default: the class's)",
    ),
    ("--slo", "AISTACK_SLO", str, "", "e.g. 'ttft_p99_ms<=500, error_rate<=0.01'; unmet -> exit 1"),
    (
        "--baseline",
        "AISTACK_BASELINE",
        str,
        "",
        "a baseline result JSON: compare at the end, regression beyond --tolerance -> exit 1",
    ),
    (
        "--tolerance",
        "AISTACK_TOLERANCE",
        str,
        "",
        "with --baseline: e.g. 'ttft_p99_ms=20%, error_rate=0.005' or @FILE (aistack compare)",
    ),
    ("--llm-results", "AISTACK_REPORT_DIR", str, "results", "directory of the result files"),
    ("--llm-results-name", "AISTACK_RESULTS_NAME", str, "", "file name stem (default: locustfile)"),
    ("--llm-first-token-timeout", "AISTACK_FIRST_TOKEN_TIMEOUT", float, 60.0, "s to first content"),
    ("--llm-idle-timeout", "AISTACK_IDLE_TIMEOUT", float, 30.0, "s without content = stall"),
    ("--llm-timeout", "AISTACK_REQUEST_TIMEOUT", float, 300.0, "s for a whole request"),
    ("--llm-dump-records", "AISTACK_DUMP_RECORDS", str, "", "dir: also write records as JSONL"),
    (
        "--llm-max-loop-lag-ms",
        "AISTACK_MAX_LOOP_LAG_MS",
        float,
        DEFAULT_MAX_LOOP_LAG_MS,
        "self-check: loop lag p99 above this marks the run unreliable",
    ),
    (
        "--llm-max-cpu-percent",
        "AISTACK_MAX_CPU_PERCENT",
        float,
        DEFAULT_MAX_CPU_PERCENT,
        "self-check: generator CPU above this marks the run unreliable",
    ),
)
_SHAPE_OPTIONS: tuple[tuple[str, str, type, Any, str], ...] = (
    ("--shape-users", "AISTACK_SHAPE_USERS", int, 8, "baseline users"),
    ("--shape-duration", "AISTACK_SHAPE_DURATION", float, 40.0, "s, whole run"),
    ("--shape-spawn-rate", "AISTACK_SHAPE_SPAWN_RATE", float, 100.0, "users/s on user changes"),
    ("--burst-multiplier", "AISTACK_BURST_MULTIPLIER", float, 4.0, "burst = baseline x this"),
    ("--burst-at", "AISTACK_BURST_AT", float, 10.0, "s, burst start"),
    ("--burst-for", "AISTACK_BURST_FOR", float, 15.0, "s, burst length"),
    ("--step-users", "AISTACK_STEP_USERS", int, 8, "users added per step"),
    ("--step-every", "AISTACK_STEP_EVERY", float, 8.0, "s per step"),
    ("--spike-multiplier", "AISTACK_SPIKE_MULTIPLIER", float, 8.0, "spike = baseline x this"),
    ("--spike-every", "AISTACK_SPIKE_EVERY", float, 12.0, "s between spike starts"),
    ("--spike-for", "AISTACK_SPIKE_FOR", float, 2.0, "s, spike length"),
    ("--soak-ramp", "AISTACK_SOAK_RAMP", float, 5.0, "s to ramp up to the users"),
)


def add_arguments(parser: Any) -> None:
    for title, table in (
        ("pytest-aistack LLM load (LLMUser)", _LLM_OPTIONS),
        ("pytest-aistack load shapes", _SHAPE_OPTIONS),
    ):
        group = parser.add_argument_group(title)
        for flag, env_var, kind, default, help_text in table:
            group.add_argument(flag, env_var=env_var, type=kind, default=default, help=help_text)


@dataclass(frozen=True, slots=True)
class LLMOptions:
    model: str
    kind: str
    max_tokens: int
    prompts: Path | None
    # Raw overrides (""/0 = take the user class's attribute); see arrival_for().
    arrival_kind: str
    rate: float
    burstiness: float
    seed: int
    start_spread_s: float  # < 0: the user class's `start_spread`
    slo: SLOSpec
    results_dir: Path
    results_name: str
    timeouts: StreamTimeouts
    limits: Limits
    api_key: str | None
    dump_records: Path | None = None
    # --baseline: the result file to compare with at the end, and the tolerance terms
    # (pytest_aistack.load.baseline grammar) that override the defaults.
    baseline: Path | None = None
    tolerance: str = ""


def resolve(parsed: Any) -> LLMOptions:
    """Validate parsed Locust options; errors name the option and how to fix it."""
    try:
        if parsed.llm_arrival and parsed.llm_arrival not in ARRIVAL_KINDS:
            parse_arrival(parsed.llm_arrival, 1.0)  # raises the explanatory error
        if parsed.llm_start_spread < 0 and parsed.llm_start_spread != -1.0:
            raise ArrivalError(
                f"--llm-start-spread must be >= 0 seconds, got {parsed.llm_start_spread}"
            )
        if parsed.llm_rate < 0 or parsed.llm_burstiness < 0:
            raise ArrivalError("--llm-rate and --llm-burstiness must be >= 0")
        slo = parse_slo(parsed.slo, source="--slo") if parsed.slo else SLOSpec(())
        timeouts = StreamTimeouts(
            connect=min(10.0, parsed.llm_first_token_timeout),
            first_token=parsed.llm_first_token_timeout,
            idle=parsed.llm_idle_timeout,
            total=parsed.llm_timeout,
        )
    except (ArrivalError, SLOError) as exc:
        raise OptionError(str(exc)) from None
    except ValueError as exc:
        raise OptionError(f"--llm-*-timeout: {exc}") from None
    if parsed.tolerance:
        # The collector compares with the baseline at the end of the run; the terms are
        # checked here so a bad one fails at the start, not after it.
        from pytest_aistack.load.baseline import ToleranceError, parse_tolerances

        try:
            parse_tolerances(parsed.tolerance, source="--tolerance")
        except ToleranceError as exc:
            raise OptionError(str(exc)) from None
    if parsed.llm_kind not in ("", "chat", "completions"):
        raise OptionError(f"--llm-kind {parsed.llm_kind!r}: use 'chat' or 'completions'")
    if parsed.llm_max_tokens < 0:
        raise OptionError(f"--llm-max-tokens must be >= 0, got {parsed.llm_max_tokens}")
    prompts = Path(parsed.llm_prompts) if parsed.llm_prompts else None
    locustfile = getattr(parsed, "locustfile", "") or "load"
    name = parsed.llm_results_name or Path(str(locustfile).split(",")[0]).stem
    api_key = next((os.environ[v] for v in API_KEY_ENV_VARS if os.environ.get(v)), None)
    return LLMOptions(
        model=parsed.llm_model,
        kind=parsed.llm_kind,
        max_tokens=parsed.llm_max_tokens,
        prompts=prompts,
        arrival_kind=parsed.llm_arrival,
        rate=parsed.llm_rate,
        burstiness=parsed.llm_burstiness,
        seed=parsed.llm_seed,
        start_spread_s=parsed.llm_start_spread,
        slo=slo,
        results_dir=Path(parsed.llm_results),
        results_name=name,
        timeouts=timeouts,
        limits=Limits(
            max_loop_lag_p99_ms=parsed.llm_max_loop_lag_ms,
            max_cpu_percent=parsed.llm_max_cpu_percent,
        ),
        api_key=api_key,
        dump_records=Path(parsed.llm_dump_records) if parsed.llm_dump_records else None,
        baseline=Path(parsed.baseline) if parsed.baseline else None,
        tolerance=parsed.tolerance,
    )


def start_spread_for(opts: LLMOptions, user_class: Any) -> float:
    """Seconds over which the users' first requests are spread: command line over class."""
    if opts.start_spread_s >= 0:
        return opts.start_spread_s
    spread = float(getattr(user_class, "start_spread", 0.0))
    if spread < 0:
        raise OptionError(f"{user_class.__name__}.start_spread must be >= 0 seconds, got {spread}")
    return spread


def arrival_for(opts: LLMOptions, user_class: Any) -> Arrival:
    """The arrival process of a user class: command line over class attributes."""
    return parse_arrival(
        opts.arrival_kind or getattr(user_class, "arrival", "closed"),
        opts.rate or float(getattr(user_class, "rate", 0.0)),
        opts.burstiness or float(getattr(user_class, "burstiness", 1.0)),
    )
