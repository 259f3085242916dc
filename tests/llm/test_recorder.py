"""The sans-IO classifier fed directly: timing semantics and robustness."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_aistack.llm.replay import STREAMS_DIR, load_manifest, split_events
from pytest_aistack.llm.stream import StreamRecorder, StreamTimeouts
from pytest_aistack.metrics import Outcome, definitions

MS = 1_000_000
TIMEOUTS = StreamTimeouts()
ROLE = b'data: {"id":"c1","model":"m","choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'
TOKEN = b'data: {"id":"c1","model":"m","choices":[{"delta":{"content":"%s"}}]}\n\n'
FINISH = b'data: {"id":"c1","model":"m","choices":[{"delta":{},"finish_reason":"stop"}]}\n\n'
USAGE = b'data: {"id":"c1","model":"m","choices":[],"usage":{"completion_tokens":2}}\n\n'


def recorder() -> StreamRecorder:
    rec = StreamRecorder("r", 0, timeouts=TIMEOUTS)
    rec.on_headers(200, "text/event-stream", 1 * MS)
    return rec


def test_role_chunk_first_is_not_the_first_token() -> None:
    rec = recorder()
    rec.on_bytes(ROLE, 5 * MS)
    rec.on_bytes(b": ping\n\n", 20 * MS)
    rec.on_bytes(TOKEN % b"Hel", 50 * MS)
    rec.on_bytes(TOKEN % b"lo" + FINISH, 62 * MS)
    rec.on_bytes(USAGE + b"data: [DONE]\n\n", 63 * MS)
    record = rec.finish(70 * MS)
    assert record.outcome is Outcome.OK
    assert definitions.ttfb_ns(record) == 1 * MS  # headers (no earlier byte seen)
    assert definitions.ttft_ns(record) == 50 * MS
    assert definitions.itl_ns(record) == [12 * MS]
    assert definitions.e2e_ns(record) == 63 * MS  # ends at [DONE], not at finish()
    assert definitions.output_tokens(record) == (2, False)
    assert definitions.tpot_ns(record) == 13 * MS


def test_deadlines_follow_content_not_pings() -> None:
    timeouts = StreamTimeouts(first_token=1.0, idle=0.2, total=5.0)
    rec = StreamRecorder("r", 0, timeouts=timeouts)
    assert rec.read_deadline_ns() == 1_000 * MS
    rec.on_headers(200, "text/event-stream", 1 * MS)
    rec.on_bytes(TOKEN % b"a", 100 * MS)
    assert rec.read_deadline_ns() == 300 * MS
    rec.on_bytes(b": ping\n\n" * 3, 250 * MS)
    assert rec.read_deadline_ns() == 300 * MS
    rec.deadline_passed(300 * MS)
    record = rec.finish(300 * MS)
    assert record.outcome is Outcome.STALL
    assert "3 keep-alive comments do not count" in record.error


RECORDINGS = {
    name: (STREAMS_DIR / entry["file"]).read_bytes()
    for name, entry in load_manifest().items()
    if entry["content_type"].startswith("text/") and entry["ending"] == "complete"
}


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(RECORDINGS)),
    cuts=st.lists(st.integers(0, 5_000), max_size=30),
)
def test_any_byte_split_gives_the_same_outcome_and_events(name: str, cuts: list[int]) -> None:
    data = RECORDINGS[name]
    points = sorted({c % (len(data) + 1) for c in cuts})
    whole = recorder()
    for i, event in enumerate(split_events(data)):
        whole.on_bytes(event, (10 + i) * MS)
    split = recorder()
    for i, (a, b) in enumerate(zip([0, *points], [*points, len(data)], strict=True)):
        split.on_bytes(data[a:b], (10 + i) * MS)
    expected, got = whole.finish(99 * MS), split.finish(99 * MS)
    assert got.outcome == expected.outcome
    assert len(got.content_ns) == len(expected.content_ns)
    assert got.usage_output_tokens == expected.usage_output_tokens


@settings(max_examples=300, deadline=None)
@given(
    chunks=st.lists(st.binary(max_size=120), max_size=12),
    prefix=st.sampled_from([b"", b"data: ", b'data: {"choices":[{"delta":{"content":"']),
)
def test_arbitrary_bytes_give_exactly_one_outcome(chunks: list[bytes], prefix: bytes) -> None:
    rec = recorder()
    for i, chunk in enumerate([prefix, *chunks]):
        rec.on_bytes(chunk, (i + 2) * MS)
    record = rec.finish(50 * MS)
    assert isinstance(record.outcome, Outcome)
    assert record.end_ns >= record.sent_ns
