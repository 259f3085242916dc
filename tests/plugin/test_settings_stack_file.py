"""stack_file: the default, precedence and relative paths per source, and its errors."""

from __future__ import annotations

import pytest

from .settings_dump import DUMP_TEST, LAYERS, resolved_settings, settings_in, usage_error


def test_stack_file_default_is_none_meaning_the_reference_stack(
    pytester: pytest.Pytester, ini: object
) -> None:
    assert resolved_settings(pytester)["stack_file"] is None


@pytest.mark.parametrize("top", range(len(LAYERS)))
def test_stack_file_precedence_and_relative_paths(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch, top: int
) -> None:
    # Each layer names "s.yaml"; each resolves it against its own directory, so the
    # winning layer shows in the resolved path.
    profiles = pytester.mkdir("profiles")
    project = pytester.mkdir("project")
    run_dir = pytester.mkdir("run")
    for directory in (profiles, project, run_dir):
        (directory / "s.yaml").write_text("services: {}\n")
    (profiles / "aistack.yaml").write_text("settings:\n  stack_file: s.yaml\n")
    # pyproject.toml in project/ is pytest's config file: [tool.aistack] is read from it.
    tool = '[tool.aistack]\nstack_file = "s.yaml"\n' if top >= 1 else ""
    (project / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n'
        'addopts = "-p no:hypothesispytest"\n' + tool
    )
    (project / "test_dump.py").write_text(DUMP_TEST)
    args = [f"--aistack-profile={profiles / 'aistack.yaml'}"]
    if top >= 2:
        monkeypatch.setenv("AISTACK_STACK_FILE", "s.yaml")
    if top >= 3:
        (run_dir / "cli.yaml").write_text("services: {}\n")
        args.append("--aistack-stack-file=cli.yaml")
    expected = [
        profiles / "s.yaml",
        project / "s.yaml",
        run_dir / "s.yaml",  # command line and environment: the invocation directory
        run_dir / "cli.yaml",
    ][top]
    label = [
        f"settings.stack_file in {profiles / 'aistack.yaml'} line 2",
        f"[tool.aistack] stack_file in {project / 'pyproject.toml'}",
        "environment variable AISTACK_STACK_FILE",
        "--aistack-stack-file",
    ][top]
    monkeypatch.chdir(run_dir)
    result = pytester.runpytest("-s", "-c", str(project / "pyproject.toml"), *args, str(project))
    result.assert_outcomes(passed=1)
    assert settings_in(result)["stack_file"] == str(expected)
    assert f"stack_file ({label})" in result.stdout.str()  # the header's "set by" line


def test_missing_stack_file_names_setting_source_and_path(
    pytester: pytest.Pytester, ini: object
) -> None:
    assert usage_error(pytester, "--aistack-stack-file=nope.yaml") == (
        f"aistack: invalid stack_file 'nope.yaml' from --aistack-stack-file: "
        f"{pytester.path / 'nope.yaml'} does not exist; point it at a stack file "
        "(docs/configuration.md, Stack files) or leave it unset for the reference stack"
    )


def test_stack_file_that_is_a_directory(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.mkdir("stacks")
    monkeypatch.setenv("AISTACK_STACK_FILE", "stacks")
    assert usage_error(pytester).startswith(
        "aistack: invalid stack_file 'stacks' from environment variable AISTACK_STACK_FILE: "
        f"{pytester.path / 'stacks'} is a directory, not a file;"
    )


def test_missing_stack_file_from_profile_names_file_and_line(
    pytester: pytest.Pytester, ini: object
) -> None:
    profile = pytester.path / "aistack.yaml"
    profile.write_text("settings:\n  backend: local\n  stack_file: gone.yaml\n")
    assert usage_error(pytester, f"--aistack-profile={profile}").startswith(
        f"aistack: invalid stack_file 'gone.yaml' from settings.stack_file in {profile} line 3: "
        f"{pytester.path / 'gone.yaml'} does not exist;"
    )
