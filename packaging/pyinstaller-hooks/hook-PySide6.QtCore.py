"""Replaces PyInstaller's hook for PySide6.QtCore: the same collection, trimmed by bundle_policy."""

from bundle_policy import trimmed_qt_dependencies

hiddenimports, binaries, datas = trimmed_qt_dependencies(__file__)
