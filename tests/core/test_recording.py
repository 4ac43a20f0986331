"""Recordings: JSON Lines round trips, line-exact errors, and replays into a broker."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventdeck.core import Broker, Kind, Message, RecordingError
from eventdeck.core.backend import Capabilities, EmbeddedBackend
from eventdeck.core.recording import plan_replay, read_recording, replay, write_recording


def message(channel: str, payload: bytes, when: float, **fields: object) -> Message:
    return Message(int(when * 1e9), channel, Kind.EVENT, payload, timestamp=when, publisher="sensor")._replace(**fields)


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


def test_lines_are_readable_json_with_text_payloads(tmp_path: Path) -> None:
    path = tmp_path / "traffic.jsonl"
    write_recording(path, [message("a/b", b'{"x": 1}', 5.0), message("a/c", b"\xff\xfe", 6.0)])
    first, second = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    assert first == {
        "time": 5.0,
        "channel": "a/b",
        "kind": "event",
        "payload": '{"x": 1}',
        "content_type": "application/json",
        "publisher": "sensor",
        "id": 5_000_000_000,
    }
    assert second["payload_base64"] == "//4="
    assert "payload" not in second


def test_a_failed_write_leaves_the_existing_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "keep.jsonl"
    path.write_text("precious\n", encoding="utf-8")

    def broken() -> Iterator[Message]:
        yield message("a/b", b"1", 1.0)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_recording(path, broken())
    assert path.read_text(encoding="utf-8") == "precious\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.jsonl"]


def test_minimal_lines_get_defaults(tmp_path: Path) -> None:
    path = tmp_path / "hand.jsonl"
    path.write_text('{"channel": "a/b", "payload": "hi", "time": 3}\n\n{"channel": "a/c"}\n', encoding="utf-8")
    first, second = read_recording(path)
    assert (first.kind, first.content_type, first.payload, first.timestamp) == (
        Kind.EVENT,
        "application/json",
        b"hi",
        3.0,
    )
    assert (second.payload, second.timestamp) == (b"", 3.0)  # no time: right after the line before


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ('{"channel": "a/b"}\n{"channel": "a/b"', "line 2: not JSON: "),
        ('["a/b"]', "line 1: expected a JSON object, got list"),
        ('{"payload": "x"}', "line 1: 'channel' is missing"),
        ('{"channel": "a/+/b"}', "line 1: invalid channel 'a/+/b': wildcards"),
        ('{"channel": "a/b", "kind": "rumour"}', "line 1: 'kind' must be one of event, command, reply, got 'rumour'"),
        ('{"channel": "a/b", "payload": "x", "payload_base64": "eA=="}', "line 1: has both 'payload' and"),
        ('{"channel": "a/b", "payload_base64": "not base64!"}', "line 1: 'payload_base64' is not valid base64"),
        ('{"channel": "a/b", "headers": {"n": 1}}', "line 1: header 'n': values must be str, got int"),
        ('{"channel": "a/b", "time": "noon"}', "line 1: 'time' must be seconds since the epoch"),
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


def test_not_utf8_and_missing_files_and_huge_payloads(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"channel": "a/b", "payload": "caf\xe9"}\n')
    with pytest.raises(RecordingError, match=r"line 1: not UTF-8 text"):
        read_recording(path)
    with pytest.raises(RecordingError, match="cannot read it"):
        read_recording(tmp_path / "nowhere.jsonl")
    path.write_text('{"channel": "a/b", "payload": "' + "x" * 2000 + '"}', encoding="utf-8")
    with pytest.raises(RecordingError, match="payload of 2,000 bytes exceeds the limit of 1,000 bytes"):
        read_recording(path, max_payload=1000)


def test_plan_skips_replies_and_system_channels() -> None:
    messages = [
        message("user/signedup", b"{}", 1.0),
        message("$dead/user/signedup", b"{}", 1.1),
        message("$reply/shop", b"{}", 1.2, kind=Kind.REPLY, correlation_id="c"),
        message("groceries/order", b"{}", 1.3, kind=Kind.COMMAND, correlation_id="c", reply_to="$reply/shop"),
    ]
    todo, progress = plan_replay(messages)
    assert [m.channel for m in todo] == ["user/signedup", "groceries/order"]
    assert (progress.total, progress.skipped) == (2, 2)


async def test_replay_sends_events_in_order_with_their_fields() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("#", name="watch")
        recorded = [
            message("fridge/level", b'{"percent": 23}', 10.0, headers={"unit": "percent"}),
            message("user/signedup", b"hello", 10.001, content_type="text/plain"),
        ]
        todo, progress = plan_replay(recorded)
        await replay(EmbeddedBackend(broker), todo, progress, speed=None)
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
        todo, progress = plan_replay(
            [message("tick", b"1", 50.0), message("tick", b"2", 50.2), message("tick", b"3", 50.4)]
        )
        task = asyncio.create_task(replay(EmbeddedBackend(broker), todo, progress, speed=2.0))
        while len(arrivals) < 3:
            await sub.get(timeout=2)
            arrivals.append(time.perf_counter())
        await task
        assert 0.17 <= arrivals[2] - arrivals[0] <= 0.4  # 0.4 s recorded, replayed at twice the speed


async def test_replayed_commands_get_fresh_replies_and_failures_are_counted() -> None:
    async with Broker() as broker:
        orders = broker.subscribe("groceries/order", name="grocery-service")

        async def respond() -> None:
            async for delivery in orders:
                await broker.reply(delivery.message, {"ok": True})

        responder = asyncio.create_task(respond())
        recorded = [
            message("groceries/order", b"{}", 1.0, kind=Kind.COMMAND, correlation_id="old", reply_to="$reply/x"),
            message("nobody/home", b"{}", 1.0, kind=Kind.COMMAND, correlation_id="old2", reply_to="$reply/x"),
            message("fine/event", b"{}", 1.0),
        ]
        todo, progress = plan_replay(recorded)
        await replay(EmbeddedBackend(broker), todo, progress, speed=None, reply_timeout=1.0)
        responder.cancel()
        assert (progress.sent, progress.commands, progress.replied, progress.failed) == (3, 2, 1, 1)
        assert "no handler for 'nobody/home'" in progress.summary()


async def test_a_broker_without_headers_gets_the_messages_without_them() -> None:
    class Headerless(EmbeddedBackend):
        capabilities = Capabilities(headers=False)

    async with Broker() as broker:
        sub = broker.subscribe("a/b", name="watch")
        todo, progress = plan_replay([message("a/b", b"1", 1.0, headers={"k": "v"})])
        await replay(Headerless(broker), todo, progress, speed=None)
        (delivery,) = sub.take(5)
        assert dict(delivery.message.headers) == {}
        assert "headers dropped" in progress.summary()


async def test_cancelling_a_replay_stops_it() -> None:
    async with Broker() as broker:
        todo, progress = plan_replay([message("slow", b"1", 1.0), message("slow", b"2", 60.0)])
        task = asyncio.create_task(replay(EmbeddedBackend(broker), todo, progress))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert progress.sent == 1
        assert broker.published == 1


async def test_a_refused_message_is_counted_and_the_replay_goes_on() -> None:
    async with Broker(max_payload=4) as broker:
        todo, progress = plan_replay([message("a/b", b"too long", 1.0), message("a/b", b"ok", 1.0)])
        await replay(EmbeddedBackend(broker), todo, progress, speed=None)
        assert (progress.sent, progress.failed) == (1, 1)
        assert "exceeds the limit of 4 bytes" in progress.errors[0]
        with pytest.raises(ValueError, match="speed must be > 0"):
            await replay(EmbeddedBackend(broker), todo, progress, speed=0)
