"""Pick and build the backend the settings ask for (pytest, ``aistack up``, the demo).

The backend comes from the ``pytest_aistack_make_backend`` hook
(:mod:`pytest_aistack.stack.newhooks`): the built-in local, docker and external
backends answer it (:mod:`pytest_aistack.stack.backend_plugins`), and so may a
plugin or conftest.py for a name of its own. Inside pytest the hook is pytest's;
outside, :func:`plugin_manager` is a pluggy manager with the same hooks, the
built-ins and the plugins of the ``aistack`` entry-point group. A name nobody
answers for is an error listing the names that are known and how to add one.

The local and docker backends run the stack file of the ``stack_file`` setting (the
reference stack by default). Before anything starts, the file is checked against the
profile: every proxy the scenarios put faults on and the gateway they call must be in
the stack, or the run stops with everything that is missing instead of failing half-way
through start-up or in the first scenario.
"""

from __future__ import annotations

from collections.abc import Mapping

import pluggy

from pytest_aistack.reference_stack import REFERENCE_DIR
from pytest_aistack.settings import Settings, SettingsError, Source
from pytest_aistack.stack import newhooks
from pytest_aistack.stack.backend import StackBackend
from pytest_aistack.stack.backend_plugins import (
    ADD_A_BACKEND,
    ENTRY_POINT_GROUP,
    check_backend_name,
    register_builtin_backends,
)
from pytest_aistack.stack.profile import Profile, load_profile
from pytest_aistack.stack.spec import StackSpec, StackSpecError, load_stack_spec

REFERENCE_SPEC = REFERENCE_DIR / "stack.yaml"
REFERENCE_PROFILE = REFERENCE_DIR / "aistack.yaml"


def load_selected_profile(settings: Settings) -> Profile:
    return load_profile(settings.profile or REFERENCE_PROFILE)


def load_selected_stack(
    settings: Settings, origins: Mapping[str, Source] | None = None
) -> StackSpec:
    """The stack file of ``settings.stack_file`` (default: the reference stack).

    An invalid file is a :class:`StackSpecError` naming the setting and where it was set.
    """
    path = settings.stack_file or REFERENCE_SPEC
    try:
        return load_stack_spec(path)
    except StackSpecError as exc:
        raise StackSpecError(f"aistack: {describe_stack_file(settings, origins)}: {exc}") from None


def describe_stack_file(settings: Settings, origins: Mapping[str, Source] | None = None) -> str:
    """``stack_file /p/my.yaml (from --aistack-stack-file)`` for messages."""
    if settings.stack_file is None:
        return f"stack_file {REFERENCE_SPEC} (the default, the reference stack)"
    source = (origins or {}).get("stack_file")
    where = f" (from {source.label})" if source is not None else ""
    return f"stack_file {settings.stack_file}{where}"


def profile_mismatches(spec: StackSpec, profile: Profile) -> list[str]:
    """What ``profile`` expects that the stack ``spec`` does not have (empty: it fits).

    The scenarios call the gateway (``AIStack.chat``) and put faults on the Toxiproxy
    proxies the profile names (``backends.*.proxy``, ``redis.proxy``); a backend that
    starts the stack fills in the profile's URLs from it, so those are what must match.
    """
    missing: list[str] = []
    if spec.gateway is None:
        missing.append(
            "a gateway: the profile's model groups "
            f"({', '.join(profile.model_groups)}) are called through one; "
            "add 'gateway: <service>' at the top of the stack file"
        )
    proxies = spec.proxied
    wanted = [
        (f"backends.{name}.proxy", backend.proxy)
        for name, backend in profile.backends.items()
        if backend.proxy is not None
    ]
    if profile.redis_proxy is not None:
        wanted.append(("redis.proxy", profile.redis_proxy))
    # One line per proxy: two deployments on one backend share its proxy.
    keys_by_proxy: dict[str, list[str]] = {}
    for key, proxy in wanted:
        if proxy not in proxies:
            keys_by_proxy.setdefault(proxy, []).append(key)
    for proxy, keys in keys_by_proxy.items():
        missing.append(
            f"proxy {proxy!r} ({', '.join(keys)} in the profile): no service has 'proxy: {proxy}'"
        )
    if missing and proxies:
        missing.append(f"(the stack's proxies: {', '.join(sorted(proxies))})")
    return missing


def check_fits_profile(
    spec: StackSpec, profile: Profile, settings: Settings, origins: Mapping[str, Source] | None
) -> None:
    missing = profile_mismatches(spec, profile)
    if missing:
        items = "".join(f"\n  - {item}" for item in missing)
        raise StackSpecError(
            f"aistack: {describe_stack_file(settings, origins)} does not provide what the "
            f"profile {profile.path} expects:{items}\n"
            "Add these to the stack file, or point --aistack-profile at a profile that "
            "describes this stack (docs/profile.md)."
        )


def plugin_manager() -> pluggy.PluginManager:
    """The backends outside pytest: the built-ins and the ``aistack`` entry-point group.

    A package adds its backend to ``aistack up`` (and to pytest, which loads the same
    group) with ``[project.entry-points.aistack] NAME = "its.module"``.
    """
    # "pytest" is the project name of pytest's hook markers the hooks are written with.
    manager = pluggy.PluginManager("pytest")
    manager.add_hookspecs(newhooks)
    register_builtin_backends(manager)
    manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return manager


def make_backend(
    settings: Settings,
    *,
    kind: str = "pytest",
    origins: Mapping[str, Source] | None = None,
    hook: pluggy.HookRelay | None = None,
) -> tuple[StackBackend, Profile]:
    """The backend for ``settings.backend`` and the profile the scenarios assert.

    ``hook`` is pytest's (``config.hook``) inside pytest; by default, that of
    :func:`plugin_manager`. ``origins`` (where each setting came from) lets errors
    about the stack file and the backend's name say where they were set. A name no
    implementation answers for is a :class:`SettingsError`.
    """
    if hook is None:
        hook = plugin_manager().hook
    check_backend_name(settings, origins, hook=hook)
    profile = load_selected_profile(settings)

    def load_stack() -> StackSpec:
        spec = load_selected_stack(settings, origins)
        check_fits_profile(spec, profile, settings, origins)
        return spec

    backend: StackBackend | None = hook.pytest_aistack_make_backend(
        name=settings.backend, settings=settings, profile=profile, load_stack=load_stack, kind=kind
    )
    if backend is None:
        raise SettingsError(
            f"aistack: backend {settings.backend!r} is named by a plugin's "
            "pytest_aistack_backend_names, but no pytest_aistack_make_backend answered for "
            f"it.\n{ADD_A_BACKEND}"
        )
    return backend, profile
