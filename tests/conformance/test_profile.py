"""The conformance: section parser: its errors name file, line, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_aistack.conformance.profile import (
    ConformanceProfileError,
    load_conformance_profile,
)
from pytest_aistack.conformance.prometheus import find_value, parse_samples
from pytest_aistack.stack.spec import load_stack_spec

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = """\
conformance:
  servers:
    llm:
      url: http://127.0.0.1:8000
      request: {model: m}
"""


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return load_conformance_profile(path)


def test_the_reference_profile_names_services_of_the_reference_stack() -> None:
    profile = load_conformance_profile(
        ROOT / "pytest_aistack" / "reference_stack" / "aistack-conformance.yaml"
    )
    stack = load_stack_spec(ROOT / "pytest_aistack" / "reference_stack" / "stack-conformance.yaml")
    assert {s.service for s in profile.servers.values()} <= set(stack.services)
    embeddings = profile.servers["embeddings"]
    assert [b.proxy for b in embeddings.breakers] == ["redis"]
    assert "redis" in stack.proxied


def test_a_minimal_external_server(tmp_path: Path) -> None:
    profile = load(tmp_path, MINIMAL)
    server = profile.servers["llm"]  # type: ignore[attr-defined]
    assert (server.managed, server.endpoint, server.startup) == (
        False,
        "/v1/chat/completions",
        None,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("settings: {}\n", r"p.yaml:1: \(top level\): no conformance: section"),
        (
            MINIMAL + "      service: llm\n",
            r"p.yaml:3: conformance.servers.llm: give exactly one of service:",
        ),
        (
            MINIMAL + "      drian: {timeout_s: 1}\n",
            r"p.yaml:6: conformance.servers.llm.drian: unknown key; expected one of: service",
        ),
        (
            MINIMAL + "      drain: {timeout_s: soon}\n",
            r"p.yaml:6: conformance.servers.llm.drain.timeout_s: expected a number >= 0.001, "
            r"got 'soon' \(str\)",
        ),
        (
            MINIMAL + "      saturation: {max_concurrency: 1, queue_depth: 0, queue_timeout_s: 1,"
            " retry_after_max_s: 1, shed_within_s: 2}\n",
            r"saturation.shed_within_s: must be below queue_timeout_s",
        ),
        (
            MINIMAL + "      readiness_path: readyz\n",
            r"p.yaml:6: conformance.servers.llm.readiness_path: expected a path like /readyz",
        ),
        (
            MINIMAL + "      endpoint: /v1/embeddings\n      limits: {max_messages: 3}\n",
            r"conformance.servers.llm.limits.max_messages: is a chat limit",
        ),
        (
            MINIMAL + "      limits: {max_inputs: 32}\n",
            r"limits: max_inputs / max_input_chars are embeddings limits; set endpoint: "
            r"/v1/embeddings",
        ),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConformanceProfileError, match=message):
        load(tmp_path, text)


def test_prometheus_samples_match_by_name_suffix_and_labels() -> None:
    text = (
        "# TYPE x_circuit_breaker_state gauge\n"
        'x_circuit_breaker_state{service="redis"} 1\n'
        'x_circuit_breaker_state{service="db",zone="a"} 2 1700000000\n'
        "x_other 3\n"
    )
    samples = parse_samples(text)
    assert find_value(samples, "circuit_breaker_state", {"service": "db"}) == 2
    assert find_value(samples, "x_circuit_breaker_state", {"service": "redis"}) == 1
    assert find_value(samples, "circuit_breaker_state", {"service": "none"}) is None


def test_one_file_may_hold_a_stack_profile_and_a_conformance_section(tmp_path: Path) -> None:
    from pytest_aistack.stack.profile import load_profile

    reference = (ROOT / "pytest_aistack" / "reference_stack" / "aistack.yaml").read_text()
    path = tmp_path / "both.yaml"
    path.write_text(reference + "\n" + MINIMAL)
    assert load_profile(path).primary_group == "chat"
    assert list(load_conformance_profile(path).servers) == ["llm"]
