"""What the Toxiproxy benchmark sends: CPUs, sizes, counts and the HTTP/1.1 messages.

Shared by the upstream server (``toxiproxy_upstream.py``), the measurements
(``toxiproxy_measure.py``) and the report (``bench_toxiproxy.py``).
"""

from __future__ import annotations

SERVER_CPU, CLIENT_CPU = 0, 1
RR_TRIPS, RR_SIZE = 5000, 64
BULK_BYTES = 256 * 1024 * 1024
BULK_CHUNK = 256 * 1024
TOXIC_MS, CONNECTIONS, TRIPS_PER_CONNECTION = 100, 100, 10
LEDGER_ROUNDS = 5
HTTP_CHUNK = 16 * 1024
HTTP_RR_BODY = b"q" * RR_SIZE
HTTP_RR_REQUEST = (
    b"POST /v1/rr HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
    b"x-request-id: bench-rr\r\nContent-Length: %d\r\n\r\n%s" % (RR_SIZE, HTTP_RR_BODY)
)
HTTP_RR_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
    % (RR_SIZE, b"a" * RR_SIZE)
)
HTTP_UPLOAD_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
HTTP_DOWNLOAD_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
