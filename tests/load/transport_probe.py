"""Run the gevent transport against URLs in a subprocess (pytest must not load gevent's
monkey-patching). Prints one JSON line per URL: outcome, content events, error."""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from pytest_aistack.llm.request import Kind, build_body, endpoint_path  # noqa: E402
from pytest_aistack.llm.stream import StreamRecorder, StreamTimeouts  # noqa: E402
from pytest_aistack.load import transport  # noqa: E402
from pytest_aistack.load.http11 import Target, build_request_head  # noqa: E402
from pytest_aistack.load.transport import Connection  # noqa: E402

if sys.argv[1] == "--no-kernel-stamps":  # the path TLS sockets and other systems take
    transport._CMSG_SPACE = 0
    del sys.argv[1]
elif sys.argv[1] == "--always-one-chunk":  # the path taken while the generator lags
    transport._PRECISE_AFTER_LAG_NS = -1
    del sys.argv[1]
elif sys.argv[1] == "--process-behind":  # another stream's read lagged just now
    transport._Behind.until_ns = 2**62
    del sys.argv[1]

timeouts = StreamTimeouts(connect=2, first_token=2, idle=0.3, total=10)
for url in sys.argv[1:]:
    target = Target.from_url(url)
    kind: Kind = "completions" if "completions" in url else "chat"
    body = json.dumps(build_body(kind, "hi", model="mock-model")).encode()
    head = build_request_head(target, endpoint_path(target.base_path, kind), {})
    request = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    connection = Connection(target, timeouts)
    for attempt in range(2):  # the second exchange reuses the kept-alive connection
        record = connection.exchange(
            request, lambda: StreamRecorder("p", time.monotonic_ns(), timeouts=timeouts)
        )
        print(
            json.dumps(
                {
                    "url": url,
                    "attempt": attempt,
                    "outcome": record.outcome.value,
                    "content_events": len(record.content_ns),
                    "tokens": record.usage_output_tokens,
                    "error": record.error,
                    "kept_alive": connection.sock is not None,
                    "kernel_stamps": connection.kernel_stamps,
                    "silent_s": (record.end_ns - (record.content_ns or [record.sent_ns])[-1]) / 1e9,
                }
            ),
            flush=True,
        )
    connection.close()
