"""Errors and models of the Toxiproxy client (re-exported by :mod:`pytest_aistack.chaos.client`).

::

    ToxiproxyError                      any failed call
     +-- ToxiproxyUnavailable           no answer (connection refused, timeout)
     +-- ToxiproxyApiError              an error answer: .status, .message
          +-- BadRequest                400 (bad body, missing field, invalid toxic type…)
          +-- NotFound                  404 (proxy or toxic not found)
          +-- Conflict                  409 (proxy or toxic already exists)
          +-- ServerError               500 (e.g. the listen address is in use)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_aistack.errors import ChaosError

Stream = Literal["upstream", "downstream"]


class ToxiproxyError(ChaosError):
    """A Toxiproxy call failed."""


class ToxiproxyUnavailable(ToxiproxyError):
    """The Toxiproxy API did not answer (connection refused, timed out)."""


class ToxiproxyApiError(ToxiproxyError):
    """Toxiproxy answered with an error status."""

    def __init__(self, status: int, message: str, method: str, path: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {message}")
        self.status = status
        self.message = message


class BadRequest(ToxiproxyApiError):
    pass


class NotFound(ToxiproxyApiError):
    pass


class Conflict(ToxiproxyApiError):
    pass


class ServerError(ToxiproxyApiError):
    pass


ERRORS_BY_STATUS: dict[int, type[ToxiproxyApiError]] = {
    400: BadRequest,
    404: NotFound,
    409: Conflict,
}


@dataclass(frozen=True)
class Toxic:
    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, int | float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Toxic:
        return cls(
            name=str(data["name"]),
            type=str(data["type"]),
            stream=str(data["stream"]),
            toxicity=float(data.get("toxicity", 1.0)),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True)
class ProxyInfo:
    """A proxy as the API shows it (the embedded server's own is ``EmbeddedProxy``)."""

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProxyInfo:
        return cls(
            name=str(data["name"]),
            listen=str(data["listen"]),
            upstream=str(data["upstream"]),
            enabled=bool(data["enabled"]),
            toxics=tuple(Toxic.from_json(item) for item in data.get("toxics") or ()),
        )

    @property
    def listen_host(self) -> str:
        host = self.listen.rsplit(":", 1)[0]
        return host.strip("[]") or "127.0.0.1"

    @property
    def listen_port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @property
    def listen_url(self) -> str:
        """``http://host:port`` of the listener, for HTTP services behind the proxy."""
        host = self.listen_host
        return (
            f"http://[{host}]:{self.listen_port}"
            if ":" in host
            else f"http://{host}:{self.listen_port}"
        )


@dataclass(frozen=True)
class ProxySpec:
    """One proxy of a ``populate`` call."""

    name: str
    upstream: str
    listen: str = "127.0.0.1:0"
    enabled: bool = True

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "upstream": self.upstream,
            "listen": self.listen,
            "enabled": self.enabled,
        }
