"""The files opened lately, kept in the settings for the start page: newest first, each once."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

KEY = "recent/files"
LIMIT = 8
NOT_FOUND = "not found"  # said of a recent file that was moved or deleted


def normalised(path: str) -> str:
    """``path`` absolute, with ``~`` expanded and ``..`` folded, so one file is listed once however it was named."""
    if not path.strip():
        raise ValueError("a recent file needs a path; the path given is empty")
    return os.path.normpath(os.path.abspath(os.path.expanduser(path)))


class RecentFiles:
    """At most ``limit`` paths in ``settings``, the most recently opened first."""

    def __init__(self, settings: QSettings, limit: int = LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"recent files: the limit must be at least 1, not {limit}")
        self._settings = settings
        self._limit = limit

    @property
    def paths(self) -> list[str]:
        """The paths, newest first (a hand-edited or damaged setting yields what is still readable)."""
        stored = self._settings.value(KEY, [])
        items = [stored] if isinstance(stored, str) else stored if isinstance(stored, list) else []
        paths: list[str] = []
        for item in items:
            if isinstance(item, str) and item.strip() and normalised(item) not in paths:
                paths.append(normalised(item))
        return paths[: self._limit]

    def add(self, path: str) -> list[str]:
        """Put ``path`` first (moving it up if it was listed already); return the new list."""
        path = normalised(path)
        return self._store([path, *(known for known in self.paths if known != path)])

    def remove(self, path: str) -> list[str]:
        """Forget ``path`` (nothing happens if it is not listed); return the new list."""
        path = normalised(path)
        return self._store([known for known in self.paths if known != path])

    def clear(self) -> None:
        self._settings.remove(KEY)

    def _store(self, paths: list[str]) -> list[str]:
        paths = paths[: self._limit]
        self._settings.setValue(KEY, paths)
        return paths
