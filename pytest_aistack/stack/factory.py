"""Pick and build the backend the settings ask for (pytest, ``aistack up``, the demo)."""

from __future__ import annotations

import importlib
from pathlib import Path

import reference_stack
from pytest_aistack.config import Settings
from pytest_aistack.stack.external import ExternalBackend
from pytest_aistack.stack.local import LocalBackend
from pytest_aistack.stack.profile import Profile, load_profile
from pytest_aistack.stack.spec import Backend, load_stack_spec

REFERENCE_DIR = Path(reference_stack.__file__).parent
REFERENCE_SPEC = REFERENCE_DIR / "stack.yaml"
REFERENCE_PROFILE = REFERENCE_DIR / "aistack.yaml"


def load_selected_profile(settings: Settings) -> Profile:
    return load_profile(settings.profile or REFERENCE_PROFILE)


def make_backend(settings: Settings, *, kind: str = "pytest") -> tuple[Backend, Profile]:
    """The backend for ``settings.backend`` and the profile the scenarios assert."""
    profile = load_selected_profile(settings)
    if settings.backend == "external":
        return ExternalBackend(profile), profile
    spec = load_stack_spec(REFERENCE_SPEC)
    if settings.backend == "docker":
        # Imported by name: the docker backend (and testcontainers) load only when asked for.
        docker = importlib.import_module("pytest_aistack.stack.docker")
        backend: Backend = docker.DockerBackend.from_settings(spec, settings, kind=kind)
        return backend, profile
    return (
        LocalBackend(spec, log_dir=settings.report_dir, kind=kind, keep_up=settings.keep_up),
        profile,
    )
