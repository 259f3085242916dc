"""Pick and build the backend the settings ask for (pytest, ``aistack up``, the demo).

The local and docker backends run the stack file of the ``stack_file`` setting (the
reference stack by default). Before anything starts, the file is checked against the
profile: every proxy the scenarios put faults on and the gateway they call must be in
the stack, or the run stops with everything that is missing instead of failing half-way
through start-up or in the first scenario.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from pytest_aistack.reference_stack import REFERENCE_DIR
from pytest_aistack.settings import Settings, Source
from pytest_aistack.stack.external import ExternalBackend
from pytest_aistack.stack.local import LocalBackend
from pytest_aistack.stack.profile import Profile, load_profile
from pytest_aistack.stack.spec import Backend, StackSpec, StackSpecError, load_stack_spec

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


def make_backend(
    settings: Settings,
    *,
    kind: str = "pytest",
    origins: Mapping[str, Source] | None = None,
) -> tuple[Backend, Profile]:
    """The backend for ``settings.backend`` and the profile the scenarios assert.

    ``origins`` (where each setting came from) lets errors about the stack file say
    where ``stack_file`` was set.
    """
    profile = load_selected_profile(settings)
    if settings.backend == "external":
        return ExternalBackend(profile), profile
    spec = load_selected_stack(settings, origins)
    check_fits_profile(spec, profile, settings, origins)
    if settings.backend == "docker":
        # Imported by name: the docker backend (and testcontainers) load only when asked for.
        docker = importlib.import_module("pytest_aistack.stack.docker")
        backend: Backend = docker.DockerBackend.from_settings(spec, settings, kind=kind)
        return backend, profile
    return (
        LocalBackend(spec, log_dir=settings.report_dir, kind=kind, keep_up=settings.keep_up),
        profile,
    )
