"""Placeholders in ``stack.yaml``: their grammar and their names, for every backend.

A placeholder is ``${name}`` (a value of the service itself) or ``${name:SERVICE}``
(where another service is): ``${`` followed by a lower-case letter. ``$$`` is a
literal ``$``, so ``$${port}`` reaches the command as ``${port}``; any other ``$`` is
left as it is (``$HOME``, ``${HOME}``). The backends fill in the values (``local``: the host
process on 127.0.0.1; ``docker.engine``: the container world):

======================  ==============================================================
``${python}``           the Python interpreter (``python`` in a container)
``${host}``             the address to listen on: 127.0.0.1; in a container every
                        interface (``docker.engine.CONTAINER_LISTEN_ADDRESS``)
``${port}``             the port to listen on: ``port: pick`` the one chosen,
                        ``port: announce`` 0 (bind a free one and announce it); in a
                        container the fixed container port (8000, redis 6379,
                        Toxiproxy 8474)
``${redis_server}``     a redis-server binary
``${config}``           the rendered ``config_template`` (needs one)
``${admin_token}``      per-run bearer token of the mock LLM admin API
``${master_key}``       per-run gateway master key
``${log_dir}``          this run's log directory (``/tmp`` in a container)
``${cache_dir}``        pytest-aistack's cache on this machine (``$AISTACK_CACHE_DIR``,
                        else ``${XDG_CACHE_HOME:-~/.cache}/pytest-aistack``): where
                        ``make llamacpp`` puts the llama.cpp venv and model; local only
``${url:S}``            service S's address (``http://…`` or ``redis://…``)
``${port:S}``           service S's port
``${proxy_url:S}``      ``http://`` address of the Toxiproxy proxy in front of S
``${proxy_host:S}``,    host and port of that proxy
``${proxy_port:S}``
======================  ==============================================================

``${…:S}`` needs S to start in an earlier wave (``depends_on``), the proxy ones need
S to have ``proxy:``. :func:`pytest_aistack.stack.spec.load_stack_spec` checks every
placeholder of ``command``, ``env`` and ``config_template`` against this list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

OWN_NAMES = (
    "python",
    "host",
    "port",
    "redis_server",
    "config",
    "admin_token",
    "master_key",
    "log_dir",
    "cache_dir",
)
SERVICE_NAMES = ("url", "port", "proxy_url", "proxy_host", "proxy_port")
PROXY_NAMES = frozenset({"proxy_url", "proxy_host", "proxy_port"})

# ``${`` and a lower-case letter opens a placeholder, so a misspelt one
# (``${admin-token}``) is caught, while ``${HOME}`` or ``${...}`` stay text.
_TOKEN = re.compile(r"\$\$|\$\{([a-z][^{}$]*)\}")


@dataclass(frozen=True)
class Placeholder:
    name: str
    service: str | None = None

    @property
    def key(self) -> str:
        """How backends key its value: ``name`` or ``name:SERVICE``."""
        return self.name if self.service is None else f"{self.name}:{self.service}"

    def __str__(self) -> str:
        return f"${{{self.key}}}"


class MissingValue(KeyError):
    """A placeholder that the values given to :func:`substitute` do not have."""

    def __init__(self, placeholder: Placeholder) -> None:
        super().__init__(placeholder.key)
        self.placeholder = placeholder


def allowed() -> str:
    """Every placeholder there is, as an error message lists them."""
    own = ", ".join(f"${{{n}}}" for n in OWN_NAMES)
    of_service = ", ".join(f"${{{n}:SERVICE}}" for n in SERVICE_NAMES)
    return f"{own}, {of_service} ($$ for a literal $)"


def find(text: str) -> list[Placeholder]:
    """The placeholders in ``text`` in order (``$$`` escapes are not placeholders)."""
    return [_placeholder(match) for match in _TOKEN.finditer(text) if match.group(0) != "$$"]


def _placeholder(match: re.Match[str]) -> Placeholder:
    name, colon, service = match.group(1).partition(":")
    return Placeholder(name, service if colon else None)


def substitute(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each placeholder replaced by ``values[key]`` and ``$$`` by ``$``.

    Raises :class:`MissingValue` for the first placeholder ``values`` lacks.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        placeholder = _placeholder(match)
        try:
            return values[placeholder.key]
        except KeyError:
            raise MissingValue(placeholder) from None

    return _TOKEN.sub(replace, text)
