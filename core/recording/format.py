"""The recording format: messages saved as JSON Lines, read back with line-exact errors.

One message per line, in the HTTP gateway's envelope (``core/gateways/http/envelope.py``), so what
``curl -N localhost:8080/subscribe`` or a WebSocket client prints can be replayed as well::

    {"id":"1764245420485012345","channel":"fridge/level","kind":"event","publisher":"fridge-sensor",
     "content_type":"application/json","headers":{},"payload":"{\\"percent\\": 23}","base64":false,
     "correlation_id":null,"reply_to":null,"timestamp":1764245420.485}

Only ``channel`` is required when writing one by hand; a line without ``timestamp`` is
sent right after the line before it (lines before the first timestamp, with it). WebSocket frames
of other types are skipped, and Server-Sent Events are read from their ``data:`` lines.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import math
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from eventdeck.core.broker.channels import validate_channel
from eventdeck.core.broker.errors import EventDeckError, InvalidChannel
from eventdeck.core.broker.message import JSON, Kind, Message, freeze_headers
from eventdeck.core.gateways.http.envelope import dumps, envelope
from eventdeck.core.recording.errors import RecordingError

MAX_MESSAGES = 1_000_000  # a replay holds the whole recording in memory; these two bound it
MAX_BYTES = 1024**3
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
        # Never replace a file, least of all the recording of a run that crashed; a pipe or a device
        # (/dev/stdout, a FIFO another program reads) is written to as it is.
        mode = "w" if self.path.exists() and not self.path.is_file() else "x"
        self._out = self.path.open(mode, encoding="utf-8", newline="\n")

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
