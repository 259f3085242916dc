from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_aistack.llm.replay import STREAMS_DIR
from pytest_aistack.llm.sse import SSEEvent, SSEParser


def parse_all(chunks: list[bytes]) -> tuple[list[SSEEvent], int]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events, parser.comments


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def test_data_event_comment_and_field_forms() -> None:
    stream = (
        b": ping\n"
        b"data: one\n\n"
        b"event: error\ndata:two\ndata:  three\n\n"
        b"data\n\n"  # a field without colon: an event with empty data
        b"id: 7\nretry: 10\n\n"  # no data: nothing dispatched
        b"data: tail-without-blank-line"
    )
    events, comments = parse_all([stream])
    assert events == [
        SSEEvent(b"one"),
        SSEEvent(b"two\n three", b"error"),
        SSEEvent(b""),
    ]
    assert comments == 1


def test_crlf_cr_and_lf_line_ends_are_equivalent() -> None:
    lf = b"data: a\n\ndata: b\ndata: c\n\n"
    assert parse_all([lf.replace(b"\n", b"\r\n")]) == parse_all([lf])
    assert parse_all([lf.replace(b"\n", b"\r")]) == parse_all([lf])


def test_crlf_split_between_cr_and_lf_is_one_line_end() -> None:
    events, _ = parse_all([b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"])
    assert events == [SSEEvent(b"a"), SSEEvent(b"b")]


def test_overlong_line_sets_overflow_instead_of_buffering() -> None:
    parser = SSEParser()
    for _ in range(20):
        parser.feed(b"x" * 100_000)
    assert parser.overflow


RECORDINGS = sorted(p.read_bytes() for p in STREAMS_DIR.glob("*.sse"))


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(0, len(RECORDINGS) - 1),
    cuts=st.lists(st.integers(0, 10_000), max_size=40),
)
def test_any_byte_split_of_a_recorded_stream_gives_the_same_events(
    index: int, cuts: list[int]
) -> None:
    data = RECORDINGS[index]
    assert parse_all(split_at(data, cuts)) == parse_all([data])


_line = st.one_of(
    st.binary(max_size=30).map(lambda b: b"data: " + b.replace(b"\n", b"").replace(b"\r", b"")),
    st.just(b": ping"),
    st.just(b"event: error"),
    st.just(b""),
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(_line, max_size=30),
    newline=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    cuts=st.lists(st.integers(0, 2_000), max_size=30),
)
def test_any_byte_split_of_a_generated_stream_gives_the_same_events(
    lines: list[bytes], newline: bytes, cuts: list[int]
) -> None:
    data = b"".join(line + newline for line in lines)
    assert parse_all(split_at(data, cuts)) == parse_all([data])


@settings(max_examples=500, deadline=None)
@given(chunks=st.lists(st.binary(max_size=200), max_size=20))
def test_arbitrary_bytes_never_crash_the_parser(chunks: list[bytes]) -> None:
    events, comments = parse_all(chunks)
    assert all(isinstance(e.data, bytes) for e in events)
    assert comments >= 0
