"""The bridge hands each flush's batch to every receiver as one list: the same list, never a copy per receiver."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from eventdeck.core import Message
from eventdeck.gui.bridge import FLUSH_CHUNK, Bridge


def test_every_receiver_gets_the_flush_s_batch_itself(qtbot: QtBot, bridge: Bridge) -> None:
    first: list[list[Message]] = []
    second: list[list[Message]] = []
    bridge.messages.connect(first.append)
    bridge.messages.connect(second.append)
    for n in range(3):
        task = bridge.spawn(bridge.broker.publish("a/b", {"n": n}), "publish")
        qtbot.waitUntil(task.done, timeout=3000)
    bridge.flush()
    assert [message.json() for batch in first for message in batch] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert len(second) == len(first)
    # Copying a flood's batch for each of the window's receivers cost ~1 ms a flush.
    assert all(theirs is mine for theirs, mine in zip(second, first, strict=True))


def test_a_burst_goes_out_a_chunk_a_loop_turn_in_order_and_flush_sends_it_all(qtbot: QtBot, bridge: Bridge) -> None:
    batches: list[list[Message]] = []
    bridge.messages.connect(batches.append)

    async def burst(count: int) -> None:  # as a connector's broker hands over a Kafka fetch: all at once
        for n in range(count):
            await bridge.broker.publish("a/b", {"n": n})

    count = 2 * FLUSH_CHUNK + 5
    bridge._flush_timer.stop()
    qtbot.waitUntil(bridge.spawn(burst(count), "burst").done, timeout=5000)
    bridge._flush_timer.start()
    qtbot.waitUntil(lambda: sum(map(len, batches)) == count, timeout=5000)
    assert len(batches) == 3  # a chunk is FLUSH_CHUNK of the tap's events: a new channel's event takes a place
    assert all(len(batch) <= FLUSH_CHUNK for batch in batches)
    assert [message.json()["n"] for batch in batches for message in batch] == list(range(count))

    batches.clear()
    bridge._flush_timer.stop()
    qtbot.waitUntil(bridge.spawn(burst(count), "burst").done, timeout=5000)
    bridge.flush()  # asked for (a switch of broker, a test): everything now
    assert [len(batch) for batch in batches] == [count]
