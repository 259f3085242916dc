"""``python -m pytest_aistack.cli``: the ``aistack`` command without the console script."""

from __future__ import annotations

import sys

from pytest_aistack.cli import main

sys.exit(main())
