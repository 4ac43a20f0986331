"""The broker's durable store: what the broker promised to keep, in an SQLite file (WAL) under a data directory.

The broker calls the plain methods (``enqueue``, ``settle``, ``retain`` ...) as things happen; they
cost a list append. Everything changed in one loop turn is committed as one transaction by the
writer thread (group commit), never one per message, and ``committed()`` is the future a publisher
awaits before its receipt: the message is on disk for every durable subscription that queued it.

``synchronous="full"`` (the default) makes each commit reach the disk before it counts: nothing
acknowledged is lost even if the power goes. ``"normal"`` is faster and still loses nothing when
only the process dies (``kill -9``), but a power cut may take the last commits.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from eventdeck.core.broker.message import Message
from eventdeck.core.store.errors import StoreError, StoreFull
from eventdeck.core.store.lock import DirectoryLock
from eventdeck.core.store.schema import connect, message_row, row_message
from eventdeck.core.store.writer import Batch, Op, Writer

FILE_NAME = "broker.sqlite3"
MAX_BYTES = 10 * 1024**3  # 10 GiB unless told otherwise
Synchronous = Literal["full", "normal"]


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    """A durable subscription as stored: its options, and its messages oldest first with their delivery counts."""

    name: str
    pattern: str
    options: dict[str, Any]
    messages: list[tuple[Message, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoredState:
    """Everything a broker starting on the store brings back."""

    subscriptions: list[StoredSubscription]
    retained: list[Message]
    channels: list[tuple[str, str]]  # name, description
    sessions: dict[str, Any]  # MQTT client id -> its session state (JSON)


@dataclass(frozen=True, slots=True)
class StoredCounts:
    """What the store holds on disk now (File > Broker data…), and the bytes its files take."""

    subscriptions: int
    queued: int  # (subscription, message) pairs: a message two durable subscriptions wait for counts twice
    retained: int
    sessions: int
    file_bytes: int  # the database file and its write-ahead log


class Store:
    """An open data directory. Create with ``await Store.open(directory)``; ``await close()`` when done.

    Only one process may have a directory open (``StoreLocked``); a file that is not a sound
    EventDeck store is refused (``StoreRefused``) and never touched. ``max_bytes`` caps the data:
    past it ``check_room`` raises ``StoreFull``.
    """

    def __init__(self, directory: Path, lock: DirectoryLock, writer: Writer, state: StoredState) -> None:
        self.directory = directory
        self.path = directory / FILE_NAME
        self.loaded = state
        """What the store held when it was opened (the broker takes it over once, at start)."""
        self._lock = lock
        self._writer = writer
        self._batch = Batch()
        self._sessions_due: dict[str, Callable[[], Any]] = {}  # client id -> its state, taken at the next commit
        self._loop = asyncio.get_running_loop()
        self._closed = False

    @classmethod
    async def open(cls, directory: Path, *, synchronous: Synchronous = "full", max_bytes: int = MAX_BYTES) -> Store:
        """Lock ``directory`` (created if missing), open or create its database and read it back."""
        if synchronous not in ("full", "normal"):
            raise ValueError(f"synchronous must be 'full' or 'normal', got {synchronous!r}")
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, got {max_bytes!r}")
        lock = await asyncio.to_thread(_lock, directory)
        loop = asyncio.get_running_loop()
        try:
            db = await asyncio.to_thread(connect, directory / FILE_NAME, synchronous=synchronous.upper())
            state = await asyncio.to_thread(_load, db)
            writer = Writer(db, loop, str(directory / FILE_NAME), max_bytes)
        except BaseException:
            lock.release()
            raise
        return cls(directory, lock, writer, state)

    @property
    def size(self) -> int:
        """Bytes of data in the file (as of the last commit)."""
        return self._writer.size

    @property
    def max_bytes(self) -> int:
        return self._writer.max_bytes

    @property
    def commits(self) -> int:
        """Transactions committed so far (each holds everything one or more loop turns changed)."""
        return self._writer.commits

    async def counts(self) -> StoredCounts:
        """Count what is on disk once everything changed so far is committed (read-only, off the loop)."""
        if self._closed:
            raise StoreError(f"the store {self.path} is closed")
        # committed() only covers changes not yet handed to the writer: an empty batch queued behind the
        # ones already handed over resolves once they are committed too.
        self._flush()
        done: asyncio.Future[None] = self._loop.create_future()
        self._writer.submit(Batch(done=done))
        await done
        return await asyncio.to_thread(_count, self.path)

    def check_room(self) -> None:
        """``StoreFull`` if the data reached ``max_bytes``."""
        if self._writer.size >= self._writer.max_bytes:
            raise StoreFull(str(self.path), self._writer.size, self._writer.max_bytes)

    # -- changes (each costs an append; committed with the rest of this loop turn) --

    def _add(self, op: Op, payload: Any) -> None:
        if self._closed:
            raise StoreError(f"the store {self.path} is closed")
        ops = self._batch.ops
        if not ops and not self._sessions_due:
            self._loop.call_soon(self._flush)
        ops.append((op, payload))

    def enqueue(self, message: Message, subscriptions: list[str]) -> None:
        self._add(Op.ENQUEUE, (message_row(message), subscriptions))

    def delivered(self, subscription: str, message: Message, count: int) -> None:
        """``message`` was handed out ``count`` times (so far) on ``subscription`` and not settled yet."""
        self._add(Op.DELIVERED, (count, subscription, message.id))

    def settle(self, subscription: str, message: Message) -> None:
        """``subscription`` is done with ``message`` (acked, dropped or dead-lettered): delete it."""
        self._add(Op.SETTLE, (subscription, message.id))

    def add_subscription(self, name: str, pattern: str, options: dict[str, Any]) -> None:
        self._add(Op.SUBSCRIBE, (name, pattern, json.dumps(options)))

    def remove_subscription(self, name: str) -> None:
        self._add(Op.UNSUBSCRIBE, name)

    def retain(self, message: Message) -> None:
        ident, channel, *rest = message_row(message)
        self._add(Op.RETAIN, (channel, ident, *rest))

    def clear_retained(self, channel: str) -> None:
        self._add(Op.UNRETAIN, channel)

    def declare(self, channel: str, description: str) -> None:
        self._add(Op.DECLARE, (channel, description))

    def put_session_later(self, client_id: str, state: Callable[[], Any]) -> None:
        """Write ``client_id``'s session as ``state()`` gives it when this loop turn's changes are committed:
        in the same transaction as them, and once however often it changed meanwhile."""
        if self._closed:
            raise StoreError(f"the store {self.path} is closed")
        if not self._batch.ops and not self._sessions_due:
            self._loop.call_soon(self._flush)
        self._sessions_due[client_id] = state

    def drop_session(self, client_id: str) -> None:
        self._sessions_due.pop(client_id, None)
        self._add(Op.SESSION_DROP, client_id)

    def clear(self) -> None:
        """Forget everything stored (File > Broker data… > Clear); the file stays, emptied and compacted later."""
        self._add(Op.CLEAR, None)

    def committed(self) -> asyncio.Future[None]:
        """Resolves once everything changed so far is on disk (at once if nothing is pending)."""
        batch = self._batch
        if not batch.ops and not self._sessions_due:
            done: asyncio.Future[None] = self._loop.create_future()
            done.set_result(None)
            return done
        if batch.done is None:
            batch.done = self._loop.create_future()
        return batch.done

    def _flush(self) -> None:
        due, self._sessions_due = self._sessions_due, {}
        for client_id, state in due.items():
            self._batch.ops.append((Op.SESSION_PUT, (client_id, json.dumps(state()))))
        batch, self._batch = self._batch, Batch()
        if batch.ops:
            self._writer.submit(batch)

    async def close(self) -> None:
        """Commit what is pending, stop the writer thread, close the file and unlock the directory."""
        if self._closed:
            return
        self._flush()
        self._closed = True
        await asyncio.to_thread(self._writer.stop)
        self._lock.release()


def _lock(directory: Path) -> DirectoryLock:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot use {directory} as the broker's data directory: {exc.strerror or exc}") from None
    lock = DirectoryLock(directory)
    lock.acquire()
    return lock


def _load(db: Any) -> StoredState:
    subscriptions: dict[str, StoredSubscription] = {
        name: StoredSubscription(name, pattern, json.loads(options))
        for name, pattern, options in db.execute("SELECT name, pattern, options FROM subscriptions ORDER BY rowid")
    }
    rows = db.execute(
        "SELECT q.subscription, q.delivered, m.* FROM queued q JOIN messages m ON m.id = q.id "
        "ORDER BY q.subscription, q.id"
    )
    for name, delivered, *message in rows:
        stored = subscriptions.get(name)
        if stored is not None:
            stored.messages.append((row_message(message), delivered))
    retained = [
        row_message((ident, channel, *rest))
        for channel, ident, *rest in db.execute("SELECT * FROM retained ORDER BY channel")
    ]
    channels = list(db.execute("SELECT name, description FROM channels ORDER BY name"))
    sessions = {client: json.loads(state) for client, state in db.execute("SELECT client_id, state FROM sessions")}
    return StoredState(list(subscriptions.values()), retained, channels, sessions)


def _count(path: Path) -> StoredCounts:
    # A reader of its own: the writer thread keeps its connection, and WAL lets a reader in beside it.
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        subscriptions, queued, retained, sessions = (
            db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # fixed table names
            for table in ("subscriptions", "queued", "retained", "sessions")
        )
    finally:
        db.close()
    wal = path.with_name(path.name + "-wal")
    file_bytes = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    return StoredCounts(subscriptions, queued, retained, sessions, file_bytes)
