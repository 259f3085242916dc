from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_aistack.llm.chunks import ChunkInspector, MalformedChunk, analyse


def chat_chunk(text: str, *, cid: str = "chatcmpl-1", compact: bool = True, **extra: Any) -> bytes:
    obj = {
        "id": cid,
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [
            {"index": 0, "delta": {"content": text}, "finish_reason": extra.pop("finish", None)}
        ],
        **extra,
    }
    separators = (",", ":") if compact else (", ", ": ")
    return json.dumps(obj, separators=separators).encode()


def inspect_like_recorder(inspector: ChunkInspector, payload: bytes) -> tuple[str, Any, Any]:
    """What the recorder learns from one payload: (text, finish_reason, id)."""
    fast = inspector.fast_text(payload)
    if fast is not None:
        return fast.decode("ascii"), None, "same-as-template"
    info = inspector.inspect(payload)
    return info.text, info.finish_reason, info.id


def test_role_chunk_with_empty_content_is_not_content() -> None:
    info = analyse(b'{"id":"a","choices":[{"delta":{"role":"assistant","content":""}}]}')
    assert info.text == ""


def test_reasoning_and_completions_text_count_as_content() -> None:
    assert analyse(b'{"choices":[{"delta":{"reasoning_content":"hm"}}]}').text == "hm"
    assert analyse(b'{"choices":[{"text":"hi","finish_reason":null}]}').text == "hi"


def test_error_payloads_and_malformed_payloads() -> None:
    assert analyse(b'{"error":{"message":"boom"}}').error == {"message": "boom"}
    assert analyse(b'{"object":"error","message":"x"}').error is not None
    for bad in (
        b"{not json",
        b"[1,2]",
        b'{"choices":{}}',
        b'{"choices":[{"delta":{"content":5}}]}',
    ):
        with pytest.raises(MalformedChunk):
            analyse(bad)


def test_template_is_learned_then_used_for_plain_chunks() -> None:
    inspector = ChunkInspector()
    assert inspect_like_recorder(inspector, chat_chunk("Hello")) == ("Hello", None, "chatcmpl-1")
    assert inspect_like_recorder(inspector, chat_chunk(" world")) == (
        " world",
        None,
        "same-as-template",
    )
    assert inspector.fast_hits == 1
    # A chunk that differs anywhere but the text is decoded in full.
    assert inspect_like_recorder(inspector, chat_chunk("x", finish="stop")) == (
        "x",
        "stop",
        "chatcmpl-1",
    )
    assert inspect_like_recorder(inspector, chat_chunk("x", cid="other"))[2] == "other"
    assert inspect_like_recorder(inspector, chat_chunk('with "quote"'))[0] == 'with "quote"'
    assert inspector.fast_hits == 1


def test_non_compact_json_also_learns_a_template() -> None:
    inspector = ChunkInspector()
    inspector.inspect(chat_chunk("a", compact=False))
    assert inspector.fast_text(chat_chunk("bcd", compact=False)) == b"bcd"


_texts = st.text(max_size=12)
_chunk_specs = st.tuples(
    _texts,
    st.sampled_from(["chatcmpl-1", "chatcmpl-2"]),
    st.sampled_from([None, "stop"]),
    st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(specs=st.lists(_chunk_specs, min_size=1, max_size=20))
def test_fast_path_agrees_with_full_decode(specs: list[tuple[str, str, str | None, bool]]) -> None:
    inspector = ChunkInspector()
    for text, cid, finish, compact in specs:
        payload = chat_chunk(text, cid=cid, compact=compact, finish=finish)
        reference = analyse(payload)
        fast = inspector.fast_text(payload)
        if fast is not None:
            # The fast path may only claim what a full decode says: plain content,
            # no finish_reason, and the template's id (learned from an earlier chunk).
            assert fast.decode("ascii") == reference.text != ""
            assert reference.finish_reason is None
            assert reference.id == inspector.inspect(payload).id
        else:
            info = inspector.inspect(payload)
            assert (info.text, info.finish_reason, info.id) == (
                reference.text,
                reference.finish_reason,
                reference.id,
            )


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=80))
def test_fast_path_never_matches_what_a_full_decode_rejects(payload: bytes) -> None:
    inspector = ChunkInspector()
    inspector.inspect(chat_chunk("seed"))
    candidate = chat_chunk("seed")[:60] + payload
    fast = inspector.fast_text(candidate)
    if fast is not None:
        assert analyse(candidate).text == fast.decode("ascii")
