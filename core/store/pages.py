"""Durable queues longer than memory: what the store loads at open, and the pages it reads back later.

A durable subscription keeps at most a window of its oldest messages in memory (``window`` messages,
``window_bytes`` payload bytes); newer ones wait in the file only and are read back, in the order
they were queued, a page at a time as the window drains. :class:`Pages` runs on the writer thread,
between the batches it commits, so a page holds everything queued before it was asked for.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from eventdeck.core.broker.message import Message
from eventdeck.core.store.schema import message_row, row_message

WINDOW = 4_096  # messages of a durable subscription kept in memory
WINDOW_BYTES = 8 * 1024 * 1024  # and their payload bytes (a single larger message is kept all the same)

_REDELIVERIES = (
    "SELECT q.delivered, m.* FROM queued q JOIN messages m ON m.id = q.id "
    "WHERE q.subscription = ? AND q.delivered > 0 ORDER BY q.seq"
)
_NEXT = (
    "SELECT q.seq, m.* FROM queued q JOIN messages m ON m.id = q.id "
    "WHERE q.subscription = ? AND q.seq > ? AND q.delivered = 0 ORDER BY q.seq LIMIT ?"
)


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    """A durable subscription as stored: its options, its first messages with their delivery counts (those
    handed out before, then the oldest others up to the window), and what waits after them in the file."""

    name: str
    pattern: str
    options: dict[str, Any]
    messages: list[tuple[Message, int]] = field(default_factory=list)
    paged: int = 0  # messages left in the file, read back as the queue drains
    paged_bytes: int = 0  # their payload bytes


@dataclass(frozen=True, slots=True)
class StoredState:
    """Everything a broker starting on the store brings back."""

    subscriptions: list[StoredSubscription]
    retained: list[Message]
    channels: list[tuple[str, str]]  # name, description
    sessions: dict[str, Any]  # MQTT client id -> its session state (JSON)
    session_items: dict[str, dict[int, tuple[Any, Message]]]  # MQTT client id -> its items (state, message) by key


class Pages:
    """Numbers queued rows and remembers, per durable subscription, the last row it has in memory (its cursor):
    the rows after it are the ones waiting in the file. Used on the writer thread only."""

    def __init__(self, window: int, window_bytes: int) -> None:
        self.window = window
        self.window_bytes = window_bytes
        self._seq = 0
        self._cursors: dict[str, int] = {}

    def enqueue(self, db: sqlite3.Connection, items: list[tuple[Message, list[str], list[str]]]) -> None:
        """Insert messages and their ``queued`` rows: for the subscriptions that keep them in memory (their
        cursor moves on) and for those that left them in the file only."""
        db.executemany(
            "INSERT OR IGNORE INTO messages VALUES (?,?,?,?,?,?,?,?,?,?)",
            [message_row(m) for m, kept, paged in items if kept or paged],
        )
        seq, cursors, rows = self._seq, self._cursors, []
        for message, kept, paged in items:
            ident, size = message.id, len(message.payload)
            for name in kept:
                seq += 1
                rows.append((name, seq, ident, size))
                cursors[name] = seq
            for name in paged:
                seq += 1
                rows.append((name, seq, ident, size))
        self._seq = seq
        db.executemany("INSERT OR REPLACE INTO queued VALUES (?,?,?,?,0)", rows)

    def forget(self, names: list[str] | None) -> None:
        """Drop the cursors of subscriptions whose rows were deleted (None: all of them)."""
        if names is None:
            self._cursors.clear()
        for name in names or ():
            self._cursors.pop(name, None)

    def read(self, db: sqlite3.Connection, subscription: str, count: int, max_bytes: int) -> list[Message]:
        """The next messages of ``subscription`` waiting in the file, oldest first (at least one if any waits):
        up to ``count`` of them and ``max_bytes`` of payload. They count as in memory from now on."""
        page: list[Message] = []
        total, cursor = 0, self._cursors.get(subscription, 0)
        for seq, *row in db.execute(_NEXT, (subscription, cursor, count)):
            size = len(row[3])
            if page and total + size > max_bytes:
                break
            page.append(row_message(row))
            total += size
            cursor = seq
        self._cursors[subscription] = cursor
        return page

    def load(self, db: sqlite3.Connection) -> StoredState:
        """What the file holds, with each subscription's first page only (and the counts of the rest)."""
        self._seq = db.execute("SELECT coalesce(max(seq), 0) FROM queued").fetchone()[0]
        self._cursors = {}
        subscriptions = [
            self._load_queue(db, name, pattern, json.loads(options))
            for name, pattern, options in db.execute("SELECT name, pattern, options FROM subscriptions ORDER BY rowid")
        ]
        retained = [
            row_message((ident, channel, *rest))
            for channel, ident, *rest in db.execute("SELECT * FROM retained ORDER BY channel")
        ]
        channels = list(db.execute("SELECT name, description FROM channels ORDER BY name"))
        sessions = {client: json.loads(state) for client, state in db.execute("SELECT client_id, state FROM sessions")}
        items: dict[str, dict[int, tuple[Any, Message]]] = {}
        for client, key, state, *row in db.execute("SELECT * FROM session_items ORDER BY client_id, key"):
            items.setdefault(client, {})[key] = (json.loads(state), row_message(row))
        return StoredState(subscriptions, retained, channels, sessions, items)

    def _load_queue(
        self, db: sqlite3.Connection, name: str, pattern: str, options: dict[str, Any]
    ) -> StoredSubscription:
        count, size = db.execute(
            "SELECT count(*), coalesce(sum(size), 0) FROM queued WHERE subscription = ?", (name,)
        ).fetchone()
        messages = [(row_message(row), delivered) for delivered, *row in db.execute(_REDELIVERIES, (name,))]
        messages += [(message, 0) for message in self.read(db, name, self.window, self.window_bytes)]
        loaded = sum(len(message.payload) for message, _delivered in messages)
        return StoredSubscription(name, pattern, options, messages, count - len(messages), size - loaded)
