"""Reading a topic again from a chosen position: where to start, in words a person can type, and the
interface a backend offers when it can (Kafka keeps its topics, so it can).

Kept apart from the Kafka connector so the GUI can check for the ability (``isinstance(backend,
TopicReader)``) and parse what the user typed without importing a client library.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

_AGO = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
OFFSET_FORMATS = "an offset for every partition (e.g. 1500) or PARTITION:OFFSET for one (e.g. 2:1500)"
TIME_FORMATS = (
    "a date and time such as 2026-03-01 14:30 (local time, or with a UTC offset) or a span ago: 90s, 15m, 2h, 1d"
)


@dataclass(frozen=True, slots=True)
class ReadStart:
    """Where to start reading a topic again: its beginning (the default), an ``offset`` or a ``time``.

    ``offset`` applies to every partition unless ``partition`` names one; ``time`` (seconds since the
    epoch) starts each partition at its first message from then on.
    """

    offset: int | None = None
    time: float | None = None
    partition: int | None = None

    def __post_init__(self) -> None:
        if self.offset is not None and self.time is not None:
            raise ValueError("read from an offset or from a time, not both")
        if self.offset is not None and self.offset < 0:
            raise ValueError(f"an offset is 0 or more, got {self.offset}")
        if self.partition is not None and self.partition < 0:
            raise ValueError(f"a partition is 0 or more, got {self.partition}")

    def describe(self) -> str:
        where = f" of partition {self.partition}" if self.partition is not None else ""
        if self.offset is not None:
            return f"from offset {self.offset:,}{where}"
        if self.time is not None:
            return f"from {datetime.fromtimestamp(self.time).isoformat(sep=' ', timespec='seconds')}{where}"
        return f"from the beginning{where}"


def parse_start_time(text: str, now: float | None = None) -> ReadStart:
    """What the user typed as a start time; ``ValueError`` says what is accepted."""
    stripped = text.strip()
    span = _AGO.fullmatch(stripped.removesuffix("ago").strip())
    if span is not None:
        return ReadStart(time=(time.time() if now is None else now) - float(span[1]) * _SECONDS[span[2].lower()])
    try:
        return ReadStart(time=datetime.fromisoformat(stripped).timestamp())  # no UTC offset given: local time
    except ValueError:
        raise ValueError(f"cannot read {stripped!r} as a time; type {TIME_FORMATS}") from None


def parse_start_offset(text: str) -> ReadStart:
    """``OFFSET`` (every partition) or ``PARTITION:OFFSET`` as typed; ``ValueError`` says what is accepted."""
    partition, _, offset = text.strip().rpartition(":")
    try:
        return ReadStart(offset=int(offset), partition=int(partition) if partition else None)
    except ValueError as exc:
        why = str(exc) if "is 0 or more" in str(exc) else f"cannot read {text.strip()!r} as an offset"
        raise ValueError(f"{why}; type {OFFSET_FORMATS}") from None


@runtime_checkable
class TopicReader(Protocol):
    """A backend that can read a topic again from an earlier (or later) position into its mirror."""

    async def read_from(self, channel: str, start: ReadStart) -> Mapping[int, int]:
        """Move the reading of ``channel`` to ``start``; returns the offset each partition restarts from."""
        ...
