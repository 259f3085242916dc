"""A plain closed-loop LLMUser (run with -u/-t)."""

from pytest_aistack.load.user import LLMUser


class Closed(LLMUser):
    max_tokens = 16
