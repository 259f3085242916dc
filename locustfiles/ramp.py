"""Ramp: closed-loop users grow by --step-users every --step-every seconds.

    locust -f locustfiles/ramp.py --headless --host http://127.0.0.1:PORT

Defaults (40 s): 8 users, +8 every 8 s (up to 40). Find where TTFT and errors break.
"""

from pytest_aistack.load.shapes import StepShape
from pytest_aistack.load.user import LLMUser


class RampUser(LLMUser):
    max_tokens = 32


class Ramp(StepShape):
    pass
