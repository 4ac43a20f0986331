"""ruff and mypy (strict, as configured in pyproject.toml) are part of the suite.

mypy cannot follow setuptools' editable-install import hook, so it is pointed at
a throw-away tree where ``eventdeck/core`` and ``eventdeck/gui`` link to the folders.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import ROOT

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed in this environment (pip install -e '.[dev]')")
    return str(path)


def test_ruff_is_clean() -> None:
    result = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_leaves_nothing_to_change() -> None:
    command = [_tool("ruff"), "format", "--check", "."]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean(tmp_path: Path) -> None:
    package = tmp_path / "eventdeck"
    package.mkdir()
    for folder in ("core", "gui", "resources"):
        (package / folder).symlink_to(ROOT / folder, target_is_directory=True)
    result = subprocess.run(
        [_tool("mypy"), "--cache-dir", str(ROOT / ".mypy_cache"), "-p", "eventdeck.core", "-p", "eventdeck.gui"],
        cwd=ROOT,
        env={"MYPYPATH": str(tmp_path), "PATH": str(BIN)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
