"""The store's writer thread: it owns the SQLite connection and commits each batch of changes in one transaction.

The event loop never waits for SQLite: it hands over a batch (``Batch``) and gets its outcome back
through ``call_soon_threadsafe``. Batches that queue up while a commit runs are committed together
(group commit). Between batches, when nothing waits, the thread gives freed pages back to the file
system a slice at a time (incremental vacuum) once that frees enough to pay. A batch may also carry
reads (``Op.CALL``: a page of a durable queue): they run in order with its
changes, so they see everything asked before them, and their results go back to the loop after the commit.
"""

from __future__ import annotations

import asyncio
import enum
import json
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from eventdeck.core.store.errors import StoreError, StoreFull
from eventdeck.core.store.pages import Pages
from eventdeck.core.store.schema import message_row

VACUUM_PAGES = 2_000  # pages freed per slice, so a batch never waits long behind compaction
VACUUM_WORTH = 8 * 1024 * 1024  # free bytes worth giving back (and at least a quarter of the file)


class Op(enum.IntEnum):
    ENQUEUE = 1  # (message, names of subscriptions keeping it in memory, names of those leaving it in the file)
    DELIVERED = 2  # (delivered count, subscription, message id)
    SETTLE = 3  # (subscription, message id): acked, dropped or dead-lettered
    SUBSCRIBE = 4  # (name, pattern, options JSON)
    UNSUBSCRIBE = 5  # name
    RETAIN = 6  # message row (its channel is the key)
    UNRETAIN = 7  # channel
    DECLARE = 8  # (channel, description)
    SESSION_PUT = 9  # (client id, state JSON)
    SESSION_DROP = 10  # client id
    CLEAR = 11  # None: forget everything
    CALL = 12  # (function of the connection, callback the loop calls with its result after the commit)
    SESSION_ITEM_PUT = 13  # (client id, key, state, message): made a row here, off the loop
    SESSION_ITEM_DROP = 14  # (client id, key)


@dataclass
class Batch:
    """Changes made during one loop turn, and the future their commit resolves."""

    ops: list[tuple[Op, Any]] = field(default_factory=list)
    done: asyncio.Future[None] | None = None


_ORPHANS = "DELETE FROM messages WHERE id = ? AND NOT EXISTS (SELECT 1 FROM queued WHERE queued.id = messages.id)"


def _settle(db: sqlite3.Connection, items: list[Any]) -> None:
    db.executemany("DELETE FROM queued WHERE subscription = ? AND id = ?", items)
    db.executemany(_ORPHANS, [(ident,) for _sub, ident in items])


def _unsubscribe(db: sqlite3.Connection, items: list[Any]) -> None:
    names = [(name,) for name in items]
    db.executemany("DELETE FROM subscriptions WHERE name = ?", names)
    db.executemany("DELETE FROM queued WHERE subscription = ?", names)
    db.execute("DELETE FROM messages WHERE NOT EXISTS (SELECT 1 FROM queued WHERE queued.id = messages.id)")


def _put_session_items(db: sqlite3.Connection, items: list[Any]) -> None:
    rows = [(client_id, key, json.dumps(state), *message_row(message)) for client_id, key, state, message in items]
    db.executemany("INSERT OR REPLACE INTO session_items VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)


def _drop_sessions(db: sqlite3.Connection, items: list[Any]) -> None:
    client_ids = [(client_id,) for client_id in items]
    db.executemany("DELETE FROM sessions WHERE client_id = ?", client_ids)
    db.executemany("DELETE FROM session_items WHERE client_id = ?", client_ids)


def _clear(db: sqlite3.Connection, _items: list[Any]) -> None:
    for table in ("queued", "messages", "subscriptions", "retained", "channels", "sessions", "session_items"):
        db.execute(f"DELETE FROM {table}")  # fixed table names


def _many(sql: str) -> Callable[[sqlite3.Connection, list[Any]], None]:
    def run(db: sqlite3.Connection, items: list[Any]) -> None:
        db.executemany(sql, [item if isinstance(item, tuple) else (item,) for item in items])

    return run


# The plain changes; the writer adds those that move its Pages' cursors (and runs Op.CALL itself).
HANDLERS: dict[Op, Callable[[sqlite3.Connection, list[Any]], None]] = {
    Op.DELIVERED: _many("UPDATE queued SET delivered = ? WHERE subscription = ? AND id = ?"),
    Op.SETTLE: _settle,
    Op.SUBSCRIBE: _many("INSERT OR REPLACE INTO subscriptions VALUES (?,?,?)"),
    Op.RETAIN: _many("INSERT OR REPLACE INTO retained VALUES (?,?,?,?,?,?,?,?,?,?)"),
    Op.UNRETAIN: _many("DELETE FROM retained WHERE channel = ?"),
    Op.DECLARE: _many("INSERT OR REPLACE INTO channels VALUES (?,?)"),
    Op.SESSION_PUT: _many("INSERT OR REPLACE INTO sessions VALUES (?,?)"),
    Op.SESSION_DROP: _drop_sessions,
    Op.SESSION_ITEM_PUT: _put_session_items,
    Op.SESSION_ITEM_DROP: _many("DELETE FROM session_items WHERE client_id = ? AND key = ?"),
}


class Writer:
    """The thread that owns ``db``; ``submit`` batches from the loop, ``stop`` after the last one."""

    def __init__(
        self, db: sqlite3.Connection, loop: asyncio.AbstractEventLoop, path: str, max_bytes: int, pages: Pages
    ) -> None:
        self._db = db
        self._pages = pages
        self._handlers = {
            **HANDLERS,
            Op.ENQUEUE: pages.enqueue,
            Op.UNSUBSCRIBE: self._unsubscribe,
            Op.CLEAR: self._clear,
        }
        self._results: list[tuple[Callable[[Any], object], Any]] = []  # of this commit's calls, handed back after it
        self._loop = loop
        self._path = path
        self.max_bytes = max_bytes
        self._page_size: int = db.execute("PRAGMA page_size").fetchone()[0]
        # SQLite's own hard stop, past the soft cap the loop checks, so a batch already on its way still fits.
        slack = max(64 * 1024 * 1024, max_bytes // 20)
        db.execute(f"PRAGMA max_page_count = {(max_bytes + slack) // self._page_size + 1}")
        self.size = self._measure()[0]  # bytes in use (read by the loop: a plain int, replaced whole)
        self.commits = 0
        self._inbox: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"eventdeck store {path}", daemon=True)
        self._thread.start()

    def submit(self, batch: Batch) -> None:
        self._inbox.put(batch)

    def stop(self) -> None:
        """Commit what was submitted, then end the thread and close the connection (blocks until then)."""
        self._inbox.put(None)
        self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._inbox.get(timeout=1.0)
            except queue.Empty:
                self._compact()
                continue
            batches: list[Batch] = []
            item: Batch | None = first
            while True:
                if item is None:
                    stopping = True
                else:
                    batches.append(item)
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
            if batches:
                self._commit(batches)
            if not stopping and self._inbox.empty():
                self._compact()
        self._db.close()

    def _commit(self, batches: list[Batch]) -> None:
        error: BaseException | None = None
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for kind, group in groupby(_ops(batches), key=lambda op: op[0]):
                    if kind is Op.CALL:
                        self._results += [(callback, function(db)) for function, callback in (op[1] for op in group)]
                    else:
                        self._handlers[kind](db, [payload for _kind, payload in group])
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite rolls some failures (a full disk) back itself
                    db.execute("ROLLBACK")
                raise
            self.commits += 1
            self.size = self._measure()[0]
        except sqlite3.DatabaseError as exc:
            full = exc.sqlite_errorname == "SQLITE_FULL"
            self.size = self._measure()[0]
            error = StoreFull(self._path, self.size, self.max_bytes) if full else StoreError(f"{self._path}: {exc}")
        results, self._results = self._results, []
        for callback, result in results:
            self._loop.call_soon_threadsafe(callback, result)
        for batch in batches:
            if batch.done is not None:
                self._loop.call_soon_threadsafe(_resolve, batch.done, error)

    def _unsubscribe(self, db: sqlite3.Connection, names: list[Any]) -> None:
        _unsubscribe(db, names)
        self._pages.forget(names)

    def _clear(self, db: sqlite3.Connection, items: list[Any]) -> None:
        _clear(db, items)
        self._pages.forget(None)

    def _measure(self) -> tuple[int, int]:
        """Bytes in use, and bytes free inside the file (compaction can give those back)."""
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        return (pages - free) * self._page_size, free * self._page_size

    def _compact(self) -> None:
        used, free = self._measure()
        if free >= VACUUM_WORTH and free * 4 >= used + free:
            self._db.execute(f"PRAGMA incremental_vacuum({VACUUM_PAGES})").fetchall()


def _ops(batches: Iterable[Batch]) -> Iterable[tuple[Op, Any]]:
    for batch in batches:
        yield from batch.ops


def _resolve(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
