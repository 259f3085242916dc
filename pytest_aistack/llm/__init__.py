"""Streaming OpenAI-compatible client and the stream classifier."""

from __future__ import annotations

from .chunks import ChunkInfo, ChunkInspector, MalformedChunk, analyse
from .client import LLMClient, new_request_id
from .request import auth_headers, build_body, endpoint_path
from .sse import SSEEvent, SSEParser
from .stream import StreamRecorder, StreamTimeouts

__all__ = [
    "ChunkInfo",
    "ChunkInspector",
    "LLMClient",
    "MalformedChunk",
    "SSEEvent",
    "SSEParser",
    "StreamRecorder",
    "StreamTimeouts",
    "analyse",
    "auth_headers",
    "build_body",
    "endpoint_path",
    "new_request_id",
]
