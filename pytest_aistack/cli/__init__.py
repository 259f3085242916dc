"""The ``aistack`` command: one module per subcommand, listed in :data:`SUBCOMMANDS`.

Building the parser imports every subcommand module, so each keeps its module level
cheap and imports what it runs with (the mock server, LiteLLM, httpx) inside ``run``:
``aistack doctor`` must not pay for the mock server. A subcommand module exposes::

    HELP: str                                   # one line for ``aistack --help``
    def configure_parser(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...  # the process exit code
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from types import ModuleType

from pytest_aistack.chaos.toxiproxy import cli as toxiproxy_cli
from pytest_aistack.cli import doctor
from pytest_aistack.mock_llm import cli as mock_llm_cli
from pytest_aistack.report import cli as report_cli
from pytest_aistack.report import cli_compare
from pytest_aistack.stack import cli_down, cli_profile, cli_status, cli_up

# subcommand -> module implementing it, in ``aistack --help`` order
SUBCOMMANDS: dict[str, ModuleType] = {
    "doctor": doctor,
    "mock-llm": mock_llm_cli,
    "toxiproxy": toxiproxy_cli,
    "up": cli_up,
    "status": cli_status,
    "down": cli_down,
    "profile": cli_profile,
    "report": report_cli,
    "compare": cli_compare,
}


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="aistack",
        description="pytest-aistack: resilience and load testing for self-hosted AI stacks",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure_parser(sub)
    return parser, SUBCOMMANDS


def main(argv: Sequence[str] | None = None) -> int:
    parser, loaded = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    code: int = loaded[args.command].run(args)
    return code
