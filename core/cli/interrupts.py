"""SIGINT and SIGTERM for the headless commands (``serve``, ``replay``): the first one asks them to stop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from types import TracebackType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """While entered, the first SIGINT or SIGTERM calls ``on_signal``; later ones are ignored (it is stopping).

    ``exit_code`` follows the shell's convention: 128 + the signal number (130 for Ctrl+C, 143 for SIGTERM).
    """

    def __init__(self, on_signal: Callable[[], object]) -> None:
        self._on_signal = on_signal
        self.received: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __enter__(self) -> Interrupts:
        self._loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            self._loop.add_signal_handler(sig, self._handle, sig)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._loop is not None
        for sig in SIGNALS:
            self._loop.remove_signal_handler(sig)

    @property
    def exit_code(self) -> int:
        """128 + the signal received (1 if none was: the caller stopped for another reason)."""
        return 1 if self.received is None else 128 + self.received

    def _handle(self, sig: int) -> None:
        if self.received is None:
            self.received = sig
            self._on_signal()
