"""Pure parts: profile and fault grammar, schedules, outcomes, wire formats (no sockets)."""

from __future__ import annotations

import gc
import itertools
import json
import random

import pytest

from pytest_aistack.mock_llm.config import OutputLength, ProfileError, TimingProfile, parse_profile
from pytest_aistack.mock_llm.content import (
    OpenAIChatFormat,
    OpenAICompletionFormat,
    Timings,
    Usage,
)
from pytest_aistack.mock_llm.faults import NO_FAULTS, FaultError, FaultRegistry, parse_faults
from pytest_aistack.mock_llm.plan import CUT, DATA, HANG
from pytest_aistack.mock_llm.stats import ServedRequest, Stats
from pytest_aistack.mock_llm.steps import planned_outcome, stream_steps


def test_offsets_are_absolute_without_jitter() -> None:
    profile = TimingProfile(ttft_ms=50, itl_ms=10, prefill_us_per_token=100)
    offsets = list(itertools.islice(profile.token_offsets(random.Random(0), 20), 1001))
    # prefill: 20 tokens * 100 us = 2 ms on top of the 50 ms TTFT
    assert offsets[0] == pytest.approx(0.052)
    assert offsets[1000] == pytest.approx(0.052 + 1000 * 0.010, abs=1e-9)  # no drift


@pytest.mark.parametrize("dist", ["uniform", "normal", "exponential"])
def test_jitter_is_seeded_and_never_negative(dist: str) -> None:
    profile = TimingProfile(itl_ms=10, jitter_ms=5, jitter=dist)  # type: ignore[arg-type]

    def draw(seed: str) -> list[float]:
        return list(itertools.islice(profile.token_offsets(random.Random(seed), 1), 200))

    first, again, other = draw("a"), draw("a"), draw("b")
    assert first == again
    assert first != other
    gaps = [b - a for a, b in itertools.pairwise(first)]
    assert min(gaps) >= 0
    assert max(gaps) != min(gaps)


def test_profile_overrides_and_errors() -> None:
    profile = TimingProfile().with_overrides(parse_profile("ttft_ms=5,output_tokens=uniform:2:4"))
    assert profile.ttft_ms == 5
    assert profile.output_tokens == OutputLength("uniform", 2, 4)
    assert TimingProfile().with_overrides({"seed": 7, "jitter": "normal"}).seed == 7
    with pytest.raises(ProfileError, match="itl_ms='fast'"):
        TimingProfile().with_overrides({"itl_ms": "fast"})
    with pytest.raises(ProfileError, match="output_tokens='uniform:5:2'"):
        OutputLength.parse("uniform:5:2")
    with pytest.raises(ProfileError, match="needs a value"):
        parse_profile("ttft_ms")


def test_output_length_from_max_tokens() -> None:
    rng = random.Random(0)
    assert OutputLength.parse("max").draw(rng, 7) == (7, True)
    assert OutputLength.parse("10").draw(rng, 7) == (7, True)
    assert OutputLength.parse("10").draw(rng, None) == (10, False)
    draws = {OutputLength.parse("uniform:3:5").draw(rng, None)[0] for _ in range(100)}
    assert draws == {3, 4, 5}


def test_fault_grammar_combines_faults() -> None:
    faults = parse_faults("slow_headers,seconds=0.5; stall,after=2,seconds=1,ping=0.25")
    assert faults.header_delay_s == 0.5
    assert (faults.stall_after, faults.stall_s, faults.ping_s) == (2, 1.0, 0.25)
    assert parse_faults("hang_first_token").first_token_delay_s == float("inf")
    with pytest.raises(FaultError, match="ping"):
        parse_faults("stall,after=1,ping=0")
    with pytest.raises(FaultError, match="empty"):
        parse_faults(" ; ")


def steps_of(fault: str, tokens: int = 4) -> list[tuple[float, bytes, int, int]]:
    fmt = OpenAIChatFormat("id", 0, "m", include_usage=False)
    offsets = TimingProfile(ttft_ms=100, itl_ms=10).token_offsets(random.Random(0), 1)
    faults = parse_faults(fault) if fault else NO_FAULTS
    return list(itertools.islice(stream_steps(0.0, offsets, tokens, fmt, faults, b"END", "e"), 50))


def test_steps_without_faults() -> None:
    steps = steps_of("")
    assert [s[0] for s in steps] == pytest.approx([0.1, 0.11, 0.12, 0.13, 0.13])
    assert [s[2] for s in steps] == [1, 1, 1, 1, 0]
    assert steps[-1][1] == b"END"


def test_steps_with_stall_shift_later_tokens() -> None:
    steps = steps_of("stall,after=2,seconds=1,ping=0.4")
    deadlines = [s[0] for s in steps if s[2]]
    assert deadlines == pytest.approx([0.1, 0.11, 1.12, 1.13])
    pings = [s[0] for s in steps if s[1] == b": ping\n\n"]
    assert pings == pytest.approx([0.51, 0.91])


def test_steps_end_actions() -> None:
    assert steps_of("cut,after=2")[-1][3] == CUT
    assert steps_of("stall,after=1")[-1][3] == HANG
    assert steps_of("hang_first_token") == [(0.0, b"", 0, HANG)]
    truncated = steps_of("truncate,after=3")
    assert [s[3] for s in truncated] == [DATA] * 3
    assert b"END" not in b"".join(s[1] for s in truncated)


def test_completion_stream_events() -> None:
    """Streamed /v1/completions: text chunks, finish, usage chunk, [DONE]; no role chunk."""
    fmt = OpenAICompletionFormat("cmpl-1", 7, "m", include_usage=True)
    wire = fmt.token(0) + fmt.token(1) + fmt.finish("length", Usage(3, 2), Timings(0.1, 0.2))
    data = [line.removeprefix(b"data: ") for line in wire.split(b"\n\n") if line]
    assert data[-1] == b"[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert {(c["id"], c["object"], c["created"], c["model"]) for c in chunks} == {
        ("cmpl-1", "text_completion", 7, "m")
    }
    choice = {"index": 0, "logprobs": None, "stop_reason": None}
    assert [c["choices"] for c in chunks] == [
        [{**choice, "text": "tok0", "finish_reason": None}],
        [{**choice, "text": " tok1", "finish_reason": None}],
        [{**choice, "text": "", "finish_reason": "length"}],
        [],
    ]
    assert chunks[-1]["usage"] == {"prompt_tokens": 3, "total_tokens": 5, "completion_tokens": 2}
    bad = fmt.malformed()
    assert bad.startswith(b'data: {"id":"cmpl-1","object":"text_completion",')
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad.removeprefix(b"data: "))


def test_planned_outcomes() -> None:
    assert planned_outcome(parse_faults("cut,after=2"), 4) == "cut"
    assert planned_outcome(parse_faults("cut,after=9"), 4) == "completed"
    assert planned_outcome(parse_faults("truncate,after=4"), 4) == "truncated"
    assert planned_outcome(parse_faults("malformed,at=1"), 4) == "malformed"
    assert planned_outcome(parse_faults("malformed,at=1;cut,after=3"), 4) == "cut"


def test_admin_registry_counts_down() -> None:
    registry = FaultRegistry()
    registry.add({"fault": "status,code=500", "count": 2})
    assert [registry.pick("/v1/chat/completions") is not None for _ in range(3)] == [
        True, True, False,
    ]  # fmt: skip


def make_record(request_id: str) -> ServedRequest:
    return ServedRequest(request_id, "b", "POST /v1/chat/completions", "m", True, 200,
                         "in_progress", None, 1, 0, 0.0)  # fmt: skip


def test_records_are_bounded_and_keep_the_latest_of_a_repeated_id() -> None:
    stats = Stats("b", max_records=3)
    for request_id in ["a", "b", "a", "c", "d"]:
        stats.add_record(make_record(request_id))
    assert list(stats.records) == ["a", "c", "d"]
    assert stats.dropped == 1  # "b"; the first "a" was replaced, not dropped
    for _ in range(5000):  # the same id forever must not grow memory
        stats.add_record(make_record("same"))
    assert len(stats._order) < 2 * 3 + 1024 + 2
    assert len(stats.records) == 3


def test_a_repeated_id_counts_its_attempts_also_after_sealing() -> None:
    stats = Stats("b", max_records=10)
    first = make_record("retried")
    stats.add_record(first)
    stats.seal(first)  # the first attempt ended: its record is a tuple now
    stats.add_record(make_record("retried"))
    stats.add_record(make_record("once"))
    stats.add_record(make_record("retried"))
    records = stats.records_json()
    assert records["retried"]["attempts"] == 3
    assert records["once"]["attempts"] == 1


def test_sealed_records_are_untracked_by_the_gc_and_report_the_same() -> None:
    stats = Stats("b", max_records=10)
    record = make_record("r")
    stats.add_record(record)
    record.outcome = "completed"
    before = stats.records_json()["r"]
    stats.seal(record)
    sealed = stats.records["r"]
    assert isinstance(sealed, tuple)
    gc.collect()
    assert not gc.is_tracked(sealed)
    assert stats.records_json()["r"] == before
    assert before["outcome"] == "completed"
    assert "request_id" not in before
