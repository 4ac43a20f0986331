"""``eventdeck replay FILE --into URL``: send a recording again into a broker people already run.

For scripts and CI: record with the window (File > Export messages…) or ``eventdeck serve
--record``, then replay into Mosquitto, RabbitMQ, NATS, Redis or another EventDeck's MQTT
gateway. A progress line every few seconds, one summary line at the end; the exit code is 0
when everything was sent (and every command answered), 1 otherwise, 130 on Ctrl+C.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from .connectors import ConnectorError, backend_from_url
from .errors import EventDeckError
from .recording import ReplayProgress, plan_replay, read_recording, replay

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
    try:
        plan = plan_replay(await asyncio.to_thread(read_recording, path))
        backend = backend_from_url(url)
        await backend.start()
    except (EventDeckError, ConnectorError) as exc:
        log.error("%s", exc)
        return 1
    progress = plan.progress()
    log.info(
        "replaying %s messages (%s commands) from %s into %s, %s",
        f"{len(plan.messages):,}",
        f"{plan.commands:,}",
        path,
        backend.name,
        "as fast as possible" if speed is None else f"at {speed:g}x the recorded pace",
    )
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(replay(backend, plan, progress, speed=speed, reply_timeout=reply_timeout))
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=progress_every)
            if not task.done():
                log.info("replaying: %s", progress.summary())
        return _outcome(task, progress)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        with contextlib.suppress(EventDeckError):
            await backend.stop()


def _outcome(task: asyncio.Task[ReplayProgress], progress: ReplayProgress) -> int:
    if task.cancelled():
        log.warning("replay stopped: %s", progress.summary())
        return 130
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
