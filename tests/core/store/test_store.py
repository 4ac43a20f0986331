"""The SQLite store on its own: what it keeps, group commit, the lock, refusing files that are not ours, the cap."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from eventdeck.core import Message
from eventdeck.core.store import FILE_NAME, SessionWrite, Store, StoreFull, StoreLocked, StoreRefused
from eventdeck.core.store.schema import APPLICATION_ID, TABLES, message_row


def message(n: int, channel: str = "orders/new") -> Message:
    return Message.build(channel, {"n": n}, headers={"trace": str(n)}, publisher="test")


async def test_what_is_committed_comes_back_when_the_store_is_opened_again(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    first, second, retained = message(1), message(2), message(3, "fridge/level")
    store.add_subscription("billing", "orders/#", {"ack": "manual"})
    store.enqueue(first, ["billing"])
    store.enqueue(second, ["billing"])
    store.delivered("billing", first, 2)
    store.retain(retained)
    store.declare("orders/new", "New orders")
    state: dict[str, dict[str, int]] = {"subscriptions": {}}
    store.put_session_later("sensor-7", lambda: SessionWrite(state, {3: (["in flight"], first)}))
    state["subscriptions"]["orders/#"] = 1  # the state is taken when the turn's changes are committed
    await store.committed()
    await store.close()

    again = await Store.open(tmp_path)
    try:
        loaded = again.loaded
        [billing] = loaded.subscriptions
        assert (billing.name, billing.pattern, billing.options) == ("billing", "orders/#", {"ack": "manual"})
        assert billing.messages == [(first, 2), (second, 0)]
        assert loaded.retained == [retained]
        assert loaded.channels == [("orders/new", "New orders")]
        assert loaded.sessions == {"sensor-7": {"subscriptions": {"orders/#": 1}}}
        assert loaded.session_items == {"sensor-7": {3: (["in flight"], first)}}
    finally:
        await again.close()


async def test_a_session_writes_only_what_changed_and_goes_whole(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    one, two, three, four = (message(n) for n in range(1, 5))
    store.put_session_later("sensor-7", lambda: SessionWrite({"v": 1}, {1: (1, one), 2: (2, two), 3: (3, three)}))
    await store.committed()
    store.put_session_later("sensor-7", lambda: SessionWrite(None, {1: None, 4: (4, four)}))  # the record unchanged
    store.put_session_later("sensor-8", lambda: SessionWrite({"v": 8}, {1: ("eight's", one)}))
    await store.committed()
    assert _rows(tmp_path, "SELECT client_id, key, state, id FROM session_items") == [
        ("sensor-7", 2, "2", two.id),
        ("sensor-7", 3, "3", three.id),
        ("sensor-7", 4, "4", four.id),
        ("sensor-8", 1, '"eight\'s"', one.id),
    ]
    assert _rows(tmp_path, "SELECT * FROM sessions") == [("sensor-7", '{"v": 1}'), ("sensor-8", '{"v": 8}')]
    store.drop_session("sensor-7")
    await store.close()
    again = await Store.open(tmp_path)
    assert again.loaded.sessions == {"sensor-8": {"v": 8}}
    assert again.loaded.session_items == {"sensor-8": {1: ("eight's", one)}}
    await again.close()


async def test_settling_deletes_and_a_message_goes_with_its_last_subscription(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    shared = message(1)
    store.add_subscription("a", "orders/#", {})
    store.add_subscription("b", "orders/#", {})
    store.enqueue(shared, ["a", "b"])
    await store.committed()
    store.settle("a", shared)
    await store.committed()
    assert _count(tmp_path, "messages") == 1
    store.settle("b", shared)
    await store.committed()
    assert _count(tmp_path, "messages") == 0
    store.remove_subscription("a")
    await store.close()
    reopened = await Store.open(tmp_path)
    assert [sub.name for sub in reopened.loaded.subscriptions] == ["b"]
    await reopened.close()


async def test_a_message_settled_before_its_commit_is_never_written(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    store.add_subscription("a", "#", {})
    store.add_subscription("b", "#", {})
    quick, slow = message(1), message(2)
    store.enqueue(quick, ["a", "b"])
    store.enqueue(slow, ["a"])
    store.settle("a", quick)  # a's consumer took it in the same turn
    await store.committed()
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        assert set(db.execute("SELECT subscription, id FROM queued")) == {("b", quick.id), ("a", slow.id)}
    db.close()
    store.settle("b", quick)  # a later turn: deleted from the file
    await store.committed()
    assert _count(tmp_path, "messages") == 1
    await store.close()


async def test_a_loop_turn_is_one_transaction_however_many_messages(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    store.add_subscription("a", "#", {})
    before = store.commits
    for n in range(1_000):
        store.enqueue(message(n), ["a"])
    await store.committed()
    assert store.commits == before + 1
    await store.close()


async def test_a_second_opener_of_the_directory_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        with pytest.raises(StoreLocked, match=r"in use by another EventDeck process \(pid \d+\)"):
            await Store.open(tmp_path)
        other = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _OPEN_IN_ANOTHER_PROCESS, str(tmp_path), stdout=subprocess.PIPE
        )
        out, _ = await other.communicate()
        assert out.startswith(b"StoreLocked"), out
    finally:
        await store.close()
    reopened = await Store.open(tmp_path)  # closing unlocked it
    await reopened.close()


_OPEN_IN_ANOTHER_PROCESS = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from eventdeck.core.store import Store
    try:
        asyncio.run(Store.open(Path(sys.argv[1])))
    except Exception as exc:
        print(type(exc).__name__, exc)
    """
)


async def test_a_file_that_is_not_sqlite_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    path.write_bytes(b"my notes, not a database\n" * 100)
    with pytest.raises(StoreRefused, match=r"is not an SQLite database .* left as it is"):
        await Store.open(tmp_path)
    assert path.read_bytes() == b"my notes, not a database\n" * 100
    await (await Store.open(tmp_path / "elsewhere")).close()  # the lock was released


async def test_another_programs_sqlite_file_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE recipes (name TEXT)")
        db.execute("INSERT INTO recipes VALUES ('soup')")
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreRefused, match="another program"):
        await Store.open(tmp_path)
    assert path.read_bytes() == before


async def test_a_damaged_store_is_refused_with_the_reason_and_kept(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    store.add_subscription("a", "#", {})
    for n in range(2_000):
        store.enqueue(message(n), ["a"])
    await store.close()
    path = tmp_path / FILE_NAME
    data = bytearray(path.read_bytes())
    data[8192:16384] = b"\xff" * 8192  # scribble over pages past the header
    path.write_bytes(bytes(data))
    with pytest.raises(StoreRefused, match=r"corrupt|not a usable"):
        await Store.open(tmp_path)
    assert path.read_bytes() == bytes(data)


async def test_past_the_size_cap_check_room_says_the_store_is_full(tmp_path: Path) -> None:
    store = await Store.open(tmp_path, max_bytes=200_000)
    store.add_subscription("a", "#", {})
    store.check_room()
    for n in range(3_000):
        store.enqueue(Message.build("big", b"x" * 100, publisher=str(n)), ["a"])
    await store.committed()
    with pytest.raises(StoreFull, match=r"is full \(.* of 200,000 bytes\).*consumers catch up"):
        store.check_room()
    await store.close()


async def test_committed_data_survives_kill_9(tmp_path: Path) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _WRITE_UNTIL_KILLED, str(tmp_path), stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    committed = [int(await child.stdout.readline()) for _ in range(20)]
    child.kill()  # SIGKILL: no clean close
    await child.wait()
    store = await Store.open(tmp_path)
    try:
        kept = {m.publisher for m, _count in store.loaded.subscriptions[0].messages}
        assert {str(n) for n in range(committed[-1] + 1)} <= kept
    finally:
        await store.close()


_WRITE_UNTIL_KILLED = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from eventdeck.core import Message
    from eventdeck.core.store import Store

    async def main():
        store = await Store.open(Path(sys.argv[1]))
        store.add_subscription("a", "#", {})
        n = 0
        while True:
            for _ in range(50):
                store.enqueue(Message.build("c", b"x", publisher=str(n)), ["a"])
                n += 1
            await store.committed()
            print(n - 1, flush=True)

    asyncio.run(main())
    """
)


def _rows(directory: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(directory / FILE_NAME) as db:
        rows = db.execute(query).fetchall()
    db.close()
    return sorted(rows)


def _count(directory: Path, table: str) -> int:
    with sqlite3.connect(directory / FILE_NAME) as db:
        result: int = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    db.close()
    return result


async def test_a_version_1_store_is_upgraded_keeping_its_queues_in_order(tmp_path: Path) -> None:
    older, newer = message(1), message(2)
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.executescript(f"{_VERSION_1}PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 1;")
        db.execute("INSERT INTO subscriptions VALUES ('billing', 'orders/#', '{}')")
        for row in (older, newer):
            db.execute("INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?)", message_row(row))
        db.executemany("INSERT INTO queued VALUES ('billing', ?, ?)", [(newer.id, 0), (older.id, 3)])
    db.close()
    store = await Store.open(tmp_path)
    try:
        [billing] = store.loaded.subscriptions
        assert billing.messages == [(older, 3), (newer, 0)]
        latest = message(3)
        store.enqueue(latest, ["billing"])  # queued after them, whatever its id
    finally:
        await store.close()
    again = await Store.open(tmp_path)
    assert [m for m, _count in again.loaded.subscriptions[0].messages] == [older, newer, latest]
    await again.close()


async def test_a_version_2_store_is_upgraded_keeping_its_sessions(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.executescript(f"{_VERSION_2}PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 2;")
        db.execute("""INSERT INTO sessions VALUES ('sensor-7', '{"v": 2}')""")
    db.close()
    store = await Store.open(tmp_path)
    assert (store.loaded.sessions, store.loaded.session_items) == ({"sensor-7": {"v": 2}}, {})
    kept = message(5)
    store.put_session_later("sensor-7", lambda: SessionWrite(None, {5: ("five", kept)}))
    await store.close()
    assert _rows(tmp_path, "SELECT client_id, key, state, id FROM session_items") == [
        ("sensor-7", 5, '"five"', kept.id)
    ]
    assert _rows(tmp_path, "PRAGMA user_version") == [(3,)]


# A version 1 file: today's tables but its queued table (no seq, no size).
_VERSION_1 = (
    TABLES[: TABLES.index("CREATE TABLE queued")]
    + (
        "CREATE TABLE queued (subscription TEXT NOT NULL, id INTEGER NOT NULL, delivered INTEGER NOT NULL DEFAULT 0, "
        "PRIMARY KEY (subscription, id)) WITHOUT ROWID;\nCREATE INDEX queued_by_message ON queued (id);\n"
    )
    + TABLES[TABLES.index("CREATE TABLE retained") : TABLES.index("CREATE TABLE session_items")]
)
# A version 2 file: a session was one row only.
_VERSION_2 = TABLES[: TABLES.index("CREATE TABLE session_items")]
