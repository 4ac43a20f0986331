"""One process per data directory: an exclusive lock on ``DIR/eventdeck.lock``, released when the process ends.

The operating system drops the lock when its holder dies (even by ``kill -9``), so a stale lock
file never keeps a directory closed; the file itself stays and holds the last holder's pid.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO

from eventdeck.core.store.errors import StoreLocked

LOCK_NAME = "eventdeck.lock"


class DirectoryLock:
    """Held from ``acquire`` until ``release``; ``StoreLocked`` names the holder's pid if another process has it."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK_NAME
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        file = self.path.open("a+", encoding="utf-8")
        try:
            _lock(file)
        except OSError:
            file.seek(0)
            holder = file.read().strip() or "unknown"
            file.close()
            raise StoreLocked(
                f"{self.path.parent} is in use by another EventDeck process (pid {holder}); "
                "stop it, or give this one another --data directory"
            ) from None
        file.seek(0)
        file.truncate()
        file.write(str(os.getpid()))
        file.flush()
        self._file = file

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the lock
            self._file = None


if sys.platform == "win32":
    import msvcrt

    def _lock(file: IO[str]) -> None:
        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock(file: IO[str]) -> None:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
