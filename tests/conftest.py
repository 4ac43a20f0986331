"""Shared test setup: Qt runs offscreen everywhere, so the suite needs no display, and nothing touches the
real user's app-data folder (where the window's broker keeps its data)."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Qt's AppDataLocation is under XDG_DATA_HOME on Linux: a folder of the run's own, for the windows that
# subprocesses open too; each test gets a fresh one below.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="eventdeck-tests-data-")
atexit.register(shutil.rmtree, os.environ["XDG_DATA_HOME"], ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated_app_data(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh app-data folder per test: one test's stored broker data never reaches another."""
    home = tmp_path_factory.mktemp("app-data")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home
