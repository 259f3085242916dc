"""A tiny HTTP service for LocalBackend tests (run as a script, not collected).

--port 0 announces the bound port with the AISTACK_READY line; --port N binds N;
--host (127.0.0.1) is the address it binds.
--exit N exits at once with code N. --escape starts a grandchild in a new session
(outside our process group) that sleeps, to prove the reaper finds it by run id.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from pytest_aistack.runtime.process import announce_ready


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--exit", type=int, default=None)
    parser.add_argument("--escape", action="store_true")
    args = parser.parse_args()
    if args.exit is not None:
        print("tiny_service: exiting on purpose", flush=True)
        return int(args.exit)
    if args.escape:
        subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True
        )
    server = HTTPServer((args.host, args.port), Handler)
    if args.port == 0:
        announce_ready("tiny", url=f"http://{args.host}:{server.server_address[1]}")
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
