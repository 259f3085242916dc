"""``aistack toxiproxy``: the embedded Toxiproxy server as a process.

Prints ``AISTACK_READY {"service": "toxiproxy", "url": ...}`` once the API listens
(pytest_aistack.runtime.process), then serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import os

from .ledger import DEFAULT_CAPACITY

LEDGER_ENV = "AISTACK_TOXIPROXY_LEDGER"
LEDGER_CAPACITY_ENV = "AISTACK_TOXIPROXY_LEDGER_CAPACITY"


def _on_off(value: str) -> bool:
    if value.lower() in ("on", "1", "true", "yes"):
        return True
    if value.lower() in ("off", "0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off, got {value!r}")


def _capacity(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value!r}")
    return number


HELP = "run the embedded Toxiproxy-compatible server (API on --host/--port; port 0 = free port)"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="API address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8474, help="API port; 0 picks a free one (default 8474)"
    )
    parser.add_argument(
        "--config",
        default=None,
        help="JSON file of proxies to create at start (the body of POST /populate)",
    )
    parser.add_argument(
        "--ledger",
        type=_on_off,
        default=os.environ.get(LEDGER_ENV, "on"),
        help=f"record each HTTP request per proxy at /aistack/ledger: on or off "
        f"(default on, or ${LEDGER_ENV})",
    )
    parser.add_argument(
        "--ledger-capacity",
        type=_capacity,
        default=os.environ.get(LEDGER_CAPACITY_ENV, str(DEFAULT_CAPACITY)),
        help=f"records kept per proxy, oldest dropped first (default {DEFAULT_CAPACITY}, "
        f"or ${LEDGER_CAPACITY_ENV})",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    import sys

    from pytest_aistack.runtime.process import announce_ready

    from .jsonio import parse_body
    from .server import ToxiproxyServer, new_event_loop

    async def main() -> int:
        server = ToxiproxyServer(
            args.host, args.port, ledger=args.ledger, ledger_capacity=args.ledger_capacity
        )
        server.count_unhandled_errors(asyncio.get_running_loop())
        url = await server.start()
        try:
            if args.config is not None:
                from .errors import ApiError

                try:
                    with open(args.config, "rb") as handle:
                        body = parse_body(handle.read())
                    async with server.collection.lock:
                        await server.collection.populate(body)
                except (OSError, ApiError) as exc:
                    print(f"aistack toxiproxy: --config {args.config}: {exc}", file=sys.stderr)
                    return 2
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            announce_ready("toxiproxy", url=url)
            await stop.wait()
            return 0
        finally:
            await server.stop()

    loop = new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()
