"""The Qt-free repeat runner on a real embedded broker: counts are final before it says it ended."""

from __future__ import annotations

import asyncio

from eventdeck.core import Broker, Kind
from eventdeck.core.connectors.backend import EmbeddedBackend
from eventdeck.gui.models.composed import Composed
from eventdeck.gui.models.repeat_runner import RepeatEnd, RepeatRunner


async def test_commands_are_all_counted_before_the_end_is_reported() -> None:
    broker = Broker()
    handler = broker.subscribe("orders/place", name="handler")

    async def answer_three() -> None:
        for _ in range(3):
            delivery = await handler.get()
            await broker.reply(delivery.message, {"ok": True})

    answering = asyncio.create_task(answer_three())
    seen: list[str] = []
    message = Composed("orders/place", b"{}", kind=Kind.COMMAND, reply_timeout=0.1)
    runner = RepeatRunner(
        EmbeddedBackend(broker), message, total=4, interval_ms=0, on_finished=lambda r: seen.append(r.report())
    )
    await runner.start()
    await answering
    assert runner.end is RepeatEnd.DONE
    assert len(seen) == 1
    assert seen[0].endswith("4 of 4 commands: 3 replies, 1 timed out, 0 no handler")
    await broker.close()


async def test_events_go_through_the_backend_and_stop_reports_stopped() -> None:
    broker = Broker()
    sub = broker.subscribe("tick")
    ended: list[RepeatEnd | None] = []
    runner = RepeatRunner(
        EmbeddedBackend(broker),
        Composed("tick", b"1", retain=True),
        total=1_000_000,
        interval_ms=0,
        on_finished=lambda r: ended.append(r.end),
    )
    task = runner.start()
    for _ in range(3):  # they reach the broker's subscriber while the repeat runs
        await sub.get()
    runner.stop()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert ended == [RepeatEnd.STOPPED]
    assert runner.report().startswith("Stopped: ")
    assert broker.retained("tick") is not None  # the composed options went along
    await broker.close()


async def test_a_repeat_stopped_before_it_began_still_reports_once() -> None:
    broker = Broker()
    ended: list[RepeatEnd | None] = []
    runner = RepeatRunner(
        EmbeddedBackend(broker), Composed("t", b""), total=5, interval_ms=0, on_finished=lambda r: ended.append(r.end)
    )
    assert runner.running
    task = runner.start()
    runner.stop()  # before the task's first step
    await asyncio.gather(task, return_exceptions=True)
    assert ended == [RepeatEnd.STOPPED]
    assert not runner.running
    assert broker.published == 0
    await broker.close()


async def test_a_failure_is_reported_with_how_far_it_got() -> None:
    broker = Broker(max_payload=4)
    ended: list[str] = []
    runner = RepeatRunner(
        EmbeddedBackend(broker),
        Composed("t", b"too big"),
        total=3,
        interval_ms=0,
        on_finished=lambda r: ended.append(r.report()),
    )
    task = runner.start()
    await asyncio.gather(task, return_exceptions=True)
    assert runner.end is RepeatEnd.FAILED
    assert task.exception() is runner.error
    assert ended == [f"Repeat failed after 0: {runner.error}"]
    await broker.close()
