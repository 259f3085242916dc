"""The per-second timeline: exact merge, coarse percentiles within their bound, round trip."""

from __future__ import annotations

import json
import random

import pytest

from pytest_aistack.metrics import RunMetrics
from pytest_aistack.metrics.record import Outcome, RequestRecord
from pytest_aistack.metrics.timeline import (
    TIMELINE_RELATIVE_ERROR,
    CoarseHistogram,
    Timeline,
    coarse_bounds,
    coarse_index,
)

MS = 1_000_000
S = 1_000_000_000
START = 1_700_000_000 * S


def _records(count: int, seed: int = 7) -> list[RequestRecord]:
    rng = random.Random(seed)
    records = []
    for i in range(count):
        sent = START + rng.randrange(0, 10 * S)
        if i % 5 == 0:
            records.append(
                RequestRecord(f"f{i}", sent, sent + 2 * MS, Outcome.HTTP_ERROR, status=429)
            )
            continue
        ttft = rng.randrange(20, 400) * MS
        content = [sent + ttft + k * 10 * MS for k in range(4)]
        records.append(
            RequestRecord(
                f"r{i}", sent, content[-1] + MS, Outcome.OK, content_ns=content,
                usage_output_tokens=4,
            )
        )  # fmt: skip
    return records


def test_buckets_count_requests_by_the_second_they_ended() -> None:
    metrics = RunMetrics()
    sent = START + S - 100 * MS  # ends 300 ms later: in the next second
    metrics.add(
        RequestRecord("a", sent, sent + 300 * MS, Outcome.OK, content_ns=[sent + 50 * MS]), 0
    )
    metrics.add(RequestRecord("b", START, START + MS, Outcome.TIMEOUT), 0)
    rows = {row["t"]: row for row in metrics.timeline.to_list()}
    assert sorted(rows) == [START // S, START // S + 1]
    assert rows[START // S]["outcomes"] == {"timeout": 1}
    assert rows[START // S]["ok"] == 0
    assert rows[START // S + 1]["ok"] == rows[START // S + 1]["requests"] == 1
    assert rows[START // S + 1]["output_tokens"] == 1  # estimated from one content event


def test_merged_timelines_equal_the_timeline_of_all_records() -> None:
    records = _records(400)
    whole, parts = RunMetrics(), [RunMetrics(), RunMetrics(), RunMetrics()]
    for i, record in enumerate(records):
        whole.add(record, 0)
        parts[i % 3].add(record, 0)
    parts[0].timeline.note_users(START + 3 * S, 4)
    parts[1].timeline.note_users(START + 3 * S + S // 2, 9)
    whole.timeline.note_users(START + 3 * S, 9)
    merged = RunMetrics()
    for part in parts:
        # Through the worker report's JSON, as in a distributed run.
        merged.merge(RunMetrics.from_dict(json.loads(json.dumps(part.to_dict()))))
    assert merged.timeline.to_list() == whole.timeline.to_list()
    assert merged.timeline.seconds[START // S + 3].users == 9


@pytest.mark.parametrize("q", [50.0, 90.0, 99.0])
def test_coarse_percentiles_are_within_the_stated_error(q: float) -> None:
    rng = random.Random(3)
    values = [rng.randrange(1 * MS, 5_000 * MS) for _ in range(2_000)]
    hist = CoarseHistogram()
    for value in values:
        hist.record(value)
    exact = sorted(values)[max(1, -(-int(q * len(values)) // 100)) - 1]
    assert abs(hist.percentile(q) - exact) / exact <= TIMELINE_RELATIVE_ERROR


def test_coarse_buckets_tile_the_integers() -> None:
    previous_high = 0
    for index in range(coarse_index(10 * S) + 1):
        low, high = coarse_bounds(index)
        assert low == previous_high
        assert coarse_index(low) == coarse_index(high - 1) == index
        previous_high = high


def test_result_files_without_a_timeline_still_load() -> None:
    data = RunMetrics().to_dict()
    del data["timeline"]
    assert RunMetrics.from_dict(data).timeline.seconds == {}


def test_a_broken_timeline_is_a_clear_error() -> None:
    data = RunMetrics().to_dict()
    data["timeline"] = [{"t": 1}]
    with pytest.raises(ValueError, match="not serialised RunMetrics"):
        RunMetrics.from_dict(data)


def test_empty_timeline_round_trips() -> None:
    assert Timeline.from_list(Timeline().to_list()).to_list() == []
