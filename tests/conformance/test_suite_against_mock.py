"""The conformance suite, run with pytester against the mock: every check passes with
every behaviour on, and with one behaviour switched off (a mock flag) exactly the check
of that promise fails, with a message naming it, while its neighbours pass.

Each run starts the reference conformance stack
(pytest_aistack/reference_stack/stack-conformance.yaml)
with the one service's command extended: the mock's argparse keeps the last value of a
repeated flag, so an appended ``--breaker-failures 0`` overrides the file's 3.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from pytest_aistack.runtime.process import ManagedProcess

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "conformance"
REFERENCE_STACK = ROOT / "pytest_aistack" / "reference_stack" / "stack-conformance.yaml"
REFERENCE_PROFILE = ROOT / "pytest_aistack" / "reference_stack" / "aistack-conformance.yaml"


@pytest.fixture(autouse=True)
def isolated_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run records of these runs never mix with (or reap) real runs on this machine."""
    monkeypatch.setenv("AISTACK_STATE_DIR", str(tmp_path / "state"))


def profile_with(tmp_path: Path, **extra: list[str]) -> Path:
    """The reference profile and stack, each named service's command extended."""
    stack = yaml.safe_load(REFERENCE_STACK.read_text())
    for service, args in extra.items():
        stack["services"][service]["command"] += args
    stack_path = tmp_path / "stack.yaml"
    stack_path.write_text(yaml.safe_dump(stack))
    profile = yaml.safe_load(REFERENCE_PROFILE.read_text())
    profile["settings"]["stack_file"] = str(stack_path)
    profile_path = tmp_path / "profile.yaml"
    profile_path.write_text(yaml.safe_dump(profile))
    return profile_path


def run_suite(pytester: pytest.Pytester, profile: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        str(SUITE), "-m", "conformance", "-p", "no:cacheprovider", "-rfs",
        f"--aistack-profile={profile}", f"--aistack-report-dir={pytester.path / 'results'}",
        *args,
    )  # fmt: skip


def test_every_check_passes_with_every_behaviour_on(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    result = run_suite(pytester, profile_with(tmp_path))
    result.assert_outcomes(passed=19, skipped=11)
    # The skips say which promise is not made, and where to state it.
    result.stdout.fnmatch_lines(
        ["*server 'embeddings' makes no drain promise (add conformance.servers.embeddings.drain*"]
    )


STARTUP = "inference and (liveness or readiness or refused)"
SATURATION = "inference and test_saturation"
DRAIN = "inference and test_drain"


@pytest.mark.parametrize(
    ("service", "flags", "selection", "failing", "message"),
    [
        pytest.param(
            "inference", ["--disable", "liveness"], STARTUP, "test_liveness_while_loading",
            "*promise liveness (/healthz 200 while the model loads) broken: /healthz answered 503*",
            id="liveness",
        ),
        pytest.param(
            "inference", ["--disable", "readiness"], STARTUP, "test_readiness_while_loading",
            "*promise readiness (/readyz 503 during model load) broken: /readyz said 200*",
            id="readiness",
        ),
        pytest.param(
            "inference", ["--disable", "loading_refusal"], STARTUP,
            "test_requests_refused_while_loading",
            "*promise startup.refusal_within_s (503 within 0.5 s while loading) broken: "
            "the request at * got no answer within 0.5 s*",
            id="loading_refusal",
        ),
        pytest.param(
            "inference", ["--disable", "queue_timeout"], SATURATION,
            "test_queue_timeout_answers_429",
            "*promise saturation.queue_timeout_s (a queued request gets 429 after 1 s) broken: "
            "queued request 1 got no answer*",
            id="queue_timeout",
        ),
        pytest.param(
            "inference", ["--disable", "shedding"], SATURATION, "test_full_queue_sheds_503",
            "*promise load shedding (a request over saturation.queue_depth=1 gets 503 within "
            "0.5 s) broken: it got 429*",
            id="shedding",
        ),
        pytest.param(
            "inference", ["--disable", "retry_after"], SATURATION,
            "test_rejections_carry_retry_after",
            "*promise Retry-After on 429/503 (an integer in [[]1, 2] s) broken: queued request 1: "
            "429 without Retry-After*",
            id="retry_after",
        ),
        pytest.param(
            "inference", ["--disable", "drain"], DRAIN, "test_drain_finishes_inflight_streams",
            "*promise graceful drain (in-flight streams finish after SIGTERM) broken: the "
            "in-flight short_request stream ended 200, not complete*",
            id="drain",
        ),
        pytest.param(
            "inference", ["--disable", "drain_refusal"], DRAIN, "test_drain_refuses_new_requests",
            "*promise drain refuses new work (503 or connection refused after SIGTERM) broken: "
            "a new request got 200*",
            id="drain_refusal",
        ),
        pytest.param(
            "inference", ["--disable", "drain_deadline"], DRAIN, "test_drain_exits_within_timeout",
            "*promise drain.timeout_s (exit within 2 s of SIGTERM) broken: still running 3.5 s "
            "after SIGTERM*",
            id="drain_deadline",
        ),
        pytest.param(
            "embeddings", ["--disable", "dependency_readiness"], "embeddings and test_startup",
            "test_ready_only_after_dependencies",
            "*promise health-ordered start (not ready before its dependencies: redis) broken: "
            "readiness said 200 at * while the proxies redis were down*",
            id="dependency_readiness",
        ),
        pytest.param(
            "embeddings", ["--breaker-open-s", "10"], "breaker",
            "test_breaker_half_opens_then_closes",
            "*promise breaker redis goes half-open within 1 s of the dependency's return, then "
            "closed after a successful call broken: no half-open in both within 2.5 s*",
            id="breaker_open_too_long",
        ),
    ],
)  # fmt: skip
def test_a_check_fails_with_its_behaviour_off(
    pytester: pytest.Pytester,
    tmp_path: Path,
    service: str,
    flags: list[str],
    selection: str,
    failing: str,
    message: str,
) -> None:
    result = run_suite(pytester, profile_with(tmp_path, **{service: flags}), "-k", selection)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1, result.stdout.str()
    assert outcomes.get("passed", 0) >= 1, result.stdout.str()  # the neighbours still pass
    result.stdout.fnmatch_lines_random([f"FAILED *::{failing}[[]{service}*", message])


def test_no_breaker_fails_both_breaker_checks(pytester: pytest.Pytester, tmp_path: Path) -> None:
    profile = profile_with(tmp_path, embeddings=["--breaker-failures", "0"])
    result = run_suite(pytester, profile, "-k", "breaker")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*promise breaker redis opens after 3 failures (proxy redis down), seen in /health "
            "and /metrics broken: after 6 requests with the dependency down it read /health "
            "'closed' (closed), /metrics closed*",
        ]
    )


def test_each_limit_check_fails_without_its_limit(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    profile = profile_with(
        tmp_path,
        inference=["--max-messages", "0", "--max-tokens-cap", "0"],
        embeddings=["--max-embedding-inputs", "0", "--max-embedding-chars", "0"],
    )
    result = run_suite(pytester, profile, "-k", "test_limits")
    result.assert_outcomes(failed=4, skipped=4)
    result.stdout.fnmatch_lines_random(
        [
            "*promise limits.max_messages (8 messages) broken: 9 got 200*expected a 4xx*",
            "*promise limits.max_tokens (256) broken: 257 got 200*expected a 4xx*",
            "*promise limits.max_inputs (32 inputs) broken: 33 got 200*expected a 4xx*",
            "*promise limits.max_input_chars (10000 characters) broken: 10001 got 200*",
        ]
    )


def test_an_external_server_skips_what_needs_its_process(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    argv = [
        sys.executable, "-m", "pytest_aistack.cli", "mock-llm", "--name", "mine",
        "--model", "mock-chat", "--ttft-ms", "1", "--itl-ms", "1", "--max-messages", "8",
    ]  # fmt: skip
    with ManagedProcess("mine", argv, log_path=tmp_path / "mine.log") as process:
        url = process.wait_ready(20.0)["url"]
        profile = tmp_path / "mine.yaml"
        profile.write_text(
            yaml.safe_dump(
                {
                    "conformance": {
                        "servers": {
                            "mine": {
                                "url": url,
                                "request": {"model": "mock-chat", "messages": []},
                                "startup": {"ready_within_s": 5},
                                "drain": {"timeout_s": 5},
                                "limits": {"max_messages": 8},
                            }
                        }
                    }
                }
            )
        )
        result = run_suite(pytester, profile, "-k", "startup or drain or max_messages")
    result.assert_outcomes(passed=1, skipped=7)
    result.stdout.fnmatch_lines(
        [
            "*server 'mine' is external (url: http://127.0.0.1:*): the harness does not run "
            "its process, so it cannot send it SIGTERM; name a stack-file service "
            "(conformance.servers.mine.service) to check this*",
        ]
    )


def test_a_profile_without_a_conformance_section_skips_every_check(
    pytester: pytest.Pytester,
) -> None:
    gateway_profile = ROOT / "pytest_aistack" / "reference_stack" / "aistack.yaml"
    result = run_suite(pytester, gateway_profile)
    result.assert_outcomes(skipped=16)
    result.stdout.fnmatch_lines(
        [f"*the profile {gateway_profile} has no conformance: section (docs/conformance.md)*"]
    )


def test_an_invalid_conformance_section_stops_the_run_naming_the_key(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    profile = tmp_path / "bad.yaml"
    profile.write_text("conformance:\n  servers:\n    x: {url: http://127.0.0.1:1, drain: 3}\n")
    result = run_suite(pytester, profile)
    result.assert_outcomes(errors=16)  # every check, at set-up, with the one message
    result.stdout.fnmatch_lines(
        [f"*{profile}:3: conformance.servers.x.request: expected a request body with a model:*"]
    )
