"""The llama.cpp variant of the reference stack: a tiny GGUF model made at set-up."""
