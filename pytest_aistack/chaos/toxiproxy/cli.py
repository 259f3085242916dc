"""``aistack toxiproxy``: the embedded Toxiproxy server as a process.

Prints ``AISTACK_READY {"service": "toxiproxy", "url": ...}`` once the API listens
(pytest_aistack.process), then serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse

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


def run(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    import sys

    from pytest_aistack.process import announce_ready

    from .jsonio import parse_body
    from .server import ToxiproxyServer, new_event_loop

    async def main() -> int:
        server = ToxiproxyServer(args.host, args.port)
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
