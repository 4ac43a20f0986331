"""A durable queue longer than its memory window: the newest messages wait in the store only and are read
back in order as the consumer drains; counts, caps, acks, redeliveries and restarts all see the whole queue.

The window is 4 messages here (a few thousand by default), so every test crosses several pages.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from eventdeck.core import Broker, Delivery, Message, State, Subscription
from eventdeck.core.broker.durability import RestartReport, restart_on_store
from eventdeck.core.broker.journal import Outcome
from eventdeck.core.store import FILE_NAME, Store

WINDOW = 4


async def paged_broker(directory: Path, *, window: int = WINDOW, window_bytes: int = 1 << 20) -> Broker:
    return Broker(store=await Store.open(directory, window=window, window_bytes=window_bytes))


async def publish(broker: Broker, numbers: range) -> list[int]:
    return [(await broker.publish("orders/new", {"n": n})).id for n in numbers]


async def backlog(broker: Broker, count: int, ack: str = "auto") -> Subscription:
    """The durable subscription "billing" with ``count`` messages queued while it was paused (then still paused)."""
    sub = broker.subscribe("orders/#", name="billing", durable=True, ack=ack)
    sub.pause()
    await publish(broker, range(count))
    return sub


def numbers(deliveries: list[Delivery]) -> list[int]:
    return [d.message.json()["n"] for d in deliveries]


async def drain(sub: Subscription, count: int) -> list[Delivery]:
    """``count`` deliveries, as they come (waiting for pages read back meanwhile)."""
    got: list[Delivery] = []
    while len(got) < count:
        got += await asyncio.wait_for(sub.batch(3), 5)
    return got


def stored_rows(directory: Path) -> int:
    with sqlite3.connect(directory / FILE_NAME) as db:
        count: int = db.execute("SELECT count(*) FROM queued").fetchone()[0]
    db.close()
    return count


async def test_past_the_window_messages_wait_in_the_store_and_still_count(tmp_path: Path) -> None:
    async with await paged_broker(tmp_path) as broker:
        sub = await backlog(broker, 20)
        assert (len(sub.queue), sub.paged, sub.pending) == (WINDOW, 16, 20)
        assert sub.pending_bytes == sum(len(b'{"n":%d}' % n) for n in range(20))
        assert broker.subscriptions()[0].pending == 20
        assert stored_rows(tmp_path) == 20


async def test_the_consumer_gets_every_message_once_in_order_across_pages(tmp_path: Path) -> None:
    async with await paged_broker(tmp_path) as broker:
        sub = await backlog(broker, 30)
        sub.resume()
        got = [await asyncio.wait_for(sub.get(), 5) for _ in range(30)]
        assert numbers(got) == list(range(30))
        assert (sub.pending, sub.paged, sub.pending_bytes) == (0, 0, 0)
        await broker.store.committed()  # type: ignore[union-attr]
        assert stored_rows(tmp_path) == 0  # auto-ack: handed out is done with


async def test_publishing_while_the_consumer_drains_keeps_the_order(tmp_path: Path) -> None:
    async with await paged_broker(tmp_path) as broker:
        sub = broker.subscribe("orders/#", name="billing", durable=True)
        consumer = asyncio.create_task(drain(sub, 200))
        for start in range(0, 200, 25):  # bursts larger than the window, the consumer taking 3 at a time
            await asyncio.gather(*(broker.publish("orders/new", {"n": n}) for n in range(start, start + 25)))
        assert numbers(await consumer) == list(range(200))
        assert sub.pending == 0


async def test_a_restart_loads_the_first_page_and_counts_the_rest(tmp_path: Path) -> None:
    async with await paged_broker(tmp_path) as broker:
        sub = broker.subscribe("orders/#", name="billing", durable=True)
        sub.close()
        await publish(broker, range(25))
    async with await paged_broker(tmp_path) as broker:
        sub = broker.subscription("billing")
        assert (len(sub.queue), sub.paged, sub.pending) == (WINDOW, 21, 25)
        assert sub.pending_bytes == sum(len(b'{"n":%d}' % n) for n in range(25))
        back = broker.subscribe("orders/#", name="billing", durable=True)
        assert numbers(await drain(back, 25)) == list(range(25))


async def test_redelivery_counts_survive_across_pages_and_a_restart(tmp_path: Path) -> None:
    async with await paged_broker(tmp_path) as broker:
        sub = await backlog(broker, 12, ack="manual")
        sub.resume()
        got = await drain(sub, 7)  # crosses a page: 0-6 handed out, never acked
        first = got[0]
        await first.nack()  # redelivered in this run: attempt 2
        again = await asyncio.wait_for(sub.get(), 5)
        assert (again.message.json()["n"], again.attempt) == (0, 2)
    async with await paged_broker(tmp_path) as broker:
        back = broker.subscribe("orders/#", name="billing", durable=True, ack="manual")
        got = await drain(back, 12)
        assert [(d.message.json()["n"], d.attempt) for d in got] == [
            (0, 3),
            *((n, 2) for n in range(1, 7)),
            *((n, 1) for n in range(7, 12)),
        ]


async def test_acks_delete_paged_messages(tmp_path: Path) -> None:
    async with await paged_broker(tmp_path) as broker:
        sub = await backlog(broker, 10, ack="manual")
        sub.resume()
        got = await drain(sub, 10)
        for delivery in got:
            await delivery.ack()
        await broker.store.committed()  # type: ignore[union-attr]
        assert stored_rows(tmp_path) == 0


async def test_max_pending_counts_the_messages_in_the_store(tmp_path: Path) -> None:
    async with await paged_broker(tmp_path) as broker:
        oldest_go = broker.subscribe("orders/#", name="recent", durable=True, max_pending=10)
        newest_go = broker.subscribe("orders/#", name="first", durable=True, max_pending=10, overflow="drop_newest")
        oldest_go.pause()
        newest_go.pause()
        receipts = await publish(broker, range(15))
        assert (oldest_go.pending, oldest_go.dropped, newest_go.pending, newest_go.dropped) == (10, 5, 10, 5)
        oldest_go.resume()
        newest_go.resume()
        assert numbers(await drain(oldest_go, 10)) == list(range(5, 15))
        assert numbers(await drain(newest_go, 10)) == list(range(10))
        assert len(receipts) == 15
    async with await paged_broker(tmp_path) as broker:
        assert [info.pending for info in broker.subscriptions()] == [0, 0]


async def test_a_byte_budget_bounds_the_window_too(tmp_path: Path) -> None:
    async with await paged_broker(tmp_path, window=1_000, window_bytes=250) as broker:
        sub = broker.subscribe("orders/#", name="billing", durable=True)
        sub.pause()
        for n in range(10):
            await broker.publish("orders/new", b"%d" % n + b"x" * 99)
        assert (len(sub.queue), sub.paged) == (2, 8)
        sub.resume()
        got = await drain(sub, 10)
        assert [d.message.payload[:1] for d in got] == [b"%d" % n for n in range(10)]


async def test_unsubscribing_forgets_the_paged_messages_too(tmp_path: Path) -> None:
    async with await paged_broker(tmp_path) as broker:
        sub = await backlog(broker, 10)
        sub.unsubscribe()
        assert (sub.pending, sub.pending_bytes) == (0, 0)
        await broker.store.committed()  # type: ignore[union-attr]
        assert stored_rows(tmp_path) == 0


async def test_a_restart_on_the_store_keeps_durable_queues_paged_or_not_and_loses_the_rest(tmp_path: Path) -> None:
    async with await paged_broker(tmp_path) as broker:
        attached = broker.subscribe("orders/#", name="billing", durable=True, ack="manual")
        away = broker.subscribe("orders/#", name="audit", durable=True)
        away.close()
        plain = broker.subscribe("orders/#", name="dashboard")
        plain.pause()
        await publish(broker, range(3))
        held = await attached.get()  # the attached consumer holds one, unsettled
        attached.pause()
        await publish(broker, range(3, 10))
        await broker.publish("fridge/level", {"percentage": 23}, retain=True)
        broker.declare_channel("orders/new", "New orders")

        report = restart_on_store(broker)

        assert report == RestartReport(
            subscriptions=2, messages=9 + 10, retained=1, queued_lost=10, requests=0, delayed=0
        )
        assert broker.subscription("billing") is attached  # an attached consumer goes on
        assert (plain.state, plain.pending) == (State.PAUSED, 0)  # kept (attached), its queue lost
        assert broker.retained("fridge/level") is not None
        assert [(c.name, c.description) for c in broker.channels() if c.declared] == [("orders/new", "New orders")]
        await held.ack()  # it may still settle what it held
        attached.resume()
        rest = await drain(attached, 9)
        assert numbers(rest) == list(range(1, 10))
        for delivery in rest:
            await delivery.ack()
        back = broker.subscribe("orders/#", name="audit", durable=True)
        assert numbers(await drain(back, 10)) == list(range(10))
    async with await paged_broker(tmp_path) as broker:  # and the store agrees
        assert {info.name: info.pending for info in broker.subscriptions()} == {"billing": 0, "audit": 0}


async def test_taking_the_whole_window_leaves_the_bytes_of_what_waits_in_the_store(tmp_path: Path) -> None:
    async with await paged_broker(tmp_path) as broker:
        sub = await backlog(broker, 10)
        sub.resume()
        taken = sub.take(100)  # the whole window, at once
        assert (len(taken), sub.paged) == (WINDOW, 6)
        assert sub.pending_bytes == sum(len(b'{"n":%d}' % n) for n in range(WINDOW, 10))


async def test_a_page_on_its_way_at_a_restart_lands_in_the_queue_brought_back(tmp_path: Path) -> None:
    async with await paged_broker(tmp_path) as broker:
        sub = broker.subscribe("orders/#", name="audit", durable=True, max_pending=6)
        sub.close()
        await publish(broker, range(7))  # 1, 2, 3 in memory (0 dropped), 4, 5, 6 in the store
        # Dropping the oldest takes the window to half: a page is asked for, and the restart comes first.
        await broker.publish_message(Message.build("orders/new", {"n": 7}), wait_durable=False)
        restart_on_store(broker)
        back = broker.subscribe("orders/#", name="audit", durable=True, max_pending=6)
        assert numbers(await drain(back, 6)) == list(range(2, 8))


async def test_a_message_read_back_from_the_store_is_still_found_where_it_waits(tmp_path: Path) -> None:
    async with await paged_broker(tmp_path) as broker:
        sub = broker.subscribe("orders/#", name="billing", durable=True, ack="manual")
        sub.pause()
        last = [await broker.publish("orders/new", {"n": n}) for n in range(12)][-1].message
        assert sub.holds(last) is None  # on disk only, past the memory window
        sub.resume()
        got = await drain(sub, 12)  # the newest were read back from the store: copies of what was published
        assert got[-1].message is not last
        assert sub.holds(last) is Outcome.DELIVERED
