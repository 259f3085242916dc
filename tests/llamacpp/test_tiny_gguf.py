"""The tiny GGUF model: what llama.cpp's loader reads, the fixed answer, the cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest

from pytest_aistack.reference_stack.llamacpp import tiny_gguf


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_gguf.write_model(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture(scope="module")
def reader(model: Path) -> gguf.GGUFReader:
    return gguf.GGUFReader(model)


def _field(reader: gguf.GGUFReader, key: str) -> Any:
    field = reader.get_field(key)
    assert field is not None, f"{key} missing"
    return field.contents()


def test_llama_hyperparameters_and_spm_vocabulary(reader: gguf.GGUFReader) -> None:
    shape = tiny_gguf.TinyShape()
    assert _field(reader, "general.architecture") == "llama"
    assert _field(reader, "llama.embedding_length") == shape.n_embd
    assert _field(reader, "llama.block_count") == shape.n_layer
    assert _field(reader, "llama.attention.head_count") == shape.n_head
    assert _field(reader, "llama.rope.dimension_count") == shape.head_dim
    assert _field(reader, "tokenizer.ggml.model") == "llama"
    tokens = _field(reader, "tokenizer.ggml.tokens")
    assert tokens[:3] == ["<unk>", "<s>", "</s>"]
    # llama_vocab::byte_to_token looks these up for every byte not in the vocabulary.
    assert tokens[3:259] == [f"<0x{b:02X}>" for b in range(256)]
    assert len(tokens) == _field(reader, "llama.vocab_size") == 259 + len(tiny_gguf.WORDS)
    assert len(_field(reader, "tokenizer.ggml.token_type")) == len(tokens)
    assert len(_field(reader, "tokenizer.ggml.scores")) == len(tokens)
    assert _field(reader, "tokenizer.ggml.bos_token_id") == 1
    assert _field(reader, "tokenizer.ggml.eos_token_id") == 2
    assert "add_generation_prompt" in _field(reader, "tokenizer.chat_template")


def test_every_tensor_the_llama_loader_requires(reader: gguf.GGUFReader) -> None:
    shape = tiny_gguf.TinyShape()
    n_vocab = 259 + len(tiny_gguf.WORDS)
    # ggml order, as llama.cpp's src/models/llama.cpp create_tensor() asks for them.
    expected = {
        "token_embd.weight": [shape.n_embd, n_vocab],
        "output_norm.weight": [shape.n_embd],
        "output.weight": [shape.n_embd, n_vocab],
    }
    for block in range(shape.n_layer):
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            expected[f"blk.{block}.{name}.weight"] = [shape.n_embd, shape.n_embd]
        for name in ("attn_norm", "ffn_norm"):
            expected[f"blk.{block}.{name}.weight"] = [shape.n_embd]
        for name in ("ffn_gate", "ffn_up"):
            expected[f"blk.{block}.{name}.weight"] = [shape.n_embd, shape.n_ff]
        expected[f"blk.{block}.ffn_down.weight"] = [shape.n_ff, shape.n_embd]
    found = {t.name: [int(d) for d in t.shape] for t in reader.tensors}
    assert found == expected


def test_after_each_word_the_next_word_wins_by_far(reader: gguf.GGUFReader) -> None:
    """The logit a layer-free pass gives: the answer cycles through WORDS, no byte, no EOS."""
    tensors = {t.name: np.asarray(t.data) for t in reader.tensors}
    embedding, output = tensors["token_embd.weight"], tensors["output.weight"]
    first_word = tiny_gguf.FIRST_WORD_ID
    n_words = len(tiny_gguf.WORDS)
    for i in range(n_words):
        hidden = embedding[first_word + i]
        hidden = hidden / np.sqrt(np.mean(hidden**2))  # RMSNorm, weights 1
        logits = output @ hidden
        best, runner_up = np.sort(logits)[-1], np.sort(logits)[-2]
        assert int(np.argmax(logits)) == first_word + (i + 1) % n_words
        # Sampling at temperature 1 cannot pick anything else in practice.
        assert best - runner_up > 20, (tiny_gguf.WORDS[i], best, runner_up)
    for token in range(first_word):  # specials and bytes: a word follows, never </s>
        logits = output @ embedding[token]
        assert int(np.argmax(logits)) >= first_word


def test_same_seed_same_bytes_other_seed_other_weights(tmp_path: Path, model: Path) -> None:
    again = tiny_gguf.write_model(tmp_path / "again.gguf")
    assert again.read_bytes() == model.read_bytes()
    other = tiny_gguf.write_model(tmp_path / "other.gguf", seed=tiny_gguf.DEFAULT_SEED + 1)
    assert other.read_bytes() != model.read_bytes()


def test_ensure_model_writes_once_and_links_model_gguf(tmp_path: Path) -> None:
    target, written = tiny_gguf.ensure_model(tmp_path)
    assert written
    assert target.name == tiny_gguf.file_name()
    link = tmp_path / tiny_gguf.MODEL_LINK
    assert link.resolve() == target.resolve()
    mtime = target.stat().st_mtime_ns
    target_again, written_again = tiny_gguf.ensure_model(tmp_path)
    assert (target_again, written_again) == (target, False)
    assert target.stat().st_mtime_ns == mtime
    # Another seed is another cache entry; model.gguf follows the latest request.
    other, _ = tiny_gguf.ensure_model(tmp_path, seed=7)
    assert other != target
    assert link.resolve() == other.resolve()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_cli_reports_what_it_did(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tiny_gguf.main([str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith(f"tiny_gguf: wrote {tmp_path}/")
    assert tiny_gguf.main([str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith(f"tiny_gguf: cached {tmp_path}/")
