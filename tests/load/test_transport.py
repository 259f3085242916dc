"""The gevent transport (load generator side): HTTP framing and the classifier over sockets."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_aistack.llm.replay import ReplayServer, load_manifest
from pytest_aistack.load.http11 import ChunkedDecoder, ProtocolError

PROBE = Path(__file__).resolve().parent / "transport_probe.py"


def chunked(parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts if p) + b"0\r\n\r\n"


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.binary(min_size=1, max_size=50), max_size=10),
    cuts=st.lists(st.integers(0, 1000), max_size=20),
)
def test_chunked_decoder_is_split_invariant(parts: list[bytes], cuts: list[int]) -> None:
    wire = chunked(parts)
    points = sorted({c % (len(wire) + 1) for c in cuts})
    decoder = ChunkedDecoder()
    out = b""
    for a, b in zip([0, *points], [*points, len(wire)], strict=True):
        out += decoder.feed(wire[a:b])
    assert out == b"".join(parts)
    assert decoder.finished


def test_chunked_decoder_rejects_bad_framing() -> None:
    with pytest.raises(ProtocolError, match="bad chunk size"):
        ChunkedDecoder().feed(b"zz\r\n")
    with pytest.raises(ProtocolError, match="not followed by CRLF"):
        ChunkedDecoder().feed(b"2\r\nabXY")


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    server = ReplayServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    "mode", ["kernel-stamps", "read-time", "one-chunk-per-read"], ids=lambda mode: mode
)
def test_gevent_transport_classifies_every_recording(replay: ReplayServer, mode: str) -> None:
    manifest = load_manifest()
    urls = [replay.url(name) for name in sorted(manifest)]
    stamps = mode != "read-time"
    flags = {
        "kernel-stamps": [],
        "read-time": ["--no-kernel-stamps"],
        "one-chunk-per-read": ["--always-one-chunk"],
    }[mode]
    done = subprocess.run(
        [sys.executable, str(PROBE), *flags, *urls],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 2 * len(manifest)
    for line in lines:
        assert line["kernel_stamps"] is (stamps and sys.platform == "linux") or (
            line["outcome"] == "refused"
        )
        name = line["url"].rsplit("/", 1)[1]
        assert (line["outcome"], line["content_events"]) == (
            manifest[name]["outcome"],
            manifest[name]["content_events"],
        ), line
        if line["outcome"] == "stall":
            # Declared at the idle deadline (0.3 s) after the last content, not at
            # the later first-token deadline (2 s); pings kept arriving meanwhile.
            assert 0.3 <= line["silent_s"] < 1.5, line


def test_gevent_transport_times_out_a_silent_server(replay: ReplayServer) -> None:
    done = subprocess.run(
        [sys.executable, str(PROBE), replay.url("silent")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for line in map(json.loads, done.stdout.splitlines()):
        assert line["outcome"] == "timeout", line
        assert "no response headers within 2 s" in line["error"]


@pytest.mark.parametrize(
    "flags",
    [[], ["--always-one-chunk"], ["--process-behind"]],
    ids=["default", "one-chunk", "process-behind"],
)
def test_gevent_transport_reuses_connections_and_counts_tokens(
    mock_url: str, flags: list[str]
) -> None:
    done = subprocess.run(
        [sys.executable, str(PROBE), *flags, mock_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    for line in (first, second):
        assert line["outcome"] == "ok", line
        assert line["tokens"] == line["content_events"] == 16
        assert line["kept_alive"] is True


def test_whole_chunk_length_from_a_peek() -> None:
    from pytest_aistack.load.http11 import whole_chunk_length

    assert whole_chunk_length(b"1f\r\ndata: {") == 2 + 2 + 31 + 2
    assert whole_chunk_length(b"0\r\n\r\n") == 0  # last chunk: read normally
    assert whole_chunk_length(b"1f;ext=1") == 0  # no line end within the peek
    assert whole_chunk_length(b"zz\r\n") == 0
    assert whole_chunk_length(b"") == 0
