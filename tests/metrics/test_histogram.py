from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_aistack.metrics import MAX_RELATIVE_ERROR, Histogram

_values = st.lists(st.integers(0, 10**12), min_size=1, max_size=300)
_quantiles = st.sampled_from([50.0, 90.0, 95.0, 99.0, 99.9, 100.0, 0.1])


def exact_percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


@settings(max_examples=300, deadline=None)
@given(values=_values, q=_quantiles)
def test_percentile_relative_error_is_within_a_tenth_of_a_percent(
    values: list[int], q: float
) -> None:
    hist = Histogram()
    hist.record_many(values)
    exact = exact_percentile(values, q)
    measured = hist.percentile(q)
    assert abs(measured - exact) <= max(MAX_RELATIVE_ERROR * exact, 0.5)
    assert MAX_RELATIVE_ERROR <= 0.001


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(_values, min_size=1, max_size=5), q=_quantiles)
def test_merged_histograms_equal_the_histogram_of_the_union(
    parts: list[list[int]], q: float
) -> None:
    merged = Histogram()
    for part in parts:
        hist = Histogram()
        hist.record_many(part)
        merged.merge(hist)
    union = Histogram()
    union.record_many([v for part in parts for v in part])
    assert merged == union
    assert merged.percentile(q) == union.percentile(q)
    assert (merged.min, merged.max, merged.count) == (union.min, union.max, union.count)


@settings(max_examples=100, deadline=None)
@given(values=_values)
def test_serialisation_round_trips_through_json(values: list[int]) -> None:
    hist = Histogram()
    hist.record_many(values)
    again = Histogram.from_dict(json.loads(json.dumps(hist.to_dict())))
    assert again == hist
    assert again.percentile(99) == hist.percentile(99)


def test_small_values_are_exact_and_mean_min_max() -> None:
    hist = Histogram()
    hist.record_many([5, 1, 3, 1000])
    assert (hist.min, hist.max, hist.count) == (1, 1000, 4)
    assert hist.percentile(50) == 3.0
    assert hist.percentile(100) == 1000.0
    assert hist.mean == pytest.approx(252.25)


def test_empty_and_invalid_inputs() -> None:
    hist = Histogram()
    assert math.isnan(hist.percentile(50))
    with pytest.raises(ValueError, match=">= 0"):
        hist.record(-1)
    with pytest.raises(ValueError, match="percentile must be in"):
        hist.percentile(0)
    with pytest.raises(ValueError, match="not a serialised Histogram"):
        Histogram.from_dict({"count": 1})
    with pytest.raises(ValueError, match="inconsistent"):
        Histogram.from_dict({"count": 2, "total": 1, "min": 1, "max": 1, "buckets": [[1, 1]]})


def test_count_below_counts_whole_buckets_only() -> None:
    hist = Histogram()
    hist.record_many([0, 0, 5, 3000, 10**9])
    assert hist.count_below(1) == 2
    assert hist.count_below(6) == 3
    assert hist.count_below(10**9) == 4
