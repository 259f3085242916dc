"""The ``pytest_aistack_make_backend`` hook: a conftest.py or an installed plugin adds a
backend by answering for its own name, in pytest and in ``aistack up`` alike; a name
nobody answers for is a usage error listing the known ones and how to add one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_aistack.settings import Settings, SettingsError
from pytest_aistack.stack.backend_plugins import ADD_A_BACKEND, known_backend_names
from pytest_aistack.stack.external import ExternalBackend
from pytest_aistack.stack.factory import make_backend, plugin_manager
from pytest_aistack.stack.local import LocalBackend

from .plugin_site import install_entry_point
from .up_process import AISTACK

# A backend of the user's: its stack is "up" at made-up URLs; up and down leave a trace
# in the file AISTACK_TEST_TRACE names, so the test sees the fixture's lifecycle.
MINE = """
import os
from pathlib import Path

import pytest

from pytest_aistack.stack.backend import Secret, Stack


class MyBackend:
    def __init__(self, kind):
        self.kind = kind

    def up(self):
        trace("up " + self.kind)
        return Stack(
            backend="mine",
            gateway_url="http://127.0.0.1:9",
            gateway_key=Secret("sk-mine-0123"),
            toxiproxy_url=None,
            endpoints={},
        )

    def down(self):
        trace("down")


def trace(line):
    with Path(os.environ["AISTACK_TEST_TRACE"]).open("a") as out:
        out.write(line + "\\n")


@pytest.hookimpl
def pytest_aistack_backend_names():
    return ["mine"]


@pytest.hookimpl
def pytest_aistack_make_backend(name, kind):
    return MyBackend(kind) if name == "mine" else None
"""

USES_STACK = """
def test_uses_stack(aistack_stack):
    assert aistack_stack.stack.backend == "mine"
    assert aistack_stack.gateway_url == "http://127.0.0.1:9"
"""


@pytest.fixture
def trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "trace.txt"
    monkeypatch.setenv("AISTACK_TEST_TRACE", str(path))
    return path


def _ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


def test_a_conftest_adds_a_backend_the_setting_selects(
    pytester: pytest.Pytester, trace: Path
) -> None:
    _ini(pytester)
    pytester.makeconftest(MINE)
    pytester.makepyfile(USES_STACK)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--aistack-backend=mine")
    result.assert_outcomes(passed=1)
    assert trace.read_text().splitlines() == ["up pytest", "down"]


def test_an_unknown_backend_names_the_known_ones_and_how_to_add_one(
    pytester: pytest.Pytester,
) -> None:
    _ini(pytester)
    pytester.makeconftest(MINE)
    pytester.makepyfile(USES_STACK)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--aistack-backend=yours")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines[:2] == [
        "ERROR: aistack: invalid backend 'yours' from --aistack-backend: "
        "expected one of local, docker, external, mine",
        ADD_A_BACKEND,
    ]


def test_a_backend_name_of_the_wrong_form_is_refused_by_the_settings(
    pytester: pytest.Pytester,
) -> None:
    _ini(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--aistack-backend=my stack")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: aistack: invalid backend 'my stack' from --aistack-backend: "
            "expected one of local, docker, external or a plugin's backend name"
        ]
    )


def test_outside_pytest_the_manager_has_the_builtins() -> None:
    hook = plugin_manager().hook
    assert known_backend_names(hook)[:3] == ["local", "docker", "external"]
    external, _ = make_backend(Settings(backend="external"), kind="up", hook=hook)
    assert isinstance(external, ExternalBackend)
    local, _ = make_backend(Settings(), kind="up", hook=hook)
    assert isinstance(local, LocalBackend)


def test_outside_pytest_an_unknown_backend_says_how_to_add_one() -> None:
    with pytest.raises(SettingsError) as info:
        make_backend(Settings(backend="yours"))
    assert str(info.value) == (
        "aistack: invalid backend 'yours': expected one of local, docker, external\n"
        + ADD_A_BACKEND
    )


def test_aistack_up_finds_a_backend_of_the_aistack_entry_point_group(
    tmp_path: Path, trace: Path
) -> None:
    env = install_entry_point(tmp_path / "site", MINE)
    # The stack is "up" until SIGTERM (as from `aistack down`); the banner says so.
    lines: list[str] = []
    with subprocess.Popen(
        [*AISTACK, "up", "--backend", "mine"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=env,
    ) as up:
        try:
            assert up.stdout is not None
            for line in up.stdout:  # ends at the banner, or at EOF if up exits
                lines.append(line)
                if "Ctrl-C" in line:
                    break
            up.terminate()
            up.wait(timeout=30)
        finally:
            if up.poll() is None:
                up.kill()
                up.wait(timeout=30)
    assert up.returncode == 0, "".join(lines)
    assert "aistack: stack up (backend mine" in "".join(lines)
    assert trace.read_text().splitlines() == ["up up", "down"]


def test_pytest_loads_the_aistack_entry_point_group_too(
    pytester: pytest.Pytester, tmp_path: Path, trace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = install_entry_point(tmp_path / "site", MINE)
    monkeypatch.setenv("PYTHONPATH", env["PYTHONPATH"])
    _ini(pytester)
    pytester.makepyfile(USES_STACK)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--aistack-backend=mine")
    result.assert_outcomes(passed=1)
    assert trace.read_text().splitlines() == ["up pytest", "down"]
