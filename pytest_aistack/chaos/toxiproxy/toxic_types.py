"""What a toxic is, apart from what it does: its kind, its settings on one proxy, the
direction it sits in, and the stage interface its behaviour is written against.

The behaviours themselves are in :mod:`.toxics`; the stages that run them, one per toxic
per connection, in :mod:`.link` (upstream's ``ToxicStub``). Behaviours see a stage only
through :class:`ToxicStage`, so they need nothing of the link's internals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .jsonio import GoKind

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"
# Order of the two chains in listings: upstream first (stream/direction.go).
DIRECTIONS = (UPSTREAM, DOWNSTREAM)


@dataclass(slots=True)
class Chunk:
    data: bytes
    # time.monotonic() when the chunk arrived from the source; latency toxics move it on.
    timestamp: float


class StageLink(Protocol):
    """What a behaviour reaches of the link its stage runs on."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    @property
    def on_latency_lateness(self) -> Callable[[float], None]: ...

    @property
    def reset_connection(self) -> Callable[[], None]: ...


class ToxicStage(Protocol):
    """What a behaviour may do with the stage it runs on (:class:`.link.Stage`)."""

    @property
    def link(self) -> StageLink: ...

    @property
    def state(self) -> dict[str, Any]:
        """Per-connection state of stateful toxics (limit_data); survives updates."""
        ...

    async def receive(self) -> Chunk | None:
        """The next chunk, or None at end of stream."""
        ...

    def unreceive(self, chunk: Chunk | None) -> None:
        """Put a chunk back at the head of the queue (an interrupted behaviour's chunk)."""
        ...

    def emit(self, chunk: Chunk) -> None: ...

    def close(self) -> None:
        """End the stream here: drop what waits, pass end-of-stream on."""
        ...


Behaviour = Callable[[ToxicStage, dict[str, int]], Awaitable[None]]


@dataclass(frozen=True)
class ToxicKind:
    type: str
    # Go struct name, for decoding error messages.
    struct: str
    fields: Mapping[str, GoKind]
    run: Behaviour
    # Removing the toxic ends the stream of the connections it sits on.
    closes_on_removal: bool = False


@dataclass
class EmbeddedToxic:
    """One toxic installed on a proxy of the embedded server; the client's view is ``Toxic``."""

    name: str
    kind: ToxicKind
    stream: str
    direction: str
    toxicity: float
    attributes: dict[str, int] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.kind.type

    def to_json(self) -> dict[str, object]:
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.kind.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
        }
