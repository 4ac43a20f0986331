"""The bridge hands each flush's batch to every receiver as one list: the same list, never a copy per receiver."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from eventdeck.core import Message
from eventdeck.gui.bridge import Bridge


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
