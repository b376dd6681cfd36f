"""Imports run one way along the pipeline: the import-linter contracts in pyproject.toml."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_imports_keep_the_layers_and_make_no_cycles() -> None:
    # the linter reads the package from sys.path: point it at this checkout's sources
    path = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    linted = subprocess.run(
        ["lint-imports", "--no-cache", "--no-logo"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
