"""SpikeShape with a closed-loop LLMUser."""

from pytest_aistack.load.shapes import SpikeShape
from pytest_aistack.load.user import LLMUser


class SpikeUser(LLMUser):
    max_tokens = 8


class Spike(SpikeShape):
    pass
