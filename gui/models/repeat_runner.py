"""Send one composed message N times through the shown backend, counting what happened (no Qt here).

The runner goes through ``Backend.publish``/``Backend.request`` like Send does, so under a
connector every repeat reaches the real broker. It reports the end once, through
``on_finished``, only after the outcome of every command it sent has been counted.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from eventdeck.core import Kind, NoResponderError, RequestTimeout
from eventdeck.core.connectors.backend import Backend
from eventdeck.gui.models.composed import Composed

YIELD_EVERY = 200  # with a 0 ms interval, let the window breathe every so many sends


class RepeatEnd(enum.Enum):
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass
class RepeatProgress:
    """Counters of a repeat: the runner writes them, the panel reads them whenever it likes."""

    kind: Kind
    channel: str
    total: int
    started: float = field(default_factory=time.perf_counter)
    done: int = 0
    replies: int = 0
    timeouts: int = 0
    no_handler: int = 0

    def summary(self) -> str:
        if self.kind is Kind.EVENT:
            return f"{self.done:,} of {self.total:,} events sent"
        return (
            f"{self.done:,} of {self.total:,} commands: {self.replies:,} replies, "
            f"{self.timeouts:,} timed out, {self.no_handler:,} no handler"
        )


FinishedListener = Callable[["RepeatRunner"], None]
Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


class RepeatRunner:
    """Sends ``message`` ``total`` times, ``interval_ms`` apart, through ``backend``.

    ``run()`` is the whole repeat; cancelling it stops the repeat (what was sent stays sent).
    ``on_finished`` is called exactly once, inside ``run()``, when ``end`` and the counts are final.
    """

    def __init__(
        self,
        backend: Backend,
        message: Composed,
        *,
        total: int,
        interval_ms: int,
        on_finished: FinishedListener | None = None,
    ) -> None:
        self.backend = backend
        self.message = message
        self.interval_ms = interval_ms
        self.progress = RepeatProgress(message.kind, message.channel, total)
        self.end: RepeatEnd | None = None
        self.error: BaseException | None = None
        self._on_finished = on_finished
        self._task: asyncio.Task[None] | None = None
        self._elapsed = 0.0

    @property
    def running(self) -> bool:
        return self.end is None

    def start(self, spawn: Spawn = asyncio.ensure_future) -> asyncio.Task[None]:
        """Run the repeat as a task made by ``spawn`` (the bridge's, so a failure is logged and shown)."""
        task = spawn(self.run())
        task.add_done_callback(self._on_task_done)
        self._task = task
        return task

    def stop(self) -> None:
        """Cancel the repeat; what was sent stays sent."""
        if self._task is not None:
            self._task.cancel()

    async def run(self) -> None:
        try:
            await self._send_all()
        except asyncio.CancelledError:
            self._finish(RepeatEnd.STOPPED)
            raise
        except Exception as exc:
            self._finish(RepeatEnd.FAILED, exc)
            raise
        self._finish(RepeatEnd.DONE)

    def report(self) -> str:
        """How the repeat went: how far it got while it runs, how it ended afterwards."""
        progress = self.progress
        if self.end is RepeatEnd.STOPPED:
            return f"Stopped: {progress.summary()}"
        if self.end is RepeatEnd.FAILED:
            return f"Repeat failed after {progress.done:,}: {self.error}"
        if self.end is RepeatEnd.DONE:
            return f"Done in {self._elapsed:.2f} s: {progress.summary()}"
        return f"Repeating: {progress.summary()}"

    async def _send_all(self) -> None:
        progress, total = self.progress, self.progress.total
        delay = self.interval_ms / 1000
        for index in range(1, total + 1):
            await self._send_one()
            progress.done = index
            if index < total:
                if delay > 0:
                    await asyncio.sleep(delay)
                elif index % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # let the window paint and handle input between bursts

    async def _send_one(self) -> None:
        message, progress = self.message, self.progress
        if message.kind is Kind.EVENT:
            await message.publish(self.backend)
            return
        try:
            await message.request(self.backend)
            progress.replies += 1
        except NoResponderError:
            progress.no_handler += 1
        except RequestTimeout:
            progress.timeouts += 1

    def _on_task_done(self, _task: asyncio.Task[None]) -> None:
        if self.running:  # cancelled before its first step: run() never got to say so
            self._finish(RepeatEnd.STOPPED)

    def _finish(self, end: RepeatEnd, error: BaseException | None = None) -> None:
        self.end, self.error = end, error
        self._elapsed = time.perf_counter() - self.progress.started
        if self._on_finished is not None:
            self._on_finished(self)
