"""Headline load test: baseline -> burst of N x baseline -> baseline, streaming chat.

    locust -f locustfiles/burst.py --headless --host http://127.0.0.1:PORT

Defaults (40 s): 8 users, 4x burst from 10 s to 25 s. Change with --shape-users,
--burst-multiplier, --burst-at, --burst-for, --shape-duration; model with
--llm-model (or AISTACK_MODEL); API key from AISTACK_API_KEY / OPENAI_API_KEY;
SLOs with --slo (default below). Results: results/burst.json and CSVs.
"""

from pytest_aistack.load.shapes import BurstShape
from pytest_aistack.load.user import LLMUser


class BurstUser(LLMUser):
    max_tokens = 32
    slo = "ttft_p99_ms<=2000, itl_p99_ms<=200, error_rate<=0.01"


class Burst(BurstShape):
    pass
