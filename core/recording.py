"""Recordings: messages saved as JSON Lines, read back with line-exact errors, and replayed.

One message per line, a JSON object a person can read and ``jq`` can filter::

    {"time": 1764245420.485, "channel": "fridge/level", "kind": "event", "payload": "{\\"percent\\": 23}",
     "content_type": "application/json", "publisher": "fridge-sensor", "id": 1764245420485012345}

``payload`` holds UTF-8 text; a payload that is not UTF-8 goes in ``payload_base64`` instead.
``headers``, ``correlation_id`` and ``reply_to`` appear when the message has them.

Replaying sends the inputs of a system again (events, and commands, which get fresh replies)
and skips what the system makes by itself: replies and ``$``-channels (dead letters, reply
channels), because responders and failing subscribers produce those anew.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .backend import Backend
from .channels import validate_channel
from .errors import EventDeckError, InvalidChannel, RecordingError
from .message import JSON, Kind, Message, freeze_headers

SUFFIX = ".jsonl"
MAX_MESSAGES = 1_000_000  # a replay keeps the whole file in memory; these two bound it
MAX_BYTES = 1024**3
YIELD_EVERY = 256  # "as fast as possible" still lets the event loop (and the window) breathe
_KINDS = {kind.value: kind for kind in Kind}
_FIELDS = frozenset(
    {"time", "id", "channel", "kind", "payload", "payload_base64", "content_type", "publisher"}
    | {"headers", "correlation_id", "reply_to"}
)


def to_record(message: Message) -> dict[str, Any]:
    """The JSON object that stands for ``message`` on one line of a recording."""
    record: dict[str, Any] = {
        "time": message.timestamp,
        "channel": message.channel,
        "kind": message.kind.value,
    }
    try:
        record["payload"] = message.payload.decode("utf-8")
    except UnicodeDecodeError:
        record["payload_base64"] = base64.b64encode(message.payload).decode("ascii")
    record["content_type"] = message.content_type
    record["publisher"] = message.publisher
    if message.headers:
        record["headers"] = dict(message.headers)
    if message.correlation_id is not None:
        record["correlation_id"] = message.correlation_id
    if message.reply_to is not None:
        record["reply_to"] = message.reply_to
    record["id"] = message.id
    return record


def write_recording(path: str | os.PathLike[str], messages: Iterable[Message]) -> int:
    """Write ``messages`` to ``path`` as JSON Lines and return how many were written.

    The file is written beside its destination and renamed into place, so a failure
    (a full disk, say) never leaves half a recording over an existing file.
    """
    target = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    count = 0
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            for message in messages:
                out.write(json.dumps(to_record(message), ensure_ascii=False, separators=(",", ":")))
                out.write("\n")
                count += 1
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


def read_recording(path: str | os.PathLike[str], *, max_payload: int = 16 * 1024 * 1024) -> list[Message]:
    """Every message in the recording at ``path``, in file order.

    Raises ``RecordingError`` naming the file, the line and what is wrong with it, and
    returns nothing then: a recording is used whole or not at all. Blank lines are skipped.
    """
    source = Path(path)
    try:
        if source.stat().st_size > MAX_BYTES:
            raise RecordingError(f"{source}: larger than {MAX_BYTES // 1024**2:,} MiB; split the recording")
        data = source.read_bytes()
    except OSError as exc:
        raise RecordingError(f"{source}: cannot read it: {exc.strerror or exc}") from exc
    messages: list[Message] = []
    previous_time = 0.0
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        if len(messages) == MAX_MESSAGES:
            raise RecordingError(f"{source}: more than {MAX_MESSAGES:,} messages; split the recording")
        try:
            message = _from_line(raw, previous_time, max_payload)
        except (ValueError, TypeError) as exc:
            raise RecordingError(f"{source}, line {number}: {exc}") from None
        previous_time = message.timestamp
        messages.append(message)
    if not messages:
        raise RecordingError(f"{source}: no messages in it (a recording has one JSON object per line)")
    return messages


def _from_line(raw: bytes, previous_time: float, max_payload: int) -> Message:
    """One line as a Message; ValueError or TypeError with the reason (the caller adds file and line)."""
    try:
        record = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(record, dict):
        raise TypeError(f"expected a JSON object, got {type(record).__name__}")
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
    when = record.get("time", previous_time)
    if isinstance(when, bool) or not isinstance(when, int | float) or when < 0:
        raise TypeError(f"'time' must be seconds since the epoch (a number >= 0), got {when!r}")
    ident = record.get("id", 0)
    if isinstance(ident, bool) or not isinstance(ident, int):
        raise TypeError(f"'id' must be an integer, got {ident!r}")
    headers = record.get("headers") or {}
    if not isinstance(headers, dict):
        raise TypeError(f"'headers' must be an object of text values, got {type(headers).__name__}")
    try:
        frozen = freeze_headers(headers)
    except EventDeckError as exc:
        raise TypeError(str(exc)) from None
    return Message(
        ident,
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


def _text(record: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = record.get(name)
    if value is None:
        if required:
            raise ValueError(f"'{name}' is missing")
        return ""
    if not isinstance(value, str):
        raise TypeError(f"'{name}' must be text, got {type(value).__name__}")
    return value


def _payload(record: dict[str, Any]) -> bytes:
    if "payload" in record and "payload_base64" in record:
        raise ValueError("has both 'payload' and 'payload_base64'; keep one")
    if "payload_base64" in record:
        encoded = _text(record, "payload_base64")
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("'payload_base64' is not valid base64") from None
    return _text(record, "payload").encode("utf-8", errors="surrogatepass")


# -- replay ---------------------------------------------------------------------------


def is_replayed(message: Message) -> bool:
    """True for what a replay sends: events and commands, not replies or ``$``-channel traffic."""
    return message.kind is not Kind.REPLY and not message.channel.startswith("$")


@dataclass
class ReplayProgress:
    """How a replay is going; ``replay`` updates it as it goes, so a window can poll it."""

    total: int  # messages that will be sent
    skipped: int = 0  # replies and $-channel messages left out (the system makes them again)
    sent: int = 0
    commands: int = 0
    replied: int = 0
    failed: int = 0
    headers_dropped: bool = False  # the target broker carries no headers
    errors: list[str] = field(default_factory=list)  # the first few failure reasons

    def fail(self, reason: str) -> None:
        self.failed += 1
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


def plan_replay(messages: Sequence[Message]) -> tuple[list[Message], ReplayProgress]:
    """The messages a replay sends, and a fresh progress record for them."""
    todo = [message for message in messages if is_replayed(message)]
    return todo, ReplayProgress(total=len(todo), skipped=len(messages) - len(todo))


async def replay(
    target: Backend,
    messages: Sequence[Message],
    progress: ReplayProgress,
    *,
    speed: float | None = 1.0,
    reply_timeout: float = 5.0,
) -> ReplayProgress:
    """Publish ``messages`` (from ``plan_replay``) to ``target``, keeping their gaps divided by ``speed``.

    ``speed=None`` sends as fast as the broker takes them. Commands are sent as commands
    and their replies counted without holding up the messages after them. A message the
    broker refuses is counted in ``progress.failed`` with the reason; the replay goes on.
    Cancelling stops it (what was sent stays sent).
    """
    if speed is not None and speed <= 0:
        raise ValueError(f"speed must be > 0 (or None for as fast as possible), got {speed}")
    keep_headers = target.capabilities.headers
    loop = asyncio.get_running_loop()
    started = loop.time()
    first = messages[0].timestamp if messages else 0.0
    commands: set[asyncio.Task[None]] = set()
    try:
        for index, message in enumerate(messages):
            if speed is not None:
                delay = started + (message.timestamp - first) / speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif index % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
            headers = message.headers if keep_headers else None
            progress.headers_dropped |= bool(message.headers) and not keep_headers
            if message.kind is Kind.COMMAND:
                progress.commands += 1
                task = asyncio.create_task(_command(target, message, headers, reply_timeout, progress))
                commands.add(task)
                task.add_done_callback(commands.discard)
            else:
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
                    continue
            progress.sent += 1
        if commands:
            await asyncio.gather(*commands)
    finally:
        for task in commands:
            task.cancel()
    return progress


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
    except EventDeckError as exc:
        progress.fail(str(exc))
    else:
        progress.replied += 1
