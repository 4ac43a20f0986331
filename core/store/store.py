"""The broker's durable store: what the broker promised to keep, in an SQLite file (WAL) under a data directory.

The broker calls the plain methods (``enqueue``, ``settle``, ``retain`` ...) as things happen; they
cost a list append. Everything changed in one loop turn is committed as one transaction by the
writer thread (group commit), never one per message, and ``committed()`` is the future a publisher
awaits before its receipt: the message is on disk for every durable subscription that queued it.

``synchronous="full"`` (the default) makes each commit reach the disk before it counts: nothing
acknowledged is lost even if the power goes. ``"normal"`` is faster and still loses nothing when
only the process dies (``kill -9``), but a power cut may take the last commits.

A durable queue may be far longer than memory: past its window (see :mod:`.pages`) the broker leaves
new messages in the file only (``enqueue``'s ``paged``) and reads them back with ``read_page``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal, NamedTuple

from eventdeck.core.broker.message import Message
from eventdeck.core.store.errors import StoreError, StoreFull
from eventdeck.core.store.lock import DirectoryLock
from eventdeck.core.store.pages import WINDOW, WINDOW_BYTES, Pages, StoredState
from eventdeck.core.store.schema import connect, message_row
from eventdeck.core.store.writer import Batch, Op, Writer

FILE_NAME = "broker.sqlite3"
MAX_BYTES = 10 * 1024**3  # 10 GiB unless told otherwise
Synchronous = Literal["full", "normal"]


class SessionWrite(NamedTuple):
    """What changed of a session since it was last written: its record (None: the same), and its items by key,
    each a message with a state of its own (JSON), such as an MQTT session's messages in flight (None: gone)."""

    record: Any | None
    items: dict[int, tuple[Any, Message] | None]


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
    past it ``check_room`` raises ``StoreFull``. ``window`` and ``window_bytes`` bound what a durable
    subscription keeps in memory (its oldest messages); the rest wait in the file.
    """

    def __init__(self, directory: Path, lock: DirectoryLock, writer: Writer, pages: Pages, state: StoredState) -> None:
        self.directory = directory
        self.path = directory / FILE_NAME
        self.loaded = state
        """What the store held when it was opened (the broker takes it over once, at start)."""
        self.window = pages.window
        self.window_bytes = pages.window_bytes
        self._lock = lock
        self._writer = writer
        self._pages = pages
        self._batch = Batch()
        # This turn's durable messages by id, with the subscriptions keeping them: one settled before the commit
        # (a consumer keeping up took it at once) is never written, nor deleted.
        self._fresh: dict[int, list[str]] = {}
        self._sessions_due: dict[str, Callable[[], SessionWrite]] = {}  # client id -> its changes, at the next commit
        self._loop = asyncio.get_running_loop()
        self._submitted: asyncio.Future[None] = self._loop.create_future()  # the last batch handed to the writer
        self._submitted.set_result(None)
        self._closed = False

    @classmethod
    async def open(
        cls,
        directory: Path,
        *,
        synchronous: Synchronous = "full",
        max_bytes: int = MAX_BYTES,
        window: int = WINDOW,
        window_bytes: int = WINDOW_BYTES,
    ) -> Store:
        """Lock ``directory`` (created if missing), open or create its database and read it back (each durable
        queue's first ``window`` messages, and the counts of the rest)."""
        if synchronous not in ("full", "normal"):
            raise ValueError(f"synchronous must be 'full' or 'normal', got {synchronous!r}")
        for what, value in (("max_bytes", max_bytes), ("window", window), ("window_bytes", window_bytes)):
            if value < 1:
                raise ValueError(f"{what} must be at least 1, got {value!r}")
        pages = Pages(window, window_bytes)
        # One trip to a worker thread for the lock, the file and what it holds: each trip waits for a loop turn.
        lock, db, state = await asyncio.to_thread(_read_directory, directory, synchronous, pages)
        try:
            writer = Writer(db, asyncio.get_running_loop(), str(directory / FILE_NAME), max_bytes, pages)
        except BaseException:
            db.close()
            lock.release()
            raise
        return cls(directory, lock, writer, pages, state)

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
        await self.committed()
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

    def enqueue(self, message: Message, subscriptions: list[str], paged: Sequence[str] = ()) -> None:
        """``message`` was queued on ``subscriptions`` (kept in their memory window; the store owns this list from
        now on) and on ``paged`` (left in the file only: they are past their window)."""
        self._add(Op.ENQUEUE, (message, subscriptions, paged))
        self._fresh[message.id] = subscriptions  # made a row on the writer thread, off the loop

    def read_page(self, subscription: str, count: int, max_bytes: int, then: Callable[[list[Message]], object]) -> None:
        """Read the next messages ``subscription`` left in the file (up to ``count`` and ``max_bytes``, at least
        one), off the loop and after every change asked before; the loop calls ``then`` with them, oldest first."""
        self._add(
            Op.CALL, (partial(self._pages.read, subscription=subscription, count=count, max_bytes=max_bytes), then)
        )

    def delivered(self, subscription: str, message: Message, count: int) -> None:
        """``message`` was handed out ``count`` times (so far) on ``subscription`` and not settled yet."""
        self._add(Op.DELIVERED, (count, subscription, message.id))

    def settle(self, subscription: str, message: Message) -> None:
        """``subscription`` is done with ``message`` (acked, dropped or dead-lettered): delete it."""
        kept = self._fresh.get(message.id)
        if kept is not None and subscription in kept:
            kept.remove(subscription)  # not written yet: now it never will be
            return
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

    def put_session_later(self, client_id: str, state: Callable[[], SessionWrite]) -> None:
        """Write what ``state()`` says changed of ``client_id``'s session when this loop turn's changes are
        committed: in the same transaction as them, and once however often it changed meanwhile."""
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
            return self._submitted  # handed to the writer thread already (perhaps committed, perhaps not yet)
        if batch.done is None:
            batch.done = self._loop.create_future()
        return batch.done

    def _flush(self) -> None:
        due, self._sessions_due = self._sessions_due, {}
        ops = self._batch.ops
        for client_id, state in due.items():
            record, items = state()
            if record is not None:
                ops.append((Op.SESSION_PUT, (client_id, json.dumps(record))))
            for key, item in items.items():
                if item is None:
                    ops.append((Op.SESSION_ITEM_DROP, (client_id, key)))
                else:
                    ops.append((Op.SESSION_ITEM_PUT, (client_id, key, *item)))
        batch, self._batch = self._batch, Batch()
        self._fresh = {}  # the writer thread has them now
        if batch.ops:
            if batch.done is None:  # nobody waits for it yet: someone may, through committed()
                batch.done = self._loop.create_future()
                batch.done.add_done_callback(_seen)  # a failure is raised to those who wait, not logged as lost
            self._submitted = batch.done
            self._writer.submit(batch)

    async def close(self) -> None:
        """Commit what is pending, stop the writer thread, close the file and unlock the directory."""
        if self._closed:
            return
        self._flush()
        self._closed = True
        await asyncio.to_thread(self._writer.stop)
        self._lock.release()


def _read_directory(
    directory: Path, synchronous: Synchronous, pages: Pages
) -> tuple[DirectoryLock, sqlite3.Connection, StoredState]:
    """Lock ``directory``, open its database and read back what it holds (blocking: in a worker thread)."""
    lock = _lock(directory)
    try:
        db = connect(directory / FILE_NAME, synchronous=synchronous.upper())
        try:
            return lock, db, pages.load(db)
        except BaseException:
            db.close()
            raise
    except BaseException:
        lock.release()
        raise


def _lock(directory: Path) -> DirectoryLock:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot use {directory} as the broker's data directory: {exc.strerror or exc}") from None
    lock = DirectoryLock(directory)
    lock.acquire()
    return lock


def _seen(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


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
