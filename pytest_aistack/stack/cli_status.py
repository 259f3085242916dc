"""``aistack status``: which stacks are running, started by whom, and whether they answer."""

from __future__ import annotations

import argparse

HELP = "show running stacks (from `aistack up`, kept pytest runs) and probe their services"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def run(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from pytest_aistack.stack import runs
    from pytest_aistack.stack.health import HealthTarget, probe
    from pytest_aistack.stack.spec import HealthCheck

    records = runs.load_runs()
    if not records:
        print("aistack: no stack running")
        return 3
    for record in records:
        owner = "alive" if record.owner_alive() else "gone"
        state = "kept up" if record.kept else f"owner pid {record.owner_pid} {owner}"
        print(f"run {record.run_id} ({record.kind}, {state}); logs {record.log_dir}")
        for name, url in sorted(record.urls.items()):
            parts = urlsplit(url)
            target = HealthTarget(
                parts.hostname or "127.0.0.1", parts.port or 0, HealthCheck("tcp")
            )
            why = probe(target, timeout=1.0)
            print(f"  {name:<10} {url:<28} {'up' if why is None else 'DOWN: ' + why}")
    return 0
