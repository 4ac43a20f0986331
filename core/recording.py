"""Recordings: messages saved as JSON Lines, read back with line-exact errors, and replayed.

One message per line, in the HTTP gateway's envelope (``core/http_envelope.py``), so what
``curl -N localhost:8080/subscribe`` or a WebSocket client prints can be replayed as well::

    {"id":"1764245420485012345","channel":"fridge/level","kind":"event","publisher":"fridge-sensor",
     "content_type":"application/json","headers":{},"payload":"{\\"percent\\": 23}","base64":false,
     "correlation_id":null,"reply_to":null,"timestamp":1764245420.485}

Only ``channel`` is required when writing one by hand; a line without ``timestamp`` is
sent right after the line before it (lines before the first timestamp, with it). WebSocket frames
of other types are skipped, and Server-Sent Events are read from their ``data:`` lines.

Replaying sends the inputs of a system again (events, and commands, which get fresh replies)
and skips what the system makes by itself: replies and ``$``-channels (dead letters, reply
channels), because responders and failing subscribers produce those anew.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import math
import os
import secrets
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .backend import Backend
from .channels import validate_channel
from .errors import EventDeckError, InvalidChannel, RecordingError, RequestTimeout
from .http_envelope import dumps, envelope
from .message import JSON, Kind, Message, freeze_headers

SUFFIX = ".jsonl"
MAX_MESSAGES = 1_000_000  # a replay holds the whole recording in memory; these two bound it
MAX_BYTES = 1024**3
YIELD_EVERY = 256  # a replay lets the event loop (and the window) run at least this often
MAX_SLEEP = 3600.0  # the loop's timers overflow past ~24 days: long gaps are slept in pieces
COMMANDS_IN_FLIGHT = 100  # commands waiting for replies at once; more wait their turn
FAILURES_IN_A_ROW = 20  # the broker refused this many in a row: stop instead of failing for hours
_KINDS = {kind.value: kind for kind in Kind}
SSE_OTHER_FIELDS = (b"id:", b"event:", b"retry:", b":")  # Server-Sent Events lines that carry no message
_FIELDS = frozenset(
    {"id", "channel", "kind", "publisher", "content_type", "headers", "payload", "base64"}
    | {"correlation_id", "reply_to", "timestamp", "type"}  # "type": WebSocket frames say "message"
)


def write_recording(path: str | os.PathLike[str], messages: Iterable[Message]) -> int:
    """Write ``messages`` to ``path`` as JSON Lines and return how many were written.

    The file is written beside its destination and renamed into place, so a failure
    (a full disk, say) never leaves half a recording over an existing file.
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    count = 0
    try:
        with temporary.open("x", encoding="utf-8", newline="\n") as out:  # "x": the usual permissions, never clobbers
            for message in messages:
                out.write(dumps(envelope(message)))
                out.write("\n")
                count += 1
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return count


class RecordingWriter:
    """Writes messages to a new recording as they come (``eventdeck serve --record``); ``close()`` when done.

    Each ``write`` ends with a flush, so a recording cut short by a crash still holds every
    line written before it. A write that fails (a full disk) stops the recording, never its
    caller: ``error`` then says why, and later writes are dropped.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.count = 0
        self.error: str | None = None
        self._out = self.path.open("w", encoding="utf-8", newline="\n")

    def write(self, messages: Iterable[Message]) -> bool:
        """Add ``messages``; False once the recording has stopped (see ``error``)."""
        if self.error is not None:
            return False
        lines = [dumps(envelope(message)) + "\n" for message in messages]
        if not lines:
            return True
        try:
            self._out.writelines(lines)
            self._out.flush()
        except OSError as exc:
            self.error = f"{self.path}: {exc.strerror or exc}"
            self.close()
            return False
        self.count += len(lines)
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):  # what could not be flushed is already reported in ``error``
            self._out.close()


def read_recording(path: str | os.PathLike[str], *, max_payload: int = 16 * 1024 * 1024) -> list[Message]:
    """Every message in the recording at ``path``, in file order.

    Raises ``RecordingError`` naming the file, the line and what is wrong with it, and
    returns nothing then: a recording is used whole or not at all. Blank lines are skipped.
    """
    source = Path(path)
    try:
        info = source.stat()
        if not stat.S_ISREG(info.st_mode):
            raise RecordingError(f"{source}: not a regular file")
        if info.st_size > MAX_BYTES:
            raise RecordingError(f"{source}: larger than {MAX_BYTES // 1024**2:,} MiB; split the recording")
        with source.open("rb") as lines:
            messages = _read_lines(source, lines, max_payload)
    except OSError as exc:
        raise RecordingError(f"{source}: cannot read it: {exc.strerror or exc}") from exc
    if not messages:
        raise RecordingError(f"{source}: no messages in it (a recording has one JSON object per line)")
    return messages


def _read_lines(source: Path, lines: Iterable[bytes], max_payload: int) -> list[Message]:
    messages: list[Message] = []
    timed: list[bool] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith(SSE_OTHER_FIELDS):
            continue
        line = line.removeprefix(b"data:").strip()  # Server-Sent Events, as GET /subscribe sends them
        if len(messages) == MAX_MESSAGES:
            raise RecordingError(f"{source}: more than {MAX_MESSAGES:,} messages; split the recording")
        try:
            parsed = _from_line(line, messages[-1].timestamp if messages else 0.0, max_payload)
        except (ValueError, TypeError) as exc:
            raise RecordingError(f"{source}, line {number}: {exc}") from None
        if parsed is not None:
            messages.append(parsed[0])
            timed.append(parsed[1])
    # Lines before the first timestamp take it, so a replay does not wait out the years since 1970.
    if True in timed:
        leading = timed.index(True)
        first = messages[leading].timestamp
        messages[:leading] = [message._replace(timestamp=first) for message in messages[:leading]]
    return messages


def _from_line(raw: bytes, previous_time: float, max_payload: int) -> tuple[Message, bool] | None:
    """One line as a Message and whether it had a timestamp (None for a WebSocket frame that is not a
    message, e.g. an acknowledgement); ValueError or TypeError with the reason."""
    try:
        record = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(record, dict):
        raise TypeError(f"expected a JSON object, got {type(record).__name__}")
    if record.get("type", "message") != "message":
        return None
    unknown = sorted(set(record) - _FIELDS)
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (known: {', '.join(sorted(_FIELDS))})")
    channel = _text(record, "channel", required=True)
    try:
        validate_channel(channel)
    except InvalidChannel as exc:
        raise ValueError(str(exc)) from None
    kind_name = _text(record, "kind") or Kind.EVENT.value
    kind = _KINDS.get(kind_name)
    if kind is None:
        raise ValueError(f"'kind' must be one of {', '.join(_KINDS)}, got {kind_name!r}")
    payload = _payload(record)
    if len(payload) > max_payload:
        raise ValueError(f"payload of {len(payload):,} bytes exceeds the limit of {max_payload:,} bytes")
    when = record.get("timestamp")
    timed = when is not None
    if not timed:
        when = previous_time
    elif isinstance(when, bool) or not isinstance(when, int | float) or not math.isfinite(when) or when < 0:
        raise TypeError(f"'timestamp' must be seconds since the epoch (a finite number >= 0), got {when!r}")
    headers = record.get("headers")
    if headers is None:
        headers = {}
    if not isinstance(headers, dict):
        raise TypeError(f"'headers' must be an object of text values, got {type(headers).__name__}")
    try:
        frozen = freeze_headers(headers)
    except EventDeckError as exc:
        raise TypeError(str(exc)) from None
    message = Message(
        _ident(record.get("id")),
        channel,
        kind,
        payload,
        _text(record, "content_type") or JSON,
        frozen,
        float(when),
        _text(record, "publisher"),
        _text(record, "correlation_id") or None,
        _text(record, "reply_to") or None,
    )
    return message, timed


def _text(record: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = record.get(name)
    if value is None:
        if required:
            raise ValueError(f"'{name}' is missing")
        return ""
    if not isinstance(value, str):
        raise TypeError(f"'{name}' must be text, got {type(value).__name__}")
    return value


def _ident(value: object) -> int:
    """The recorded id (a string of digits in envelopes, an int in hand-written lines; 0 when absent)."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise TypeError(f"'id' must be an integer or a string of digits, got {value!r}")


def _payload(record: dict[str, Any]) -> bytes:
    text = _text(record, "payload")
    is_base64 = record.get("base64", False)
    if not isinstance(is_base64, bool):
        raise TypeError(f"'base64' must be true or false, got {is_base64!r}")
    if not is_base64:
        return text.encode("utf-8", errors="surrogatepass")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("'payload' is not valid base64 (and 'base64' is true)") from None


# -- replay ---------------------------------------------------------------------------


def is_replayed(message: Message) -> bool:
    """True for what a replay sends: events and commands, not replies or ``$``-channel traffic."""
    return message.kind is not Kind.REPLY and not message.channel.startswith("$")


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
