"""The delivery journal: per-subscription outcomes of one message, bounded, and free while nobody follows."""

from __future__ import annotations

import asyncio

import pytest

from eventdeck.core import Broker, Message
from eventdeck.core.broker.journal import Outcome, journal_of, open_journal


async def published(broker: Broker, channel: str, payload: object = "x", *, retain: bool = False) -> Message:
    return (await broker.publish(channel, payload, retain=retain)).message  # type: ignore[arg-type]


def outcomes(broker: Broker, message: Message) -> dict[str, Outcome]:
    journal = journal_of(broker)
    assert journal is not None
    return {line.subscription: line.outcome for line in journal.timeline(message).subscriptions}


async def test_without_a_journal_subscriptions_keep_their_fast_path_and_nothing_is_kept() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s")
        assert journal_of(broker) is None
        assert sub._fast  # the per-message path has no journal check at all
        journal = open_journal(broker)
        assert not sub._fast
        assert not broker.subscribe("b", name="later")._fast  # a new subscription writes to it from the start
        journal.close()
        assert sub._fast
        assert broker.subscription("later")._fast
        assert journal_of(broker) is None
        await broker.publish("a", "x")
        await sub.get(1)
        assert not journal.entries


async def test_a_manual_subscription_goes_queued_delivered_acked_and_an_auto_one_acks_on_delivery() -> None:
    async with Broker() as broker:
        journal = open_journal(broker)
        worker = broker.subscribe("orders/#", name="worker", ack="manual")
        audit = broker.subscribe("orders/new", name="audit")
        broker.subscribe("fridge/#", name="elsewhere")
        message = await published(broker, "orders/new")
        assert outcomes(broker, message) == {"worker": Outcome.QUEUED, "audit": Outcome.QUEUED}

        delivery = await worker.get(1)
        await audit.get(1)
        assert outcomes(broker, message) == {"worker": Outcome.DELIVERED, "audit": Outcome.ACKED}
        await delivery.ack()
        timeline = journal.timeline(message)
        assert timeline.settled
        assert timeline.complete
        line = timeline.of("worker")
        assert line is not None
        assert (line.outcome, line.attempts, line.redelivered) == (Outcome.ACKED, 1, False)
        assert line.delivered_at is not None
        assert line.outcome_at is not None
        assert message.timestamp <= line.delivered_at <= line.outcome_at
        journal.close()


async def test_a_nack_is_redelivered_then_dead_lettered_after_max_attempts() -> None:
    async with Broker() as broker:
        journal = open_journal(broker)
        sub = broker.subscribe("jobs", name="flaky", ack="manual", max_attempts=2)
        message = await published(broker, "jobs")
        await (await sub.get(1)).nack()
        line = journal.timeline(message).of("flaky")
        assert line is not None
        assert (line.outcome, line.attempts, line.redelivered) == (Outcome.REDELIVERING, 1, True)
        assert not journal.timeline(message).settled
        await (await sub.get(1)).nack(reason="still broken")
        line = journal.timeline(message).of("flaky")
        assert line is not None
        assert (line.outcome, line.attempts) == (Outcome.DEAD_LETTERED, 2)
        assert journal.timeline(message).settled
        journal.close()


async def test_a_message_acked_on_its_second_attempt_counts_as_redelivered() -> None:
    async with Broker() as broker:
        journal = open_journal(broker)
        sub = broker.subscribe("jobs", name="retry", ack="manual")
        message = await published(broker, "jobs")
        await (await sub.get(1)).nack()
        [redelivery] = sub.take()  # the batch path journals too
        await redelivery.ack()
        line = journal.timeline(message).of("retry")
        assert line is not None
        assert (line.outcome, line.attempts, line.redelivered) == (Outcome.ACKED, 2, True)
        journal.close()


async def test_overflow_drops_and_a_departing_consumer_are_on_record() -> None:
    async with Broker() as broker:
        journal = open_journal(broker)
        small = broker.subscribe("a", name="small", max_pending=1)
        durable = broker.subscribe("a", name="durable", durable=True, ack="manual")
        first = await published(broker, "a", "1")
        await published(broker, "a", "2")  # pushes the first out of "small"
        assert outcomes(broker, first)["small"] is Outcome.DROPPED
        await durable.get(1)
        durable.close()  # the consumer leaves without settling: it is queued for the next one
        assert outcomes(broker, first)["durable"] is Outcome.REDELIVERING
        assert small.info().dropped == 1
        journal.close()


async def test_only_subscriptions_that_existed_get_it_except_a_retained_message_handed_over_later() -> None:
    async with Broker() as broker:
        journal = open_journal(broker)
        broker.subscribe("home/#", name="early")
        message = await published(broker, "home/door", retain=True)
        await asyncio.sleep(0.01)
        late = broker.subscribe("home/#", name="late")  # gets the retained message queued at once
        broker.subscribe("home/door", name="later", max_pending=1).pause()
        assert set(outcomes(broker, message)) == {"early", "late", "later"}
        plain = await published(broker, "home/window")
        await asyncio.sleep(0.01)
        broker.subscribe("home/window", name="afterwards")
        assert set(outcomes(broker, plain)) == {"early", "late"}
        await late.get(1)
        journal.close()


async def test_a_message_nobody_subscribes_to_has_an_empty_timeline() -> None:
    async with Broker() as broker:
        journal = open_journal(broker)
        timeline = journal.timeline(await published(broker, "nobody/home"))
        assert timeline.subscriptions == ()
        assert timeline.settled
        journal.close()


async def test_the_ring_is_bounded_and_says_when_it_no_longer_covers_a_message() -> None:
    async with Broker() as broker:
        before = await published(broker, "a")
        journal = open_journal(broker, max_entries=10)
        sub = broker.subscribe("a", name="s")
        old = await published(broker, "a")
        assert not journal.timeline(before).complete  # published before the journal opened
        for n in range(50):
            await broker.publish("a", n)
            sub.take()
        assert journal.size == len(journal.entries) == 10
        assert not journal.timeline(old).complete
        assert outcomes(broker, old) == {"s": Outcome.UNKNOWN}  # forgotten: said so, not guessed
        newest = await published(broker, "a")
        sub.take()
        assert journal.timeline(newest).complete
        journal.close()


async def test_journals_opened_twice_are_shared_until_the_last_close() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s")
        first, second = open_journal(broker), open_journal(broker)
        assert first is second
        first.close()
        assert journal_of(broker) is second
        assert not sub._fast
        second.close()
        second.close()  # closing once too often changes nothing
        assert journal_of(broker) is None
        assert sub._fast


async def test_a_journal_needs_room_for_one_entry() -> None:
    async with Broker() as broker:
        with pytest.raises(ValueError, match="max_entries must be at least 1, got 0"):
            open_journal(broker, max_entries=0)
        assert journal_of(broker) is None


async def test_a_batch_taken_at_once_is_one_entry_and_each_of_its_messages_has_its_story() -> None:
    async with Broker() as broker:
        journal = open_journal(broker, max_entries=100)
        sub = broker.subscribe("a", name="batch", ack="manual")
        sent = [await published(broker, "a", n) for n in range(5)]
        taken = sub.take()
        assert (len(journal.entries), journal.size) == (1, 5)
        await taken[3].ack()
        assert [outcomes(broker, message)["batch"] for message in sent] == [Outcome.DELIVERED] * 3 + [
            Outcome.ACKED,
            Outcome.DELIVERED,
        ]
        for n in range(120):  # past the bound: the oldest entries go, the batch among them
            await broker.publish("a", n)
            sub.take()
        assert journal.size <= 100
        assert not journal.timeline(sent[0]).complete
        journal.close()
