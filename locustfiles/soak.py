"""Soak: hold --shape-users closed-loop users for --shape-duration seconds.

    locust -f locustfiles/soak.py --headless --host http://127.0.0.1:PORT --shape-duration 3600

Defaults finish in 40 s; a real soak sets --shape-duration to hours and watches the
error rate, TTFT drift and the self-check in results/soak.json.
"""

from pytest_aistack.load.shapes import SoakShape
from pytest_aistack.load.user import LLMUser


class SoakUser(LLMUser):
    max_tokens = 32
    slo = "ttft_p99_ms<=2000, error_rate<=0.01"


class Soak(SoakShape):
    pass
