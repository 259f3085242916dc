"""The metric definitions — the only place where they are computed.

docs/metrics.md explains each one; every report, SLO and Locust statistic calls
these functions instead of re-deriving a metric from timestamps.

| metric            | definition                                                      |
|-------------------|-----------------------------------------------------------------|
| TTFB              | send -> first response byte                                     |
| TTFT              | send -> first SSE event with non-empty content/reasoning delta  |
| ITL               | gap between consecutive content-carrying events (one per gap)   |
| TPOT              | (E2E - TTFT) / (output_tokens - 1), requests with > 1 token     |
| E2E               | send -> end of stream (``[DONE]`` or close)                     |
| output tokens     | ``usage.completion_tokens``; else content events, estimated     |
| scheduled latency | scheduled start -> end (open-loop runs)                         |
| start lag         | scheduled start -> send (how late the generator was)            |

Latency percentiles describe successful requests (outcome ``ok``); failures are
counted by outcome beside them and are never dropped.
"""

from __future__ import annotations

from .record import Outcome, RequestRecord

LATENCY_METRICS: tuple[str, ...] = (
    "ttfb",
    "ttft",
    "itl",
    "tpot",
    "e2e",
    "scheduled_latency",
    "start_lag",
)


def counts_for_latency(record: RequestRecord) -> bool:
    """Whether the record's latencies enter the latency percentiles."""
    return record.outcome is Outcome.OK


def ttfb_ns(record: RequestRecord) -> int | None:
    if record.first_byte_ns is None:
        return None
    return record.first_byte_ns - record.sent_ns


def ttft_ns(record: RequestRecord) -> int | None:
    # The role chunk ({"delta": {"role": "assistant", "content": ""}}) never enters
    # content_ns, so it cannot be mistaken for the first token.
    if not record.content_ns:
        return None
    return record.content_ns[0] - record.sent_ns


def itl_ns(record: RequestRecord) -> list[int]:
    times = record.content_ns
    return [times[i] - times[i - 1] for i in range(1, len(times))]


def e2e_ns(record: RequestRecord) -> int:
    return record.end_ns - record.sent_ns


def output_tokens(record: RequestRecord) -> tuple[int, bool]:
    """(token count, estimated?) — usage when the server reported it, else events."""
    if record.usage_output_tokens is not None:
        return record.usage_output_tokens, False
    return len(record.content_ns), True


def tpot_ns(record: RequestRecord) -> float | None:
    tokens, _ = output_tokens(record)
    ttft = ttft_ns(record)
    if tokens <= 1 or ttft is None:
        return None
    return (e2e_ns(record) - ttft) / (tokens - 1)


def scheduled_latency_ns(record: RequestRecord) -> int | None:
    if record.scheduled_ns is None:
        return None
    return record.end_ns - record.scheduled_ns


def start_lag_ns(record: RequestRecord) -> int | None:
    if record.scheduled_ns is None:
        return None
    # A timer may wake a few microseconds before its deadline; that is not a lead.
    return max(0, record.sent_ns - record.scheduled_ns)


def latency_values_ns(record: RequestRecord) -> dict[str, list[int]]:
    """Every latency sample a record contributes, by metric name, in integer ns."""
    values: dict[str, list[int]] = {name: [] for name in LATENCY_METRICS}
    for name, value in (
        ("ttfb", ttfb_ns(record)),
        ("ttft", ttft_ns(record)),
        ("e2e", e2e_ns(record)),
        ("scheduled_latency", scheduled_latency_ns(record)),
        ("start_lag", start_lag_ns(record)),
    ):
        if value is not None:
            values[name].append(value)
    tpot = tpot_ns(record)
    if tpot is not None:
        values["tpot"].append(round(tpot))
    values["itl"] = itl_ns(record)
    return values
