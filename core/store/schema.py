"""The database file: its tables, the checks that refuse a file that is not ours, and message rows.

Messages live once in ``messages`` however many durable subscriptions queued them; ``queued`` holds
one row per (subscription, message) with how many times it was delivered, so a redelivery count
survives a restart. A message row goes when its last ``queued`` row does. ``queued.seq`` numbers the
rows in the order they were queued (a delayed message keeps its older id), so a subscription's queue
reads back in its own order a page at a time; ``size`` (the payload's) counts a queue without reading it.
A session (an MQTT client's) is a row in ``sessions`` and, for the messages it holds that come and go one
by one (in flight, by packet id), a row each in ``session_items``: a commit writes only what changed.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import MappingProxyType
from typing import Any

from eventdeck.core.broker.message import EMPTY_HEADERS, Kind, Message
from eventdeck.core.store.errors import StoreRefused

APPLICATION_ID = 0x45764B31  # "EvK1": marks the file as EventDeck's broker store
VERSION = 3  # 2: queued gained seq and size; 3: session_items (older files are upgraded on open)
SQLITE_HEADER = b"SQLite format 3\x00"

TABLES = """
CREATE TABLE subscriptions (name TEXT PRIMARY KEY, pattern TEXT NOT NULL, options TEXT NOT NULL);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY, channel TEXT NOT NULL, kind TEXT NOT NULL, payload BLOB NOT NULL,
    content_type TEXT NOT NULL, headers TEXT, timestamp REAL NOT NULL, publisher TEXT NOT NULL,
    correlation_id TEXT, reply_to TEXT);
CREATE TABLE queued (
    subscription TEXT NOT NULL, seq INTEGER NOT NULL, id INTEGER NOT NULL, size INTEGER NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (subscription, seq)) WITHOUT ROWID;
CREATE UNIQUE INDEX queued_by_message ON queued (id, subscription);
CREATE TABLE retained (
    channel TEXT PRIMARY KEY, id INTEGER NOT NULL, kind TEXT NOT NULL, payload BLOB NOT NULL,
    content_type TEXT NOT NULL, headers TEXT, timestamp REAL NOT NULL, publisher TEXT NOT NULL,
    correlation_id TEXT, reply_to TEXT);
CREATE TABLE channels (name TEXT PRIMARY KEY, description TEXT NOT NULL);
CREATE TABLE sessions (client_id TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE session_items (
    client_id TEXT NOT NULL, key INTEGER NOT NULL, state TEXT NOT NULL, id INTEGER NOT NULL, channel TEXT NOT NULL,
    kind TEXT NOT NULL, payload BLOB NOT NULL, content_type TEXT NOT NULL, headers TEXT, timestamp REAL NOT NULL,
    publisher TEXT NOT NULL, correlation_id TEXT, reply_to TEXT, PRIMARY KEY (client_id, key)) WITHOUT ROWID;
"""

# Version 1 had no seq (its queues were read back in id order: so is the upgrade) and no size.
UPGRADE_FROM_1 = """
CREATE TABLE queued_v2 (
    subscription TEXT NOT NULL, seq INTEGER NOT NULL, id INTEGER NOT NULL, size INTEGER NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (subscription, seq)) WITHOUT ROWID;
INSERT INTO queued_v2 SELECT q.subscription, q.id, q.id, length(m.payload), q.delivered
    FROM queued q JOIN messages m ON m.id = q.id;
DROP TABLE queued;
ALTER TABLE queued_v2 RENAME TO queued;
CREATE UNIQUE INDEX queued_by_message ON queued (id, subscription);
"""

# Version 2 kept a session in one row only.
UPGRADE_FROM_2 = """
CREATE TABLE session_items (
    client_id TEXT NOT NULL, key INTEGER NOT NULL, state TEXT NOT NULL, id INTEGER NOT NULL, channel TEXT NOT NULL,
    kind TEXT NOT NULL, payload BLOB NOT NULL, content_type TEXT NOT NULL, headers TEXT, timestamp REAL NOT NULL,
    publisher TEXT NOT NULL, correlation_id TEXT, reply_to TEXT, PRIMARY KEY (client_id, key)) WITHOUT ROWID;
"""
UPGRADES = {1: UPGRADE_FROM_1 + UPGRADE_FROM_2, 2: UPGRADE_FROM_2}

MessageRow = tuple[int, str, str, bytes, str, str | None, float, str, str | None, str | None]


# The headers last encoded, and their JSON: messages in a row often share one headers object (an MQTT
# gateway's QoS header), and this runs twice for each message of a durable MQTT session (queued, in flight).
_last_headers: tuple[object, str | None] = (EMPTY_HEADERS, None)


def message_row(message: Message) -> MessageRow:
    global _last_headers  # noqa: PLW0603 - a one-entry cache: a pair replaced whole, so any thread sees a sound one
    headers = message.headers
    last, encoded = _last_headers
    if headers is not last:
        encoded = json.dumps(dict(headers)) if headers else None
        _last_headers = (headers, encoded)
    return (
        message.id,
        message.channel,
        message.kind.value,
        message.payload,
        message.content_type,
        encoded,
        message.timestamp,
        message.publisher,
        message.correlation_id,
        message.reply_to,
    )


def row_message(row: tuple[Any, ...]) -> Message:
    ident, channel, kind, payload, content_type, headers, timestamp, publisher, correlation_id, reply_to = row
    return Message(
        ident,
        channel,
        Kind(kind),
        bytes(payload),
        content_type,
        EMPTY_HEADERS if headers is None else MappingProxyType(json.loads(headers)),
        timestamp,
        publisher,
        correlation_id,
        reply_to,
    )


def connect(path: Path, *, synchronous: str) -> sqlite3.Connection:
    """Open (or create) the store at ``path``: refused, and left as it is, if it is not a sound EventDeck store."""
    existed = path.exists() and path.stat().st_size > 0
    if existed:
        _check_header(path)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        if existed:
            upgrade = UPGRADES.get(_check_contents(connection, path))
            if upgrade is not None:
                connection.executescript(f"BEGIN;{upgrade}PRAGMA user_version = {VERSION};COMMIT;")
        else:
            connection.executescript("PRAGMA auto_vacuum = INCREMENTAL;")  # before the first table
            connection.executescript(
                f"BEGIN;{TABLES}PRAGMA application_id = {APPLICATION_ID};PRAGMA user_version = {VERSION};COMMIT;"
            )
        if connection.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
            raise StoreRefused(f"{path}: SQLite cannot use write-ahead logging there (a network drive?)")
        connection.execute(f"PRAGMA synchronous = {synchronous}")
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise StoreRefused(f"{path} is not a usable EventDeck store ({exc}); it was left as it is") from None
    except BaseException:
        connection.close()
        raise
    return connection


def _check_header(path: Path) -> None:
    with path.open("rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise StoreRefused(
            f"{path} is not an SQLite database (it starts with {header[:8]!r}); it was left as it is: "
            "move it away or give another --data directory"
        )


def _check_contents(connection: sqlite3.Connection, path: Path) -> int:
    """The version of a sound EventDeck store at ``path``; ``StoreRefused`` for anything else."""
    application_id = connection.execute("PRAGMA application_id").fetchone()[0]
    if application_id != APPLICATION_ID:
        raise StoreRefused(
            f"{path} is an SQLite database of another program (application_id {application_id:#x}); "
            "it was left as it is: give EventDeck a directory of its own"
        )
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > VERSION:
        raise StoreRefused(
            f"{path} was written by a newer EventDeck (store version {version}, this one reads {VERSION})"
        )
    problems = [row[0] for row in connection.execute("PRAGMA quick_check(5)")]
    if problems != ["ok"]:
        raise StoreRefused(f"{path} is corrupt ({'; '.join(problems)}); it was left as it is for inspection or repair")
    return int(version)
