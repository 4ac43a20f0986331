"""``eventdeck replay FILE --into URL``: send a recording again into a broker people already run.

For scripts and CI: record with the window (File > Export messages…) or ``eventdeck serve
--record``, then replay into Mosquitto, RabbitMQ, NATS, Redis or another EventDeck's MQTT
gateway. A progress line every few seconds, one summary line at the end; the exit code is 0
when everything was sent (and every command answered), 1 otherwise, 130 on Ctrl+C (143 on SIGTERM).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from eventdeck.core.broker.errors import EventDeckError
from eventdeck.core.cli.interrupts import Interrupts
from eventdeck.core.connectors import ConnectorBackend, backend_from_url
from eventdeck.core.recording import ReplayProgress, plan_replay, read_recording, replay
from eventdeck.core.wording import plural

log = logging.getLogger("eventdeck.replay")
PROGRESS_EVERY = 5.0  # seconds between progress lines


async def replay_into(
    path: Path,
    url: str,
    *,
    speed: float | None,
    reply_timeout: float = 5.0,
    progress_every: float = PROGRESS_EVERY,
) -> int:
    """Replay the recording at ``path`` into the broker at ``url``; return the process exit code."""
    this = asyncio.current_task()
    assert this is not None
    backend: ConnectorBackend | None = None
    progress: ReplayProgress | None = None
    with Interrupts(this.cancel) as interrupts:  # from the start: Ctrl+C while connecting stops cleanly too
        try:
            plan = plan_replay(await asyncio.to_thread(read_recording, path))
            backend = backend_from_url(url)
            await backend.start()
            progress = plan.progress()
            log.info(
                "replaying %s (%s) from %s into %s, %s",
                plural(len(plan.messages), "message"),
                plural(plan.commands, "command"),
                path,
                backend.name,
                "as fast as possible" if speed is None else f"at {speed:g}x the recorded pace",
            )
            running = asyncio.create_task(replay(backend, plan, progress, speed=speed, reply_timeout=reply_timeout))
            try:
                while not running.done():
                    await asyncio.wait({running}, timeout=progress_every)
                    if not running.done():
                        log.info("replaying: %s", progress.summary())
            finally:
                running.cancel()  # only matters when we were stopped while it ran
                await asyncio.wait({running})
            return _outcome(running, progress)
        except EventDeckError as exc:  # the file, the URL or the connection
            log.error("%s", exc)
            return 1
        except asyncio.CancelledError:
            if interrupts.received is None:
                raise
            this.uncancel()
            done = f": {progress.summary()}" if progress is not None else " before it started"
            log.warning("replay stopped%s", done)
            return interrupts.exit_code
        finally:
            if backend is not None:
                with contextlib.suppress(EventDeckError, asyncio.CancelledError):
                    await backend.stop()


def _outcome(task: asyncio.Task[ReplayProgress], progress: ReplayProgress) -> int:
    error = task.exception()
    if error is not None:
        log.error("replay failed: %s (%s)", error, progress.summary())
        return 1
    unanswered = progress.commands - progress.replied
    if progress.failed or unanswered:
        log.error("replay done with failures: %s", progress.summary())
        return 1
    log.info("replay done: %s", progress.summary())
    return 0
