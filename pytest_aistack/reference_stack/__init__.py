"""The reference stack's files: stack files, profiles, gateway configs, docker build files.

Data, not code (only ``llamacpp/`` holds a module: the tiny GGUF generator of the
llama.cpp variant). They are package data so that an installed pytest-aistack carries
its embedded default; :data:`REFERENCE_DIR` is where they are. It is a real directory
(``importlib.resources.files`` of a package installed as files), because the stack's
services (LiteLLM, redis-server, ``docker build``) are other processes that open these
files by path; a zipped install is not supported.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

REFERENCE_DIR = Path(str(files(__name__)))
