"""``aistack down``: stop this user's stacks (``aistack up``, kept runs, leftovers)."""

from __future__ import annotations

import argparse

HELP = "stop running stacks: `aistack up` sessions, --aistack-keep-up runs and leftovers"

WAIT_S = 15.0


def configure_parser(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def run(args: argparse.Namespace) -> int:
    import os
    import signal
    import time

    from pytest_aistack.stack import runs

    records = runs.load_runs()
    for record in records:
        if record.owner_alive() and not record.kept and record.kind != "up":
            print(
                f"aistack: run {record.run_id} belongs to a running {record.kind} "
                f"(pid {record.owner_pid}); it stops its stack itself — left alone"
            )
            continue
        if record.owner_alive() and not record.kept:
            # The owner tears its own stack down in order; give it the time to.
            os.kill(record.owner_pid, signal.SIGTERM)
            deadline = time.monotonic() + WAIT_S
            while record.path.exists() and time.monotonic() < deadline:
                time.sleep(0.1)  # polling for the owner's teardown, with a deadline
        killed = runs.kill_run(record.run_id, record.groups)
        record.remove()
        extra = f", {len(killed)} leftover process(es) killed" if killed else ""
        print(f"aistack: stopped run {record.run_id} ({record.kind}){extra}")
    # Containers of docker-backend runs: kept ones and those of a dead owner.
    from pytest_aistack.stack.docker.labels import down_runs

    removed = down_runs()
    for run in removed:
        print(f"aistack: removed docker run {run.run_id}: containers {', '.join(run.containers)}")
    if not records and not removed:
        print("aistack: no stack running")
    return 0
