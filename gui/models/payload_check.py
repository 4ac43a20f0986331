"""What the composer checks before it sends, and its per-channel history (no widgets here).

Every check returns a sentence for the person at the keyboard, or ``None`` when all is well,
so the panel only decides where to show it.
"""

from __future__ import annotations

import contextlib
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from eventdeck.core import InvalidChannel, is_broker_channel, validate_channel
from eventdeck.core.broker.json_input import json_problem as core_json_problem
from eventdeck.core.broker.message import is_json_type
from eventdeck.gui.widgets.small import format_size

HISTORY_PER_CHANNEL = 20
MAX_FORMAT_CHARS = 4 * 1024 * 1024  # beyond this, the panel does not parse JSON it was not asked to check


def json_problem(text: str) -> str | None:
    """``"Invalid JSON: <msg> at line L, column C"``, or None if ``text`` parses (blank text counts as empty).

    The same rule as the gateways' (``eventdeck.core.broker.json_input``): NaN and Infinity are refused.
    """
    return core_json_problem(text) if text.strip() else None


def channel_problem(channel: str) -> str | None:
    """Why ``channel`` cannot be published to (``InvalidChannel.reason``, or a broker-owned ``$`` channel), or None."""
    if is_broker_channel(channel):
        return "channels starting with $ belong to the broker ($dead/…, $reply/…); publish to a channel of your own"
    try:
        validate_channel(channel)
    except InvalidChannel as exc:
        return exc.reason
    return None


def size_problem(size: int, limit: int) -> str | None:
    """A sentence naming the size and the limit when ``size`` exceeds ``limit``."""
    if size <= limit:
        return None
    return f"Payload too large: {format_size(size)} exceeds the broker's limit of {format_size(limit)}"


def pretty_json(text: str) -> str | None:
    """``text`` re-indented with 2 spaces (non-ASCII kept), or None if it is not JSON."""
    try:
        value: Any = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    return json.dumps(value, indent=2, ensure_ascii=False)


def one_line(text: str, limit: int = 120) -> str:
    """``text`` on one line (runs of whitespace collapsed), cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text[: limit * 4].split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of checking a composed message: ``problems`` empty means it may be sent."""

    payload: bytes
    problems: tuple[str, ...] = ()
    channel_empty: bool = False
    json_ok: bool = False  # the payload parses as JSON (whatever the content type)

    @property
    def ok(self) -> bool:
        return not self.problems

    def reason(self) -> str:
        return "\n".join(self.problems)


def check(channel: str, text: str, content_type: str, max_payload: int) -> Verdict:
    """Check channel, JSON (for JSON content types) and size, in that order; all problems are reported."""
    problems: list[str] = []
    bad_channel = channel_problem(channel)
    if bad_channel is not None:
        problems.append(f"Channel: {bad_channel}")
    payload = text.encode("utf-8", errors="surrogatepass")
    bad_json = json_problem(text) if is_json_type(content_type) else None
    if bad_json is not None:
        problems.append(bad_json)
    too_big = size_problem(len(payload), max_payload)
    if too_big is not None:
        problems.append(too_big)
    if not text.strip():
        json_ok = False
    elif is_json_type(content_type):
        json_ok = bad_json is None
    else:
        json_ok = len(text) <= MAX_FORMAT_CHARS and json_problem(text) is None
    return Verdict(payload, tuple(problems), channel_empty=not channel, json_ok=json_ok)


@dataclass
class History:
    """Sent payloads per channel: most recent first, without duplicates, at most ``per_channel`` each."""

    per_channel: int = HISTORY_PER_CHANNEL
    _entries: dict[str, deque[str]] = field(default_factory=dict)

    def record(self, channel: str, text: str) -> None:
        entries = self._entries.setdefault(channel, deque(maxlen=self.per_channel))
        with contextlib.suppress(ValueError):
            entries.remove(text)
        entries.appendleft(text)

    def for_channel(self, channel: str) -> list[str]:
        return list(self._entries.get(channel, ()))

    def channels(self) -> list[str]:
        return sorted(self._entries)
