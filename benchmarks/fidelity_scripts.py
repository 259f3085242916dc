"""The scripts the load-fidelity benchmark runs in child processes, as source text.

``bench_load_fidelity.py`` writes each to its work directory: our LLMUser locustfile,
a plain Locust FastHttpUser with a minimal hand line parser (the capacity baseline),
and a minimal blocking raw-socket client (the TTFT floor).
"""

from __future__ import annotations

OUR_LOCUSTFILE = """
from pytest_aistack.load.user import LLMUser

class Bench(LLMUser):
    max_tokens = 32
"""

PLAIN_LOCUSTFILE = """
import json, time
from locust import FastHttpUser, task, constant

BODY = json.dumps({"model": "mock-model", "stream": True, "max_tokens": 32,
    "stream_options": {"include_usage": True},
    "messages": [{"role": "user", "content": "hello"}]})

class Plain(FastHttpUser):
    wait_time = constant(0)
    connection_timeout = 10.0
    network_timeout = 10.0

    @task
    def stream(self):
        sent = time.perf_counter()
        first = None
        events = 0
        with self.client.post("/v1/chat/completions", data=BODY, stream=True,
                              headers={"Content-Type": "application/json"},
                              catch_response=True) as response:
            body = response.stream
            while True:
                line = body.readline(b"\\n")
                if not line or line.startswith(b"data: [DONE]"):
                    break
                content = line.startswith(b"data: ") and b'"content":"' in line
                if content and b'"content":""' not in line:
                    events += 1
                    if first is None:
                        first = time.perf_counter()
            if events == 32:
                response.success()
            else:
                response.failure(f"{events} content events")
        if first is not None:
            self.environment.events.request.fire(request_type="PLAIN", name="TTFT",
                response_time=(first - sent) * 1000, response_length=events,
                exception=None, context={})
"""


FLOOR_CLIENT = """
import json, socket, sys, time, urllib.request
url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = url.split("//")[1].split(":")
body = json.dumps({"model": "mock-model", "stream": True, "max_tokens": 32,
    "messages": [{"role": "user", "content": "hi"}]}).encode()
out = []
for i in range(n):
    rid = "floor-%d-%d" % (time.time_ns(), i)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    head = ("POST /v1/chat/completions HTTP/1.1\\r\\nHost: x\\r\\n"
            "Content-Type: application/json\\r\\nx-request-id: %s\\r\\n"
            "Content-Length: %d\\r\\nConnection: close\\r\\n\\r\\n" % (rid, len(body)))
    sent = time.monotonic_ns()
    s.sendall(head.encode() + body)
    first, buf = None, b""
    while b"[DONE]" not in buf:
        data = s.recv(65536)
        if not data:
            break
        buf += data
        if first is None and b'"content":"tok0"' in buf:
            first = time.monotonic_ns()
    s.close()
    out.append((rid, (first - sent) / 1e6))
request = urllib.request.Request(url + "/admin/stats", headers={"Authorization": "Bearer " + token})
server = json.loads(urllib.request.urlopen(request, timeout=30).read())["requests"]
print(json.dumps([[ttft, ttft - (server[rid]["first_token_at"] - server[rid]["received_at"]) * 1e3]
                  for rid, ttft in out]))
"""
