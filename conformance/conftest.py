"""Shared set-up of the conformance suite (docs/conformance.md).

The profile is ``--aistack-profile`` (its ``conformance:`` section), else the reference
one (aistack-conformance.yaml with stack-conformance.yaml in pytest_aistack/reference_stack/).
Every test is parametrised over the profile's servers; a test of a promise a server
does not make skips and says which key would make it. Servers with ``service:`` are
started from the stack file on the local backend once per session; the checks that
need a fresh start or end a process start their own instance of the service.

Observations that several checks read (one start timeline, one saturation run, one
drain) are made once per server and kept in the session's :class:`Observations`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from pytest_aistack.conformance.observations import Observations
from pytest_aistack.conformance.profile import (
    ConformanceProfile,
    ConformanceProfileError,
    load_conformance_profile,
)
from pytest_aistack.conformance.servers import ServerUnderCheck, stack_url
from pytest_aistack.reference_stack import REFERENCE_DIR
from pytest_aistack.settings import Settings, get_settings

if TYPE_CHECKING:
    from pytest_aistack.chaos.client import ToxiproxyClient
    from pytest_aistack.stack.backend import Stack
    from pytest_aistack.stack.local import LocalBackend

REFERENCE_PROFILE = REFERENCE_DIR / "aistack-conformance.yaml"
REFERENCE_STACK = REFERENCE_DIR / "stack-conformance.yaml"


@dataclass(frozen=True)
class NoProfile:
    """Why there is no conformance profile to check: every test skips (missing) or fails
    (invalid) with it, and the rest of the session (tests/, scenarios/) still runs."""

    reason: str
    invalid: bool


_profile_key = pytest.StashKey[ConformanceProfile | NoProfile]()


def selected_profile(config: pytest.Config) -> ConformanceProfile | NoProfile:
    if _profile_key not in config.stash:
        settings = get_settings(config)
        path = settings.profile or REFERENCE_PROFILE
        try:
            config.stash[_profile_key] = load_conformance_profile(path)
        except ConformanceProfileError as exc:
            missing = "no conformance: section" in str(exc)
            reason = (
                f"the profile {path} has no conformance: section (docs/conformance.md)"
                if missing
                else str(exc)
            )
            config.stash[_profile_key] = NoProfile(reason, invalid=not missing)
    return config.stash[_profile_key]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    profile = selected_profile(metafunc.config)
    if isinstance(profile, NoProfile):
        if "server_name" in metafunc.fixturenames:
            # Invalid: the tests run and fail in conformance_profile, naming the key.
            marks = [] if profile.invalid else [pytest.mark.skip(reason=profile.reason)]
            names = ["server_name", "breaker"] if "breaker" in metafunc.fixturenames else [
                "server_name"
            ]  # fmt: skip
            values = ("-", None) if len(names) == 2 else ("-",)
            metafunc.parametrize(names, [pytest.param(*values, marks=marks, id="-")])
        return
    if "breaker" in metafunc.fixturenames:
        pairs = [
            pytest.param(name, b, id=f"{name}-{b.name}")
            for name, server in profile.servers.items()
            for b in server.breakers
        ]
        if not pairs:
            reason = (
                f"no server in {profile.path} promises a circuit breaker "
                "(conformance.servers.NAME.breakers)"
            )
            pairs = [pytest.param("-", None, marks=pytest.mark.skip(reason=reason))]
        metafunc.parametrize(("server_name", "breaker"), pairs)
    elif "server_name" in metafunc.fixturenames:
        metafunc.parametrize("server_name", list(profile.servers))


@pytest.fixture(scope="session")
def conformance_profile(pytestconfig: pytest.Config) -> ConformanceProfile:
    profile = selected_profile(pytestconfig)
    if isinstance(profile, NoProfile):
        pytest.fail(profile.reason, pytrace=False)
    return profile


@pytest.fixture(scope="session")
def conformance_stack(
    conformance_profile: ConformanceProfile, aistack_settings: Settings
) -> Iterator[tuple[LocalBackend, Stack] | None]:
    """The stack file's services, when any server is one; None when all are external."""
    if not any(s.managed for s in conformance_profile.servers.values()):
        yield None
        return
    from pytest_aistack.stack.health import HealthTimeout
    from pytest_aistack.stack.local import LocalBackend, StackStartError
    from pytest_aistack.stack.spec import StackSpecError, load_stack_spec

    explicit = aistack_settings.profile is not None
    path = aistack_settings.stack_file if explicit else REFERENCE_STACK
    problem = None
    if path is None:
        problem = (
            f"{conformance_profile.path}: servers name stack-file services (service:) but no "
            "stack file is set; add settings: {stack_file: my-stack.yaml} to the profile or "
            "pass --aistack-stack-file"
        )
    else:
        try:
            spec = load_stack_spec(path)
        except StackSpecError as exc:
            problem = str(exc)
        else:
            missing = [
                f"conformance.servers.{s.name}.service: {s.service!r}"
                for s in conformance_profile.servers.values()
                if s.service is not None and s.service not in spec.services
            ]
            if missing:
                problem = (
                    f"{path} has no service for: {'; '.join(missing)} "
                    f"(its services: {', '.join(spec.services)})"
                )
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    backend = LocalBackend(spec, log_dir=aistack_settings.report_dir, kind="conformance")
    try:
        stack = backend.up()
    except (StackStartError, HealthTimeout, StackSpecError) as exc:
        problem = str(exc)
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    try:
        yield backend, stack
    finally:
        backend.down()


@pytest.fixture
def server(
    server_name: str,
    conformance_profile: ConformanceProfile,
    conformance_stack: tuple[LocalBackend, Stack] | None,
) -> ServerUnderCheck:
    profile = conformance_profile.servers[server_name]
    if profile.managed:
        assert conformance_stack is not None
        backend, stack = conformance_stack
        return ServerUnderCheck(profile, stack_url(stack, profile), backend, stack.toxiproxy_url)
    return ServerUnderCheck(profile, profile.url, None, conformance_profile.toxiproxy_url or None)


@pytest.fixture(scope="session")
def observations() -> Observations:
    return Observations()


@pytest.fixture
def toxiproxy(server: ServerUnderCheck) -> Iterator[ToxiproxyClient]:
    from pytest_aistack.chaos.client import ToxiproxyClient

    if server.toxiproxy_url is None:
        pytest.skip(
            f"server {server.name!r} is external and the profile names no Toxiproxy "
            "(conformance.toxiproxy_url): its dependency cannot be cut"
        )
    with ToxiproxyClient(server.toxiproxy_url) as client:
        yield client
