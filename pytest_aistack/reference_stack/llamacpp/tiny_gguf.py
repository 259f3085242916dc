"""A tiny llama-architecture GGUF model, generated locally: no download, milliseconds a token.

The llama.cpp variant of the reference stack
(``pytest_aistack/reference_stack/stack-llamacpp.yaml``)
runs real ``llama_cpp.server`` processes; they need a model file, and the stack must not
download one. This module writes a valid ``llama`` model with seeded random weights:

* **Vocabulary**: a SentencePiece-style (``tokenizer.ggml.model = "llama"``) list of
  ``<unk>``, ``<s>``, ``</s>``, the 256 byte tokens ``<0x00>``…``<0xFF>`` and a few
  whole words (``▁hello``…). llama.cpp's SPM tokenizer falls back to the byte tokens
  for anything not in the list (``llama_vocab::byte_to_token``), so every prompt
  tokenizes; its defaults are unk 0, bos 1, eos 2 (``llama-vocab.cpp``), written out
  here anyway.
* **Weights**: embeddings are random (seeded); the layers' weights are random but small,
  so the last hidden state is about the last token's embedding; the output matrix maps
  the embedding of word *i* to word *i + 1*. The model therefore answers with the words
  in a fixed cycle ("… tiny llama model that runs …") and never samples a byte token or
  ``</s>``: readable, valid UTF-8 text of exactly ``max_tokens`` tokens.
* **Chat template** (``tokenizer.chat_template``): ``role: content`` lines and
  ``assistant:``; llama-cpp-python renders it with Jinja2 for ``/v1/chat/completions``.

Shapes follow llama.cpp's loader (``src/models/llama.cpp``, ggml order ``{n_embd,
n_vocab}`` and so on); gguf-py stores a numpy array's shape reversed, so the arrays here
are ``(n_vocab, n_embd)``. Tensor and key names come from gguf-py's own constants.

Run ``python -m pytest_aistack.reference_stack.llamacpp.tiny_gguf DIR`` (``make llamacpp``):
it writes ``DIR/tiny-llama-g<version>-s<seed>.gguf`` unless it is there and points
``DIR/model.gguf`` at it. Needs the ``gguf`` package (``pytest-aistack[llamacpp]``).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# Bump when the file this writes changes in any way: the cache key.
GENERATOR_VERSION = 1
DEFAULT_SEED = 20250
MODEL_LINK = "model.gguf"
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ message['role'] }}: {{ message['content'] }}\n"
    "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
)
# Distinct words: each has exactly one successor, so the answer is a fixed cycle.
WORDS = (
    "hello", "from", "a", "tiny", "llama", "model", "that", "runs", "on", "your", "own",
    "cpu", "with", "random", "weights", "and", "answers", "every", "prompt", "in", "the",
    "same", "few", "words",
)  # fmt: skip
SPECIALS = ("<unk>", "<s>", "</s>")
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
FIRST_BYTE_ID = len(SPECIALS)
FIRST_WORD_ID = FIRST_BYTE_ID + 256
# SentencePiece marks a preceding space with U+2581; llama.cpp turns it back into " ".
SPACE = "\u2581"
# Small enough that a layer barely moves the residual stream (see the module docstring).
LAYER_WEIGHT_STD = 0.02


@dataclass(frozen=True)
class TinyShape:
    n_embd: int = 128
    n_layer: int = 2
    n_head: int = 4
    n_ff: int = 256
    context_length: int = 2048

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


def file_name(seed: int = DEFAULT_SEED) -> str:
    """The cached file's name: changes with the generator's version and the seed."""
    return f"tiny-llama-g{GENERATOR_VERSION}-s{seed}.gguf"


def vocabulary() -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and token types, in id order."""
    import gguf

    tokens = list(SPECIALS)
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    tokens += [f"<0x{byte:02X}>" for byte in range(256)]
    types += [gguf.TokenType.BYTE] * 256
    tokens += [SPACE + word for word in WORDS]
    types += [gguf.TokenType.NORMAL] * len(WORDS)
    # SPM merges prefer higher scores; the words are whole tokens, nothing to prefer.
    scores = [0.0] * len(tokens)
    return tokens, scores, [int(t) for t in types]


def weights(seed: int, shape: TinyShape, n_vocab: int) -> dict[str, npt.NDArray[np.float32]]:
    """Every tensor llama.cpp's llama loader requires, by its GGUF name."""
    import gguf
    import numpy as np

    rng = np.random.default_rng(seed)
    names = gguf.TENSOR_NAMES
    tensor = gguf.MODEL_TENSOR

    def small(*dims: int) -> npt.NDArray[np.float32]:
        return (rng.standard_normal(dims) * LAYER_WEIGHT_STD).astype(np.float32)

    ones = np.ones(shape.n_embd, dtype=np.float32)
    embedding = rng.standard_normal((n_vocab, shape.n_embd)).astype(np.float32)
    # Output row of word i+1 = embedding of word i: after word i, word i+1 scores
    # |e_i|^2 (~n_embd) against ~N(0, n_embd) for the others. Rows of the byte and
    # special tokens stay 0, below the best word's (positive) score for any input.
    output = np.zeros((n_vocab, shape.n_embd), dtype=np.float32)
    word_ids = [FIRST_WORD_ID + i for i in range(len(WORDS))]
    for i, word_id in enumerate(word_ids):
        output[word_ids[(i + 1) % len(word_ids)]] = embedding[word_id]
    tensors = {
        f"{names[tensor.TOKEN_EMBD]}.weight": embedding,
        f"{names[tensor.OUTPUT_NORM]}.weight": ones,
        f"{names[tensor.OUTPUT]}.weight": output,
    }
    e, ff = shape.n_embd, shape.n_ff
    for block in range(shape.n_layer):
        layer = {
            tensor.ATTN_NORM: ones,
            tensor.ATTN_Q: small(e, e),
            tensor.ATTN_K: small(e, e),
            tensor.ATTN_V: small(e, e),
            tensor.ATTN_OUT: small(e, e),
            tensor.FFN_NORM: ones,
            tensor.FFN_GATE: small(ff, e),  # ggml {n_embd, n_ff}
            tensor.FFN_UP: small(ff, e),
            tensor.FFN_DOWN: small(e, ff),  # ggml {n_ff, n_embd}
        }
        for kind, value in layer.items():
            tensors[f"{names[kind].format(bid=block)}.weight"] = value
    return tensors


def write_model(path: Path, *, seed: int = DEFAULT_SEED, shape: TinyShape | None = None) -> Path:
    """Write the model to ``path`` (atomically: a temporary file, then a rename)."""
    import gguf

    shape = shape or TinyShape()
    tokens, scores, types = vocabulary()
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    writer = gguf.GGUFWriter(partial, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    try:
        writer.add_name(f"aistack tiny llama (generator {GENERATOR_VERSION}, seed {seed})")
        writer.add_file_type(gguf.LlamaFileType.ALL_F32)
        writer.add_vocab_size(len(tokens))
        writer.add_context_length(shape.context_length)
        writer.add_embedding_length(shape.n_embd)
        writer.add_block_count(shape.n_layer)
        writer.add_feed_forward_length(shape.n_ff)
        writer.add_head_count(shape.n_head)
        writer.add_head_count_kv(shape.n_head)
        writer.add_rope_dimension_count(shape.head_dim)
        writer.add_layer_norm_rms_eps(1e-5)
        writer.add_tokenizer_model("llama")
        writer.add_token_list(tokens)
        writer.add_token_scores(scores)
        writer.add_token_types(types)
        writer.add_unk_token_id(UNK_ID)
        writer.add_bos_token_id(BOS_ID)
        writer.add_eos_token_id(EOS_ID)
        writer.add_add_bos_token(True)
        writer.add_add_eos_token(False)
        writer.add_add_space_prefix(True)
        writer.add_chat_template(CHAT_TEMPLATE)
        for name, value in weights(seed, shape, len(tokens)).items():
            writer.add_tensor(name, value)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    try:
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
    return path


def ensure_model(directory: Path, *, seed: int = DEFAULT_SEED) -> tuple[Path, bool]:
    """The model in ``directory`` (written if missing) and ``model.gguf`` pointing at it.

    Returns the file and whether it was written now.
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / file_name(seed)
    written = not target.is_file()
    if written:
        write_model(target, seed=seed)
    link = directory / MODEL_LINK
    if not (link.is_symlink() and os.readlink(link) == target.name):
        staged = directory / f".{MODEL_LINK}.{os.getpid()}"
        staged.unlink(missing_ok=True)
        staged.symlink_to(target.name)
        staged.replace(link)
    return target, written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_aistack.reference_stack.llamacpp.tiny_gguf",
        description=__doc__.split("\n")[0],
    )
    parser.add_argument("directory", type=Path, help="where the model is cached")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    try:
        target, written = ensure_model(args.directory, seed=args.seed)
    except ImportError as exc:
        print(f"tiny_gguf: {exc}; install it: pip install 'pytest-aistack[llamacpp]'")
        return 1
    except OSError as exc:
        print(f"tiny_gguf: cannot write the model in {args.directory}: {exc}")
        return 1
    what = "wrote" if written else "cached"
    print(f"tiny_gguf: {what} {target} ({target.stat().st_size} bytes); {MODEL_LINK} -> it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
