"""Steady open-loop load: each user is a Poisson arrival stream (default 2 req/s).

    locust -f locustfiles/steady.py --headless --host http://127.0.0.1:PORT

Defaults (40 s): 8 users x 2 req/s = 16 req/s. --llm-rate sets req/s per user,
--llm-arrival constant|poisson|gamma (with --llm-burstiness), --shape-users and
--shape-duration the rest. Scheduled latency and start lag show coordinated omission.
"""

from pytest_aistack.load.shapes import SoakShape
from pytest_aistack.load.user import LLMUser


class SteadyUser(LLMUser):
    arrival = "poisson"
    rate = 2.0
    max_tokens = 32
    slo = "ttft_p99_ms<=2000, error_rate<=0.01"


class Steady(SoakShape):
    pass
