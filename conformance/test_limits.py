"""Input limits: over the limit a clear 4xx naming it, at the limit served."""

from __future__ import annotations

import pytest

from pytest_aistack.conformance.limits import (
    max_input_chars_problems,
    max_inputs_problems,
    max_messages_problems,
    max_tokens_problems,
)
from pytest_aistack.conformance.servers import ServerUnderCheck
from pytest_aistack.conformance.verdict import assert_kept, limit_of

pytestmark = pytest.mark.conformance


def test_max_messages(server: ServerUnderCheck) -> None:
    assert_kept(max_messages_problems(server, limit_of(server, "max_messages")))


def test_max_tokens_cap(server: ServerUnderCheck) -> None:
    assert_kept(max_tokens_problems(server, limit_of(server, "max_tokens")))


def test_embeddings_max_inputs(server: ServerUnderCheck) -> None:
    assert_kept(max_inputs_problems(server, limit_of(server, "max_inputs")))


def test_embeddings_max_input_chars(server: ServerUnderCheck) -> None:
    assert_kept(max_input_chars_problems(server, limit_of(server, "max_input_chars")))
