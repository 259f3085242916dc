"""``aistack up``: bring the stack up in the foreground; Ctrl-C (or ``aistack down``) stops it."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_aistack.settings import Settings
    from pytest_aistack.stack.backend import Stack, StackBackend
    from pytest_aistack.stack.profile import Profile

HELP = "bring the stack up (foreground; Ctrl-C stops it cleanly); default: the reference stack"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        metavar="NAME",
        help="local, docker, external or a plugin's (default: settings, local)",
    )
    parser.add_argument("--profile", help="profile YAML (default: the reference stack's)")
    parser.add_argument(
        "--stack-file", help="stack file (stack.yaml) to run (default: the reference stack)"
    )
    parser.add_argument("--report-dir", help="where service logs go (default: results)")


def run(args: argparse.Namespace) -> int:
    from pytest_aistack.settings import resolve_outside_pytest
    from pytest_aistack.stack.factory import make_backend
    from pytest_aistack.stack.failures import Refusal, attempt

    def make() -> tuple[StackBackend, Profile, Settings]:
        resolved = resolve_outside_pytest(
            cli={
                "backend": args.backend,
                "profile": args.profile,
                "stack_file": args.stack_file,
                "report_dir": args.report_dir,
            }
        )
        backend, profile = make_backend(resolved.settings, kind="up", origins=resolved.origins)
        return backend, profile, resolved.settings

    made = attempt(make)
    if isinstance(made, Refusal):
        print(f"aistack up: {made.message}", file=sys.stderr)
        return 2
    backend, profile, settings = made

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # SIGTERM (from ``aistack down``) and SIGINT end the wait below; teardown runs in
    # the main thread, never inside a signal handler.
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        stack = attempt(backend.up)
        if isinstance(stack, Refusal):
            print(f"aistack up: {stack.message}", file=sys.stderr)
            return 1
        stack_file = settings.stack_file or "reference stack"
        print_stack(stack, profile, stack.log_dir or settings.report_dir, stack_file=stack_file)
        print("\nCtrl-C or `aistack down` stops it.", flush=True)
        stop.wait()
        print("aistack: stopping…", flush=True)
        return 0
    finally:
        backend.down()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def print_stack(
    stack: Stack, profile: Profile, state_dir: Path, *, stack_file: Path | str | None = None
) -> None:
    """URLs, timings and ``export`` lines; secrets go to 0600 files, never to the terminal."""
    from pytest_aistack.stack.export import (
        ADMIN_TOKEN_ENV,
        write_external_profile,
        write_secret_file,
    )

    key_file = write_secret_file(state_dir / "gateway.key", stack.gateway_key.value)
    profile_file = write_external_profile(stack, profile, state_dir / "aistack.yaml")
    timings = stack.extra.get("timings", {})
    total = f" in {timings['total']:.1f}s" if "total" in timings else ""
    print(f"aistack: stack up{total} (backend {stack.backend}, pid {os.getpid()})")
    for name, endpoint in sorted(stack.endpoints.items()):
        via = f"  (gateway -> proxy {endpoint.proxy_listen})" if endpoint.proxy_listen else ""
        print(f"  {name:<10} {endpoint.url}{via}")
    print(f"  gateway key {stack.gateway_key.masked} (full key in {key_file})")
    if stack_file is not None:
        print(f"  stack file  {stack_file}")
    if stack.log_dir is not None:
        print(f"  logs        {stack.log_dir}")
    print("\n# drive it from another shell (pytest -m resilience, locust):")
    print(f"export AISTACK_BACKEND=external AISTACK_PROFILE={profile_file}")
    print(f'export {profile.gateway_key_env}="$(cat {key_file})"')
    if stack.admin_token is not None:
        token_file = write_secret_file(state_dir / "admin.token", stack.admin_token.value)
        print(f'export {ADMIN_TOKEN_ENV}="$(cat {token_file})"')
