"""Recordings: JSON Lines round trips, line-exact errors, and replays into a broker."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventdeck.core import Broker, Kind, Message, RecordingError
from eventdeck.core.connectors.backend import Capabilities, EmbeddedBackend
from eventdeck.core.gateways.http.envelope import envelope, sse_event, ws_message
from eventdeck.core.recording import RecordingWriter, plan_replay, read_recording, replay, write_recording
from eventdeck.core.recording import playback as replay_module


def message(channel: str, payload: bytes, when: float, **fields: object) -> Message:
    return Message(int(when * 1e9), channel, Kind.EVENT, payload, timestamp=when, publisher="sensor")._replace(**fields)


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    originals = [
        message("fridge/level", b'{"percent": 23}', 100.0, headers={"unit": "percent"}),
        message("raw/bytes", bytes(range(256)), 100.5, content_type="application/octet-stream"),
        message(
            "groceries/order",
            b'{"items": ["milk"]}',
            101.0,
            kind=Kind.COMMAND,
            correlation_id="c-1",
            reply_to="$reply/shop",
        ),
        message("text/plain", "naïve café ✓".encode(), 102.0, content_type="text/plain"),
    ]
    path = tmp_path / "traffic.jsonl"
    assert write_recording(path, originals) == 4
    back = read_recording(path)
    assert [m._replace(headers=dict(m.headers)) for m in back] == [
        m._replace(headers=dict(m.headers)) for m in originals
    ]


def test_lines_are_the_http_gateways_envelopes(tmp_path: Path) -> None:
    path = tmp_path / "traffic.jsonl"
    originals = [message("a/b", b'{"x": 1}', 5.0), message("a/c", b"\xff\xfe", 6.0)]
    write_recording(path, originals)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines == [envelope(m) for m in originals]
    assert (lines[0]["payload"], lines[0]["base64"], lines[0]["id"]) == ('{"x": 1}', False, "5000000000")
    assert (lines[1]["payload"], lines[1]["base64"]) == ("//4=", True)


def test_a_websocket_frame_is_a_recording_line(tmp_path: Path) -> None:
    frame = {"type": "message", **envelope(message("fridge/level", b"23", 7.0))}
    path = write_lines(tmp_path / "from-ws.jsonl", json.dumps(frame))
    (back,) = read_recording(path)
    assert (back.channel, back.payload, back.timestamp) == ("fridge/level", b"23", 7.0)


def test_a_new_recording_gets_the_usual_permissions_and_a_failed_write_changes_nothing(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.jsonl"
    write_recording(fresh, [message("a/b", b"1", 1.0)])
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask

    path = tmp_path / "keep.jsonl"
    path.write_text("precious\n", encoding="utf-8")

    def broken() -> Iterator[Message]:
        yield message("a/b", b"1", 1.0)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_recording(path, broken())
    assert path.read_text(encoding="utf-8") == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.jsonl", "keep.jsonl"]


def test_hand_written_lines_get_defaults_and_untimed_lines_borrow_a_neighbours_time(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "hand.jsonl",
        '{"channel": "a/first"}',
        '{"channel": "a/b", "payload": "hi", "timestamp": 1700000000, "id": 12}',
        "",
        '{"channel": "a/c", "headers": null}',
    )
    first, second, third = read_recording(path)
    assert (second.kind, second.content_type, second.payload, second.id) == (Kind.EVENT, "application/json", b"hi", 12)
    assert first.timestamp == second.timestamp == third.timestamp == 1700000000.0  # no 53-year gap to wait out
    assert (first.payload, first.id, dict(third.headers)) == (b"", 0, {})


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ('{"channel": "a/b"}\n{"channel": "a/b"', "line 2: not JSON: "),
        ('["a/b"]', "line 1: expected a JSON object, got list"),
        ('{"payload": "x"}', "line 1: 'channel' is missing"),
        ('{"channel": "a/+/b"}', "line 1: invalid channel 'a/+/b': wildcards"),
        ('{"channel": "a/b", "kind": "rumour"}', "line 1: 'kind' must be one of event, command, reply, got 'rumour'"),
        ('{"channel": "a/b", "payload": "not base64!", "base64": true}', "line 1: 'payload' is not valid base64"),
        ('{"channel": "a/b", "base64": "yes"}', "line 1: 'base64' must be true or false, got 'yes'"),
        ('{"channel": "a/b", "headers": {"n": 1}}', "line 1: header 'n': values must be str, got int"),
        ('{"channel": "a/b", "headers": []}', "line 1: 'headers' must be an object of text values, got list"),
        ('{"channel": "a/b", "timestamp": "noon"}', "line 1: 'timestamp' must be seconds since the epoch"),
        ('{"channel": "a/b", "timestamp": NaN}', "line 1: 'timestamp' must be seconds since the epoch"),
        ('{"channel": "a/b", "timestamp": 1e999}', "line 1: 'timestamp' must be seconds since the epoch"),
        ('{"channel": "a/b", "id": "x1"}', "line 1: 'id' must be an integer or a string of digits"),
        ('{"channel": "a/b", "colour": "red"}', "line 1: unknown field 'colour'"),
        ('{"channel": 7}', "line 1: 'channel' must be text, got int"),
        ("\n\n", "no messages in it"),
    ],
)
def test_bad_lines_are_refused_with_file_line_and_reason(tmp_path: Path, lines: str, reason: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(lines, encoding="utf-8")
    with pytest.raises(RecordingError) as caught:
        read_recording(path)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)


def test_not_utf8_missing_special_and_oversized_files(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"channel": "a/b", "payload": "caf\xe9"}\n')
    with pytest.raises(RecordingError, match=r"line 1: not UTF-8 text"):
        read_recording(path)
    with pytest.raises(RecordingError, match="cannot read it"):
        read_recording(tmp_path / "nowhere.jsonl")
    with pytest.raises(RecordingError, match="not a regular file"):
        read_recording(tmp_path)
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(RecordingError, match="not a regular file"):
        read_recording(fifo)  # would otherwise wait forever for a writer
    path.write_text('{"channel": "a/b", "payload": "' + "x" * 2000 + '"}', encoding="utf-8")
    with pytest.raises(RecordingError, match="payload of 2,000 bytes exceeds the limit of 1,000 bytes"):
        read_recording(path, max_payload=1000)


def test_plan_skips_replies_and_system_channels() -> None:
    plan = plan_replay(
        [
            message("user/signedup", b"{}", 3.0),
            message("$dead/user/signedup", b"{}", 1.1),
            message("$reply/shop", b"{}", 1.2, kind=Kind.REPLY, correlation_id="c"),
            message("groceries/order", b"{}", 1.0, kind=Kind.COMMAND, correlation_id="c", reply_to="$reply/shop"),
        ]
    )
    assert [m.channel for m in plan.messages] == ["user/signedup", "groceries/order"]
    assert (plan.skipped, plan.commands, plan.span) == (2, 1, 2.0)  # times out of order: the span is still 2 s


async def test_replay_sends_events_in_order_with_their_fields() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("#", name="watch")
        recorded = [
            message("fridge/level", b'{"percent": 23}', 10.0, headers={"unit": "percent"}),
            message("user/signedup", b"hello", 10.001, content_type="text/plain"),
        ]
        plan = plan_replay(recorded)
        progress = await replay(EmbeddedBackend(broker), plan, plan.progress(), speed=None)
        got = [d.message for d in sub.take(10)]
        assert [(m.channel, m.payload, m.content_type, m.publisher, dict(m.headers)) for m in got] == [
            ("fridge/level", b'{"percent": 23}', "application/json", "sensor", {"unit": "percent"}),
            ("user/signedup", b"hello", "text/plain", "sensor", {}),
        ]
        assert got[0].id != recorded[0].id  # a replay is new traffic with fresh ids
        assert progress.summary() == "2 of 2 sent"


async def test_replay_keeps_the_recorded_gaps_divided_by_speed() -> None:
    async with Broker() as broker:
        arrivals: list[float] = []
        sub = broker.subscribe("tick", name="watch")
        plan = plan_replay([message("tick", b"1", 50.0), message("tick", b"2", 50.2), message("tick", b"3", 50.4)])
        task = asyncio.create_task(replay(EmbeddedBackend(broker), plan, plan.progress(), speed=2.0))
        while len(arrivals) < 3:
            await sub.get(timeout=2)
            arrivals.append(time.perf_counter())
        await task
        assert 0.17 <= arrivals[2] - arrivals[0] <= 0.3  # 0.4 s recorded, replayed at twice the speed


async def test_a_replay_lets_the_loop_run_even_when_everything_is_due_at_once() -> None:
    async with Broker() as broker:
        plan = plan_replay([message("burst", b"1", 5.0)] * 2000)  # all at the same instant, "as recorded"
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        beside = asyncio.create_task(ticker())
        await replay(EmbeddedBackend(broker), plan, plan.progress())
        beside.cancel()
        assert ticks >= 2000 // replay_module.YIELD_EVERY


async def test_long_gaps_are_slept_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay_module, "MAX_SLEEP", 0.05)
    async with Broker() as broker:
        plan = plan_replay([message("slow", b"1", 0.0), message("slow", b"2", 0.12)])
        started = time.perf_counter()
        progress = await replay(EmbeddedBackend(broker), plan, plan.progress())
        assert 0.11 <= time.perf_counter() - started < 1.0
        assert progress.sent == 2


async def test_replayed_commands_get_fresh_replies_and_failures_are_counted() -> None:
    async with Broker() as broker:
        orders = broker.subscribe("groceries/order", name="grocery-service")
        broker.subscribe("silent/service", name="never-answers")

        async def respond() -> None:
            async for delivery in orders:
                await broker.reply(delivery.message, {"ok": True})

        responder = asyncio.create_task(respond())
        recorded = [
            message("groceries/order", b"{}", 1.0, kind=Kind.COMMAND, correlation_id="old", reply_to="$reply/x"),
            message("nobody/home", b"{}", 1.0, kind=Kind.COMMAND, correlation_id="old2", reply_to="$reply/x"),
            message("silent/service", b"{}", 1.0, kind=Kind.COMMAND, correlation_id="old3", reply_to="$reply/x"),
            message("fine/event", b"{}", 1.0),
        ]
        plan = plan_replay(recorded)
        progress = await replay(EmbeddedBackend(broker), plan, plan.progress(), speed=None, reply_timeout=0.2)
        responder.cancel()
        # sent: accepted by the broker (the silent one too); failed: refused (nobody/home) or unanswered
        assert (progress.sent, progress.commands, progress.replied, progress.failed) == (3, 3, 1, 2)
        assert "no handler for 'nobody/home'" in " ".join(progress.errors)
        assert "timed out" in " ".join(progress.errors)


async def test_commands_in_flight_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay_module, "COMMANDS_IN_FLIGHT", 3)
    async with Broker() as broker:
        orders = broker.subscribe("slow/service", name="slow-service")
        waiting = 0
        most = 0

        async def respond() -> None:
            async for delivery in orders:
                nonlocal waiting, most
                waiting = len(orders.queue) + 1
                most = max(most, waiting)
                await asyncio.sleep(0.01)
                await broker.reply(delivery.message, {"ok": True})

        responder = asyncio.create_task(respond())
        plan = plan_replay([message("slow/service", b"{}", 1.0, kind=Kind.COMMAND)] * 12)
        progress = await replay(EmbeddedBackend(broker), plan, plan.progress(), speed=None)
        responder.cancel()
        assert progress.replied == 12
        assert most <= 3


async def test_many_failures_in_a_row_stop_the_replay() -> None:
    async with Broker(max_payload=1) as broker:
        plan = plan_replay([message("a/b", b"too long", 1.0)] * 100)
        progress = plan.progress()
        with pytest.raises(RecordingError, match="stopped after 20 failures in a row; the last: payload of 8 bytes"):
            await replay(EmbeddedBackend(broker), plan, progress, speed=None)
        assert progress.failed == 20


async def test_a_broker_without_headers_gets_the_messages_without_them() -> None:
    class Headerless(EmbeddedBackend):
        capabilities = Capabilities(headers=False)

    async with Broker() as broker:
        sub = broker.subscribe("a/b", name="watch")
        plan = plan_replay([message("a/b", b"1", 1.0, headers={"k": "v"})])
        progress = await replay(Headerless(broker), plan, plan.progress(), speed=None)
        (delivery,) = sub.take(5)
        assert dict(delivery.message.headers) == {}
        assert "headers dropped" in progress.summary()


async def test_cancelling_a_replay_stops_it() -> None:
    async with Broker() as broker:
        plan = plan_replay([message("slow", b"1", 1.0), message("slow", b"2", 60.0)])
        progress = plan.progress()
        task = asyncio.create_task(replay(EmbeddedBackend(broker), plan, progress))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert progress.sent == 1
        assert broker.published == 1


async def test_a_refused_message_is_counted_and_the_replay_goes_on() -> None:
    async with Broker(max_payload=4) as broker:
        plan = plan_replay([message("a/b", b"too long", 1.0), message("a/b", b"ok", 1.0)])
        progress = await replay(EmbeddedBackend(broker), plan, plan.progress(), speed=None)
        assert (progress.sent, progress.failed) == (1, 1)
        assert "exceeds the limit of 4 bytes" in progress.errors[0]
        with pytest.raises(ValueError, match="speed must be > 0"):
            await replay(EmbeddedBackend(broker), plan, plan.progress(), speed=0)


@pytest.mark.parametrize("speed", [None, 1.0])
async def test_max_rate_paces_bursts_at_any_speed(speed: float | None) -> None:
    async with Broker() as broker:
        plan = plan_replay([message("burst", b"1", 5.0)] * 300)  # recorded all at once
        started = time.perf_counter()
        progress = await replay(EmbeddedBackend(broker), plan, plan.progress(), speed=speed, max_rate=1000)
        assert 0.28 <= time.perf_counter() - started < 1.5  # 300 messages at 1,000 msg/s
        assert progress.sent == 300
        with pytest.raises(ValueError, match="max_rate must be > 0"):
            await replay(EmbeddedBackend(broker), plan, plan.progress(), speed=None, max_rate=0)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full to fill a disk")
def test_a_recording_writer_that_hits_a_full_disk_stops_and_says_why() -> None:
    writer = RecordingWriter("/dev/full")
    assert not writer.write([message("a/b", b"1", 1.0)])
    assert writer.error == "/dev/full: No space left on device"
    assert writer.count == 0
    assert not writer.write([message("a/b", b"2", 2.0)])  # dropped, no exception
    writer.close()


def test_server_sent_events_and_websocket_output_replay_as_they_were_printed(tmp_path: Path) -> None:
    first, second = message("fridge/level", b"23", 7.0), message("user/signedup", b"{}", 8.0)
    sse = tmp_path / "curl-subscribe.txt"
    sse.write_text(": connected\n\n" + sse_event(first) + sse_event(second), encoding="utf-8")
    assert [(m.channel, m.payload) for m in read_recording(sse)] == [("fridge/level", b"23"), ("user/signedup", b"{}")]
    ws = tmp_path / "websocket.jsonl"
    ws.write_text(
        '{"type": "subscribed", "pattern": "#"}\n' + ws_message(first) + "\n" + '{"type": "published", "id": "1"}\n',
        encoding="utf-8",
    )
    assert [m.channel for m in read_recording(ws)] == ["fridge/level"]  # acknowledgements are not messages


async def test_the_failure_that_stops_a_replay_is_the_last_one() -> None:
    async with Broker(max_payload=1) as broker:
        plan = plan_replay([message("a/b", b"x" * size, 1.0) for size in range(2, 40)])
        with pytest.raises(RecordingError, match="the last: payload of 21 bytes exceeds"):
            await replay(EmbeddedBackend(broker), plan, plan.progress(), speed=None)
