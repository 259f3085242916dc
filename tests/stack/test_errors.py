"""The exception root (pytest_aistack.errors): every error we raise on purpose is an
AistackError of one kind, keeps the built-in base callers already catch, and a failed
start of any backend (refused at construction or failing in up()) reaches the user as its
message, not as a traceback, from the fixture and ``aistack up`` alike."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_aistack.chaos.client_types import ToxiproxyError
from pytest_aistack.chaos.engine import EngineError
from pytest_aistack.conformance.profile import ConformanceProfileError
from pytest_aistack.errors import AistackError, ChaosError, ConfigError, LoadError, StackError
from pytest_aistack.load.arrival import ArrivalError
from pytest_aistack.load.options import OptionError
from pytest_aistack.load.prompts import PromptFileError
from pytest_aistack.load.results import ResultFileError
from pytest_aistack.metrics.slo import SLOError
from pytest_aistack.report.collect import ReportError
from pytest_aistack.settings.sources import SettingsError
from pytest_aistack.stack.docker import DockerStackError
from pytest_aistack.stack.external import ExternalStackError
from pytest_aistack.stack.health import HealthTimeout
from pytest_aistack.stack.local import StackStartError
from pytest_aistack.stack.profile import ProfileError
from pytest_aistack.stack.spec import StackSpecError

from .plugin_site import install_entry_point
from .up_process import AISTACK, aistack

TREE: list[tuple[type[Exception], type[AistackError], type[Exception]]] = [
    # (error, its kind, the built-in base it had before the root existed)
    (SettingsError, ConfigError, ValueError),
    (ProfileError, ConfigError, ValueError),
    (StackSpecError, ConfigError, ValueError),
    (ReportError, ConfigError, ValueError),
    (ConformanceProfileError, ConfigError, ValueError),
    (StackStartError, StackError, RuntimeError),
    (DockerStackError, StackError, RuntimeError),
    (ExternalStackError, StackError, RuntimeError),
    (HealthTimeout, StackError, TimeoutError),
    (ToxiproxyError, ChaosError, Exception),
    (EngineError, ChaosError, RuntimeError),
    (ArrivalError, LoadError, ValueError),
    (OptionError, LoadError, ValueError),
    (PromptFileError, LoadError, ValueError),
    (ResultFileError, LoadError, ValueError),
    (SLOError, LoadError, ValueError),
]


@pytest.mark.parametrize(("error", "kind", "builtin"), TREE, ids=lambda v: v.__name__)
def test_each_error_has_one_kind_and_keeps_its_builtin_base(
    error: type[Exception], kind: type[AistackError], builtin: type[Exception]
) -> None:
    assert issubclass(error, kind)
    assert issubclass(error, AistackError)
    assert issubclass(error, builtin)
    others = {ConfigError, StackError, ChaosError, LoadError} - {kind}
    assert not any(issubclass(error, other) for other in others)


DOCKER_REFUSAL = (
    "chaos_engine 'binary' runs toxiproxy-server on the host and does not apply to the "
    "docker backend; use auto, docker (official image) or embedded"
)


def test_a_docker_backend_refusal_is_a_message_from_aistack_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DockerStackError used to escape `aistack up` as a traceback.
    monkeypatch.setenv("AISTACK_CHAOS_ENGINE", "binary")
    result = aistack("up", "--backend", "docker", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"aistack up: {DOCKER_REFUSAL}"


def test_a_docker_backend_refusal_fails_the_fixture_without_a_traceback(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISTACK_CHAOS_ENGINE", "binary")
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile("def test_uses_stack(aistack_stack): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--aistack-backend=docker")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ERROR at setup of test_uses_stack*", DOCKER_REFUSAL])
    assert "Traceback" not in result.stdout.str()
    assert "docker/backend.py" not in result.stdout.str()


# A backend whose start fails as the docker backend's does when a container exits: one
# DockerStackError, raised by up(). stack/failures.py decides, for both callers, that its
# message is what the user sees.
FAILING_START = """
import pytest

from pytest_aistack.stack.docker import DockerStackError

MESSAGE = "docker: service vllm-a exited with code 3 before it was healthy; its log: ..."


class FailingBackend:
    def up(self):
        raise DockerStackError(MESSAGE)

    def down(self):
        pass


@pytest.hookimpl
def pytest_aistack_backend_names():
    return ["failing"]


@pytest.hookimpl
def pytest_aistack_make_backend(name):
    return FailingBackend() if name == "failing" else None
"""
START_FAILURE = "docker: service vllm-a exited with code 3 before it was healthy; its log: ..."


def test_a_docker_start_failure_is_a_message_from_aistack_up(tmp_path: Path) -> None:
    env = install_entry_point(tmp_path / "site", FAILING_START, name="failing")
    result = subprocess.run(
        [*AISTACK, "up", "--backend", "failing"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"aistack up: {START_FAILURE}"


def test_a_docker_start_failure_fails_the_fixture_without_a_traceback(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest(FAILING_START)
    pytester.makepyfile("def test_uses_stack(aistack_stack): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--aistack-backend=failing")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ERROR at setup of test_uses_stack*", START_FAILURE])
    assert "Traceback" not in result.stdout.str()
    assert "DockerStackError" not in result.stdout.str()
