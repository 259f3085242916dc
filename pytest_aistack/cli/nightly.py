"""The load step of the nightly job: a locustfile against a stack the backend brings up.

    python -m pytest_aistack.cli.nightly locustfiles/burst.py --results-dir results/nightly

Brings the reference stack up with the configured backend (``AISTACK_BACKEND``,
``--backend``), runs the locustfile headless in its own process against the gateway
(model: the profile's primary group, key: the run's gateway key), writes the result
files to ``--results-dir`` and takes the stack down again — also on Ctrl-C. The exit
code is Locust's, which our collector sets to 1 when an SLO is missed or, with
``--baseline PREVIOUS.json``, when a metric regressed beyond its tolerance against
that run: those are the nightly's SLO and baseline gates. The resilience step is
plain pytest (see scripts/docker-lane --nightly).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

LOCUST_DEADLINE = 600.0  # seconds; a burst run takes ~40 s, this only catches a hang


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_aistack.cli.nightly", description=__doc__
    )
    parser.add_argument("locustfile", type=Path)
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    parser.add_argument("--backend", choices=("local", "docker"), default=None)
    parser.add_argument("--timeout", type=float, default=LOCUST_DEADLINE, help="seconds")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="a previous run's result JSON: the run also fails on a regression against it "
        "(locust --baseline; tolerances: AISTACK_TOLERANCE)",
    )
    parser.add_argument("locust_args", nargs="*", help="passed to locust after --")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.locustfile.is_file():
        print(f"nightly: no locustfile {args.locustfile}", file=sys.stderr)
        return 2
    if args.baseline is not None and not args.baseline.is_file():
        print(f"nightly: --baseline {args.baseline}: no such file", file=sys.stderr)
        return 2

    from pytest_aistack.runtime.process import ManagedProcess, ProcessError
    from pytest_aistack.settings import resolve_outside_pytest
    from pytest_aistack.stack.factory import make_backend

    results = args.results_dir.resolve()
    settings = resolve_outside_pytest(
        cli={"backend": args.backend, "report_dir": str(results)}
    ).settings
    backend, profile = make_backend(settings, kind="nightly")
    name = args.locustfile.stem
    stack = backend.up()
    locust: ManagedProcess | None = None
    try:
        print(f"nightly: {settings.backend} stack up; gateway {stack.gateway_url}", flush=True)
        command = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(args.locustfile),
            "--headless",
            "--host",
            stack.gateway_url,
            "--llm-model",
            profile.primary_group,
            "--llm-results",
            str(results),
            "--llm-results-name",
            name,
            "--only-summary",
            *(["--baseline", str(args.baseline.resolve())] if args.baseline else []),
            *args.locust_args,
        ]
        log = results / f"{name}-locust.log"
        env = {**os.environ, "AISTACK_API_KEY": stack.gateway_key.value}
        locust = ManagedProcess("locust", command, log_path=log, env=env)
        # The load on the whole machine, so a missed SLO can be told apart from a
        # machine busy with other work: Locust's self-check sees only Locust.
        print(f"nightly: host load average before the run: {_load_average()}", flush=True)
        locust.start()
        try:
            code = locust.wait_exit(args.timeout)
        except ProcessError as exc:
            print(f"nightly: {exc}", file=sys.stderr)
            return 1
        print(locust.tail(lines=30))
        print(f"nightly: host load average after the run: {_load_average()}")
        print(f"nightly: locust exited with {code}; log {log}")
        return code
    finally:
        if locust is not None:
            locust.stop()
        backend.down()


def _load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min; {os.cpu_count()} CPUs)"


if __name__ == "__main__":
    sys.exit(main())
