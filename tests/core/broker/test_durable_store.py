"""A broker started on a store: durable subscriptions, their queues, redelivery counts, retained messages and
declared channels survive a restart; non-durable ones do not; receipts come after the commit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from eventdeck.core import Broker, State
from eventdeck.core.store import FILE_NAME


def _stored_ids(directory: Path) -> set[int]:
    with sqlite3.connect(directory / FILE_NAME) as db:
        ids = {row[0] for row in db.execute("SELECT id FROM queued")}
    db.close()
    return ids


async def test_a_restart_brings_back_durable_queues_retained_messages_and_declared_channels(tmp_path: Path) -> None:
    broker = await Broker.on_store(tmp_path)
    durable = broker.subscribe("orders/#", name="billing", durable=True, ack="manual")
    broker.subscribe("orders/#", name="dashboard")  # not durable: gone after the restart
    broker.declare_channel("orders/new", "New orders")
    await broker.publish("config/mode", "eco", retain=True)
    for n in range(3):
        await broker.publish("orders/new", {"n": n})
    handed = await durable.get()  # delivered, never acked: redelivered after the restart as attempt 2
    assert handed.message.json() == {"n": 0}
    durable.close()
    await broker.close()

    broker = await Broker.on_store(tmp_path)
    try:
        [info] = broker.subscriptions()
        assert (info.name, info.state, info.pending) == ("billing", State.AWAY, 3)
        assert broker.retained("config/mode") is not None
        assert [(c.name, c.description) for c in broker.channels() if c.declared] == [("orders/new", "New orders")]
        back = broker.subscribe("orders/#", name="billing", durable=True, ack="manual")
        got = [await back.get() for _ in range(3)]
        assert [(d.message.json(), d.attempt) for d in got] == [({"n": 0}, 2), ({"n": 1}, 1), ({"n": 2}, 1)]
        for delivery in got:
            await delivery.ack()
    finally:
        await broker.close()
    broker = await Broker.on_store(tmp_path)  # acked: deleted
    assert broker.subscriptions()[0].pending == 0
    await broker.close()


async def test_a_new_durable_subscription_keeps_the_retained_copies_queued_for_it(tmp_path: Path) -> None:
    broker = await Broker.on_store(tmp_path)
    await broker.publish("config/mode", "eco", retain=True)
    broker.subscribe("config/#", name="audit", durable=True).close()  # its consumer away at once
    await broker.close()

    broker = await Broker.on_store(tmp_path)
    try:
        assert broker.subscriptions()[0].pending == 1
        back = broker.subscribe("config/#", name="audit", durable=True)
        assert (await back.get()).message.text() == "eco"
    finally:
        await broker.close()


async def test_the_receipt_comes_after_the_message_is_committed(tmp_path: Path) -> None:
    async with await Broker.on_store(tmp_path) as broker:
        broker.subscribe("orders/#", name="billing", durable=True)
        receipt = await broker.publish("orders/new", {"n": 1})
        assert receipt.id in _stored_ids(tmp_path)  # read by another connection: on disk


async def test_auto_ack_deletes_on_delivery_and_unsubscribe_forgets_everything(tmp_path: Path) -> None:
    async with await Broker.on_store(tmp_path) as broker:
        sub = broker.subscribe("a/#", name="auto", durable=True)
        first = await broker.publish("a/1", b"x")
        second = await broker.publish("a/2", b"y")
        assert (await sub.get()).message.id == first.id
        await broker.publish("a/3", b"z")  # commits the deletion with this turn's batch
        assert first.id not in _stored_ids(tmp_path)
        assert second.id in _stored_ids(tmp_path)
        sub.unsubscribe()
        await broker.store.committed()  # type: ignore[union-attr]
        assert _stored_ids(tmp_path) == set()
    async with await Broker.on_store(tmp_path) as broker:
        assert broker.subscriptions() == []


async def test_without_a_durable_subscription_publishing_stays_on_the_fast_path(tmp_path: Path) -> None:
    async with await Broker.on_store(tmp_path) as broker:
        broker.subscribe("a/#", name="plain")
        assert broker._plain
        commits = broker.store.commits  # type: ignore[union-attr]
        for n in range(100):
            await broker.publish("a/1", {"n": n})
        assert broker.store.commits == commits  # type: ignore[union-attr]
        durable = broker.subscribe("a/#", name="kept", durable=True)
        assert not broker._plain
        durable.unsubscribe()
        assert broker._plain


async def test_overflow_drops_and_dead_letters_leave_the_store(tmp_path: Path) -> None:
    async with await Broker.on_store(tmp_path) as broker:
        sub = broker.subscribe("a/#", name="small", durable=True, max_pending=2, ack="manual", max_attempts=1)
        ids = [(await broker.publish("a/1", {"n": n})).id for n in range(3)]
        assert _stored_ids(tmp_path) == set(ids[1:])  # the oldest was dropped
        delivery = await sub.get()
        await delivery.nack()  # max_attempts=1: dead-lettered
        await broker.publish("a/2", b"")
        assert ids[1] not in _stored_ids(tmp_path)


async def test_reset_empties_the_store_but_keeps_attached_durable_subscriptions(tmp_path: Path) -> None:
    async with await Broker.on_store(tmp_path) as broker:
        broker.subscribe("a/#", name="kept", durable=True)
        away = broker.subscribe("b/#", name="away", durable=True)
        away.close()
        await broker.publish("a/1", b"x", retain=True)
        broker.reset()
    async with await Broker.on_store(tmp_path) as broker:
        assert [info.name for info in broker.subscriptions()] == ["kept"]
        assert broker.subscriptions()[0].pending == 0
        assert broker.retained("a/1") is None
