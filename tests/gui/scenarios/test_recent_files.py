"""Recent files: newest first, each once, at most eight, kept in the settings across restarts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from eventdeck.gui.scenarios.recent_files import KEY, RecentFiles


def test_newest_first_each_once_and_kept_across_restarts(settings: QSettings, tmp_path: Path) -> None:
    recent = RecentFiles(settings)
    assert recent.paths == []
    first, second = str(tmp_path / "house.yaml"), str(tmp_path / "shop.yaml")
    recent.add(first)
    recent.add(second)
    assert recent.add(first) == [first, second]  # opened again: back to the top, not listed twice
    settings.sync()
    reopened = QSettings(settings.fileName(), QSettings.Format.IniFormat)
    assert RecentFiles(reopened).paths == [first, second]


def test_paths_are_normalised_so_one_file_is_listed_once(settings: QSettings, tmp_path: Path) -> None:
    recent = RecentFiles(settings)
    target = str(tmp_path / "house.yaml")
    recent.add(str(tmp_path / "sub" / ".." / "house.yaml"))
    recent.add(target)
    assert recent.paths == [target]
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert recent.add("house.yaml") == [target]  # relative: made absolute
    finally:
        os.chdir(cwd)
    assert recent.add("~/talk.yaml")[0] == os.path.join(os.path.expanduser("~"), "talk.yaml")


def test_at_most_eight_the_oldest_falls_off(settings: QSettings) -> None:
    recent = RecentFiles(settings)
    for number in range(10):
        recent.add(f"/talks/{number}.yaml")
    assert recent.paths == [f"/talks/{number}.yaml" for number in range(9, 1, -1)]


def test_remove_and_clear(settings: QSettings) -> None:
    recent = RecentFiles(settings)
    recent.add("/a.yaml")
    recent.add("/b.yaml")
    assert recent.remove("/a.yaml") == ["/b.yaml"]
    assert recent.remove("/never.yaml") == ["/b.yaml"]
    recent.clear()
    assert recent.paths == []


def test_a_hand_edited_setting_yields_what_is_readable(settings: QSettings) -> None:
    settings.setValue(KEY, "/only.yaml")  # INI files store a one-item list as a plain string
    assert RecentFiles(settings).paths == ["/only.yaml"]
    settings.setValue(KEY, ["/a.yaml", "", "/a.yaml", "/b/../b.yaml"])
    assert RecentFiles(settings).paths == ["/a.yaml", "/b.yaml"]
    settings.setValue(KEY, 42)
    assert RecentFiles(settings).paths == []


def test_bad_input_says_what_is_wrong(settings: QSettings) -> None:
    with pytest.raises(ValueError, match="needs a path"):
        RecentFiles(settings).add("  ")
    with pytest.raises(ValueError, match="at least 1, not 0"):
        RecentFiles(settings, limit=0)
