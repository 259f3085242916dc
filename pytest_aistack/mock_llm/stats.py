"""What the mock sent, per request id and per endpoint: the harness's ground truth."""

from __future__ import annotations

import itertools
import time
from array import array
from collections import deque
from dataclasses import dataclass, fields
from typing import Any


@dataclass(slots=True)
class ServedRequest:
    """What the mock did with one request it served: one entry of ``GET /admin/stats``.

    The server's side of the ground truth; the client's side of the same request is
    :class:`pytest_aistack.metrics.RequestRecord`.
    """

    request_id: str
    backend: str
    endpoint: str
    model: str | None
    stream: bool
    status: int
    outcome: str
    fault: str | None
    tokens_planned: int
    tokens_sent: int
    received_at: float
    headers_at: float | None = None
    first_token_at: float | None = None
    finished_at: float | None = None
    # Wall-clock time each content token's write was issued (one entry per token; tokens
    # written together share a stamp). Only with --record-token-times: 8 bytes per token.
    # An array, not a list: arrays are not tracked by the cyclic GC (see Stats.reset).
    token_times: array[float] | None = None
    # How many requests with this id reached this backend (this record is the latest): a
    # gateway's retry resends the client's x-request-id, so this counts its attempts here.
    attempts: int = 1

    def as_tuple(self) -> tuple[Any, ...]:
        # Not dataclasses.astuple: that deep-copies field by field, ~10x slower.
        return tuple(getattr(self, name) for name in RECORD_FIELDS)

    def as_json(self) -> dict[str, Any]:
        return record_json(self.as_tuple())


RECORD_FIELDS = tuple(f.name for f in fields(ServedRequest))
SealedRecord = tuple[Any, ...]  # a finished ServedRequest, as as_tuple() gives it
_ATTEMPTS = RECORD_FIELDS.index("attempts")


def record_json(values: SealedRecord) -> dict[str, Any]:
    data = dict(zip(RECORD_FIELDS, values, strict=True))
    del data["request_id"]
    token_times = data.pop("token_times")
    if token_times is not None:  # the key appears only when the mock records token times
        data["token_times"] = token_times.tolist()
    return data


REJECT_REASONS = ("queue_timeout", "shed", "draining", "loading")


class Stats:
    def __init__(self, backend: str, max_records: int) -> None:
        self.backend = backend
        self.max_records = max_records
        self.started_at = time.time()
        self.reset()

    def reset(self) -> None:
        self.endpoints: dict[str, dict[int, int]] = {}
        self.tokens_sent = 0
        self.rejected: dict[str, int] = dict.fromkeys(REJECT_REASONS, 0)
        # Finished records are sealed into tuples of atomic values, which the cyclic GC
        # stops tracking: 100,000 live dataclass records made each full collection take
        # ~40 ms, a pause every stream would see as a late token. A plain dict plus an
        # order queue, not an OrderedDict, for the same reason (its links are traversed).
        self.records: dict[str, ServedRequest | SealedRecord] = {}
        self._order: deque[str] = deque()
        self._order_counts: dict[str, int] = {}
        self.dropped = 0

    def count(self, endpoint: str, status: int) -> None:
        by_status = self.endpoints.get(endpoint)
        if by_status is None:
            by_status = self.endpoints[endpoint] = {}
        by_status[status] = by_status.get(status, 0) + 1

    def add_record(self, record: ServedRequest) -> None:
        records = self.records
        request_id = record.request_id
        previous = records.pop(request_id, None)  # a repeated id keeps its latest record
        if previous is not None:
            before = (
                previous.attempts if isinstance(previous, ServedRequest) else previous[_ATTEMPTS]
            )
            record.attempts = before + 1
        records[request_id] = record  # (at the end)
        self._order.append(request_id)
        counts = self._order_counts
        counts[request_id] = counts.get(request_id, 0) + 1
        while len(records) > self.max_records:
            oldest = self._order.popleft()
            left = counts.get(oldest, 0) - 1
            if left > 0:
                counts[oldest] = left  # a newer record has this id; keep it
            elif left == 0:
                del counts[oldest]
                del records[oldest]
                self.dropped += 1
        if len(self._order) > 2 * len(records) + 1024:
            # Ids repeated over and over: rebuild the queue from the records' order.
            self._order = deque(records)
            self._order_counts = dict.fromkeys(records, 1)

    def seal(self, record: ServedRequest) -> None:
        """The request ended: keep its record as a GC-untracked tuple."""
        if self.records.get(record.request_id) is record:
            self.records[record.request_id] = record.as_tuple()

    def rename_record(self, old_id: str, new_id: str) -> None:
        record = self.records.pop(old_id, None)
        if isinstance(record, ServedRequest):
            left = self._order_counts.get(old_id, 0) - 1
            if left > 0:
                self._order_counts[old_id] = left
            else:
                self._order_counts.pop(old_id, None)
            record.request_id = new_id
            self.add_record(record)

    def records_json(
        self, request_ids: list[str] | None = None, last: int | None = None
    ) -> dict[str, Any]:
        """Records by id: all, only ``request_ids``, or the ``last`` N (newest last)."""
        records = self.records
        if request_ids is not None:
            chosen = [(rid, records[rid]) for rid in request_ids if rid in records]
        elif last is not None:
            # Dicts keep insertion order and a repeated id moves to the end: newest last.
            ids = list(itertools.islice(reversed(records), last))[::-1]
            chosen = [(rid, records[rid]) for rid in ids]
        else:
            chosen = list(records.items())
        return {
            rid: r.as_json() if isinstance(r, ServedRequest) else record_json(r)
            for rid, r in chosen
        }

    def active_streams(self) -> int:
        return sum(
            1
            for r in self.records.values()
            if isinstance(r, ServedRequest) and r.stream and r.outcome == "in_progress"
        )

    @property
    def requests_total(self) -> int:
        return sum(sum(by_status.values()) for by_status in self.endpoints.values())

    def endpoints_json(self) -> dict[str, Any]:
        return {
            endpoint: {
                "total": sum(by_status.values()),
                "by_status": {str(code): n for code, n in sorted(by_status.items())},
            }
            for endpoint, by_status in sorted(self.endpoints.items())
        }

    def prometheus(self, in_flight: int, queued: int) -> str:
        lines = [
            "# HELP mock_llm_requests_total Requests answered, by endpoint and status.",
            "# TYPE mock_llm_requests_total counter",
        ]
        for endpoint, by_status in sorted(self.endpoints.items()):
            for code, n in sorted(by_status.items()):
                lines.append(
                    f'mock_llm_requests_total{{endpoint="{endpoint}",status="{code}"}} {n}'
                )
        lines += [
            "# HELP mock_llm_tokens_sent_total Content tokens sent.",
            "# TYPE mock_llm_tokens_sent_total counter",
            f"mock_llm_tokens_sent_total {self.tokens_sent}",
            "# HELP mock_llm_in_flight Generation requests admitted and not finished.",
            "# TYPE mock_llm_in_flight gauge",
            f"mock_llm_in_flight {in_flight}",
            "# HELP mock_llm_queued Generation requests waiting for a slot.",
            "# TYPE mock_llm_queued gauge",
            f"mock_llm_queued {queued}",
            "# HELP mock_llm_rejected_total Requests rejected by capacity or lifecycle.",
            "# TYPE mock_llm_rejected_total counter",
        ]
        for reason, n in self.rejected.items():
            lines.append(f'mock_llm_rejected_total{{reason="{reason}"}} {n}')
        return "\n".join(lines) + "\n"


class LatenessHistogram:
    """How late steps were written versus their deadlines, in 0.1 ms buckets up to 1 s.

    Server-side timer accuracy: a client's |delivered - configured| includes this plus
    the network and the client's own scheduling.
    """

    BUCKET_S = 0.0001
    BUCKETS = 10_000

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.counts = [0] * (self.BUCKETS + 1)
        self.total = 0
        self.max_s = 0.0

    def record(self, late_s: float) -> None:
        if late_s < 0.0:
            late_s = 0.0  # written early (within the tick window): not late
        elif late_s > self.max_s:
            self.max_s = late_s
        index = int(late_s / self.BUCKET_S)
        self.counts[index if index < self.BUCKETS else self.BUCKETS] += 1
        self.total += 1

    def quantile_ms(self, q: float) -> float | None:
        if self.total == 0:
            return None
        rank = q * (self.total - 1)
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen > rank:
                return round((index + 1) * self.BUCKET_S * 1000, 3)  # bucket upper bound
        return round(self.max_s * 1000, 3)

    def as_json(self) -> dict[str, Any]:
        return {
            "steps": self.total,
            "p50_ms": self.quantile_ms(0.5),
            "p99_ms": self.quantile_ms(0.99),
            "max_ms": round(self.max_s * 1000, 3),
        }
