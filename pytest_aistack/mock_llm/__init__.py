"""A deterministic, scriptable, fast OpenAI- and Ollama-compatible mock inference server.

Run it with ``aistack mock-llm`` (docs/mock_llm.md), or in-process as an ASGI app::

    from pytest_aistack.mock_llm import MockConfig, create_app
    app = create_app(MockConfig(name="vllm-a", models=("qwen",)))
"""

from .asgi_app import MockLLMApp, StreamCutError, create_app
from .config import MockConfig, OutputLength, TimingProfile
from .engine import Engine

__all__ = [
    "Engine",
    "MockConfig",
    "MockLLMApp",
    "OutputLength",
    "StreamCutError",
    "TimingProfile",
    "create_app",
]
