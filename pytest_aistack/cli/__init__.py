"""The ``aistack`` command.

Each subcommand lives in its own module, imported only when it runs, so that
``aistack doctor`` does not pay for importing the mock server or LiteLLM. A
subcommand module exposes::

    HELP: str                                   # one line for ``aistack --help``
    def configure_parser(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...  # the process exit code
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from types import ModuleType

# subcommand -> module implementing it
SUBCOMMANDS: dict[str, str] = {
    "doctor": "pytest_aistack.cli.doctor",
    "mock-llm": "pytest_aistack.mock_llm.cli",
    "toxiproxy": "pytest_aistack.chaos.toxiproxy.cli",
    "up": "pytest_aistack.stack.cli_up",
    "status": "pytest_aistack.stack.cli_status",
    "down": "pytest_aistack.stack.cli_down",
    "profile": "pytest_aistack.stack.cli_profile",
    "report": "pytest_aistack.report.cli",
    "compare": "pytest_aistack.report.cli_compare",
}


def _load(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only hide a subcommand whose own module is missing; a missing dependency
        # inside an existing module is a real error and must surface.
        if exc.name is not None and module_name.startswith(exc.name):
            return None
        raise


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="aistack",
        description="pytest-aistack: resilience and load testing for self-hosted AI stacks",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    loaded: dict[str, ModuleType] = {}
    for name, module_name in SUBCOMMANDS.items():
        module = _load(module_name)
        if module is None:
            continue
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure_parser(sub)
        loaded[name] = module
    return parser, loaded


def main(argv: Sequence[str] | None = None) -> int:
    parser, loaded = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    code: int = loaded[args.command].run(args)
    return code
