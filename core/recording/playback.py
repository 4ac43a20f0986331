"""Replaying a recording into a backend.

Replaying sends the inputs of a system again (events, and commands, which get fresh replies)
and skips what the system makes by itself: replies and ``$``-channels (dead letters, reply
channels), because responders and failing subscribers produce those anew.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from eventdeck.core.broker.channels import is_broker_channel
from eventdeck.core.broker.errors import EventDeckError, RequestTimeout
from eventdeck.core.broker.message import Kind, Message
from eventdeck.core.connectors.backend import Backend
from eventdeck.core.recording.errors import RecordingError

YIELD_EVERY = 256  # a replay lets the event loop (and the window) run at least this often
MAX_SLEEP = 3600.0  # the loop's timers overflow past ~24 days: long gaps are slept in pieces
COMMANDS_IN_FLIGHT = 100  # commands waiting for replies at once; more wait their turn
FAILURES_IN_A_ROW = 20  # the broker refused this many in a row: stop instead of failing for hours


def is_replayed(message: Message) -> bool:
    """True for what a replay sends: events and commands, not replies or ``$``-channel traffic."""
    return message.kind is not Kind.REPLY and not is_broker_channel(message.channel)


@dataclass
class ReplayProgress:
    """How a replay is going; ``replay`` updates it as it goes, so a window can poll it.

    ``sent`` counts what the broker accepted (a command also when its reply timed out);
    ``failed`` what it refused, or commands nobody answered.
    """

    total: int  # messages that will be sent
    skipped: int = 0  # replies and $-channel messages left out (the system makes them again)
    sent: int = 0
    commands: int = 0
    replied: int = 0
    failed: int = 0
    failed_in_a_row: int = 0
    headers_dropped: bool = False  # the target broker carries no headers
    errors: list[str] = field(default_factory=list)  # the first few failure reasons
    last_error: str = ""

    def succeed(self) -> None:
        self.sent += 1
        self.failed_in_a_row = 0

    def fail(self, reason: str) -> None:
        self.failed += 1
        self.failed_in_a_row += 1
        self.last_error = reason
        if len(self.errors) < 5:
            self.errors.append(reason)

    def summary(self) -> str:
        parts = [f"{self.sent:,} of {self.total:,} sent"]
        if self.commands:
            parts.append(f"{self.replied:,} of {self.commands:,} commands replied")
        if self.failed:
            parts.append(f"{self.failed:,} failed ({self.errors[0]})")
        if self.skipped:
            parts.append(f"skipped {self.skipped:,} (replies and $-channel messages)")
        if self.headers_dropped:
            parts.append("headers dropped (this broker carries none)")
        return ", ".join(parts)


@dataclass(frozen=True)
class ReplayPlan:
    """What a replay of a recording sends (in order) and how much it leaves out."""

    messages: tuple[Message, ...]
    skipped: int

    @property
    def commands(self) -> int:
        return sum(1 for message in self.messages if message.kind is Kind.COMMAND)

    @property
    def span(self) -> float:
        """Seconds between the earliest and the latest message sent, as recorded."""
        if not self.messages:
            return 0.0
        times = [message.timestamp for message in self.messages]
        return max(times) - min(times)

    def progress(self) -> ReplayProgress:
        return ReplayProgress(total=len(self.messages), skipped=self.skipped)


def plan_replay(messages: Sequence[Message]) -> ReplayPlan:
    """The messages a replay of ``messages`` sends: replies and ``$``-channel traffic left out."""
    todo = tuple(message for message in messages if is_replayed(message))
    return ReplayPlan(todo, len(messages) - len(todo))


async def replay(
    target: Backend,
    plan: ReplayPlan,
    progress: ReplayProgress,
    *,
    speed: float | None = 1.0,
    max_rate: float | None = None,
    reply_timeout: float = 5.0,
) -> ReplayProgress:
    """Publish the plan's messages to ``target``, keeping their recorded gaps divided by ``speed``.

    ``speed=None`` sends as fast as the broker takes them, or at most ``max_rate`` messages
    a second (a window showing the traffic sets what it can draw). Commands are sent as commands,
    at most ``COMMANDS_IN_FLIGHT`` waiting for replies at once. A message the broker refuses
    is counted with its reason and the replay goes on, unless ``FAILURES_IN_A_ROW`` fail in
    a row (a lost connection, say): then it stops with ``RecordingError``. Cancelling stops
    it too; what was sent stays sent.
    """
    if speed is not None and speed <= 0:
        raise ValueError(f"speed must be > 0 (or None for as fast as possible), got {speed}")
    if max_rate is not None and max_rate <= 0:
        raise ValueError(f"max_rate must be > 0 (or None for no limit), got {max_rate}")
    keep_headers = target.capabilities.headers
    loop = asyncio.get_running_loop()
    started = loop.time()
    first = plan.messages[0].timestamp if plan.messages else 0.0
    previous_due: float | None = None
    room = asyncio.Semaphore(COMMANDS_IN_FLIGHT)
    commands: set[asyncio.Task[None]] = set()

    def answered(task: asyncio.Task[None]) -> None:
        commands.discard(task)
        room.release()

    since_pause = 0
    try:
        for message in plan.messages:
            due = started if speed is None else started + (message.timestamp - first) / speed
            if max_rate is not None and previous_due is not None:  # never closer than 1/max_rate: bursts too
                due = max(due, previous_due + 1.0 / max_rate)
            previous_due = due
            delay = due - loop.time()
            if delay > 0 or since_pause >= YIELD_EVERY:
                await _sleep(delay)
                since_pause = 0
            since_pause += 1
            if progress.failed_in_a_row >= FAILURES_IN_A_ROW:
                raise RecordingError(
                    f"stopped after {FAILURES_IN_A_ROW} failures in a row; the last: {progress.last_error}"
                )
            headers = message.headers if keep_headers else None
            progress.headers_dropped |= bool(message.headers) and not keep_headers
            if message.kind is Kind.COMMAND:
                progress.commands += 1
                await room.acquire()
                task = asyncio.create_task(_command(target, message, headers, reply_timeout, progress))
                task.add_done_callback(answered)
                commands.add(task)
                continue
            try:
                await target.publish(
                    message.channel,
                    message.payload,
                    kind=message.kind,
                    headers=headers,
                    content_type=message.content_type,
                    publisher=message.publisher,
                )
            except EventDeckError as exc:
                progress.fail(str(exc))
            else:
                progress.succeed()
        if commands:
            await asyncio.gather(*commands)
    finally:
        for task in list(commands):
            task.cancel()
    return progress


async def _sleep(seconds: float) -> None:
    """Sleep ``seconds`` (0: just let others run) in pieces short enough for any event loop's timers."""
    while seconds > MAX_SLEEP:
        await asyncio.sleep(MAX_SLEEP)
        seconds -= MAX_SLEEP
    await asyncio.sleep(max(seconds, 0.0))


async def _command(
    target: Backend,
    message: Message,
    headers: Mapping[str, str] | None,
    reply_timeout: float,
    progress: ReplayProgress,
) -> None:
    try:
        await target.request(
            message.channel,
            message.payload,
            timeout=reply_timeout,
            headers=headers,
            content_type=message.content_type,
            publisher=message.publisher,
        )
    except RequestTimeout as exc:  # it was sent; nobody answered in time
        progress.succeed()
        progress.fail(str(exc))
    except EventDeckError as exc:
        progress.fail(str(exc))
    else:
        progress.succeed()
        progress.replied += 1
