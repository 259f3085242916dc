"""Backends as plugins: the built-ins' hook implementations and the names known.

Each built-in backend is an implementation of ``pytest_aistack_make_backend``
(:mod:`pytest_aistack.stack.newhooks`), registered like any plugin's (``trylast``, so
a plugin answering for one of their names replaces it): in pytest by the plugin's
``pytest_configure``, outside it by :func:`pytest_aistack.stack.factory.plugin_manager`.
Their modules are imported only when one is made, so registering them is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import pluggy
import pytest

from pytest_aistack.settings import SettingsError

if TYPE_CHECKING:
    from pytest_aistack.settings import Settings, Source
    from pytest_aistack.stack.backend import StackBackend
    from pytest_aistack.stack.profile import Profile
    from pytest_aistack.stack.spec import StackSpec

# In the order the settings' help and errors list them.
BUILTIN_BACKENDS = ("local", "docker", "external")
# Packages add a backend for pytest and ``aistack up`` alike with
# ``[project.entry-points.aistack] NAME = "their.module"``.
ENTRY_POINT_GROUP = "aistack"
ADD_A_BACKEND = (
    "A plugin or conftest.py adds a backend by implementing the "
    'pytest_aistack_make_backend hook (README.md, "Adding a backend").'
)


class LocalBackendPlugin:
    """``local``: the stack file's services as subprocesses on 127.0.0.1 (the default)."""

    @pytest.hookimpl
    def pytest_aistack_backend_names(self) -> list[str]:
        return ["local"]

    @pytest.hookimpl(trylast=True)
    def pytest_aistack_make_backend(
        self, name: str, settings: Settings, load_stack: Callable[[], StackSpec], kind: str
    ) -> StackBackend | None:
        if name != "local":
            return None
        from pytest_aistack.stack.local import LocalBackend

        return LocalBackend(
            load_stack(), log_dir=settings.report_dir, kind=kind, keep_up=settings.keep_up
        )


class DockerBackendPlugin:
    """``docker``: the stack file's services in containers (testcontainers)."""

    @pytest.hookimpl
    def pytest_aistack_backend_names(self) -> list[str]:
        return ["docker"]

    @pytest.hookimpl(trylast=True)
    def pytest_aistack_make_backend(
        self, name: str, settings: Settings, load_stack: Callable[[], StackSpec], kind: str
    ) -> StackBackend | None:
        if name != "docker":
            return None
        # Imported here: the docker backend (and testcontainers) load only when asked for.
        from pytest_aistack.stack.docker import DockerBackend

        return DockerBackend.from_settings(load_stack(), settings, kind=kind)


class ExternalBackendPlugin:
    """``external``: the user's running stack at the profile's URLs; no stack file."""

    @pytest.hookimpl
    def pytest_aistack_backend_names(self) -> list[str]:
        return ["external"]

    @pytest.hookimpl(trylast=True)
    def pytest_aistack_make_backend(self, name: str, profile: Profile) -> StackBackend | None:
        if name != "external":
            return None
        from pytest_aistack.stack.external import ExternalBackend

        return ExternalBackend(profile)


def register_builtin_backends(manager: pluggy.PluginManager) -> None:
    """Register the three built-ins on ``manager`` (once; again is a no-op)."""
    for backend, plugin in zip(
        BUILTIN_BACKENDS,
        (LocalBackendPlugin(), DockerBackendPlugin(), ExternalBackendPlugin()),
        strict=True,
    ):
        name = f"aistack-backend-{backend}"
        if not manager.has_plugin(name):
            manager.register(plugin, name)


def known_backend_names(hook: pluggy.HookRelay) -> list[str]:
    """The names the implementations answer for: the built-ins first, then the others."""
    names = {name for names in hook.pytest_aistack_backend_names() for name in names}
    builtins = [name for name in BUILTIN_BACKENDS if name in names]
    return builtins + sorted(names - set(builtins))


def check_backend_name(
    settings: Settings,
    origins: Mapping[str, Source] | None = None,
    *,
    hook: pluggy.HookRelay,
    how_to_add: bool = True,
) -> None:
    """A :class:`SettingsError` if no backend plugin on ``hook`` answers for
    ``settings.backend``.

    Without ``how_to_add`` the message is one line, in the settings' wording for any
    invalid value (``aistack doctor`` lists it among the other settings' errors).
    """
    known = known_backend_names(hook)
    if settings.backend not in known:
        message = unknown_backend(settings.backend, known, origins)
        raise SettingsError(message if how_to_add else message.split("\n")[0])


def unknown_backend(
    name: str, known: list[str], origins: Mapping[str, Source] | None = None
) -> str:
    """``aistack: invalid backend 'x' from --aistack-backend: expected one of ...``.

    The first line has the settings' wording for an invalid value; the second says how
    to add a backend.
    """
    source = (origins or {}).get("backend")
    where = f" from {source.label}" if source is not None else ""
    return (
        f"aistack: invalid backend {name!r}{where}: expected one of {', '.join(known)}\n"
        f"{ADD_A_BACKEND}"
    )
