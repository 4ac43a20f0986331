"""A persistent session's record and its messages in flight, as the store gets them: only what changed."""

from __future__ import annotations

from eventdeck.core.gateways.mqtt.session_records import SessionImage, _outgoing, restored_session, session_record
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from tests.core.gateways.mqtt.support import Pair, message, subscribed


def test_a_message_in_flight_is_written_when_sent_or_released_and_dropped_when_acknowledged() -> None:
    pair = Pair()
    pair.connect("keep", clean_start=False)
    sub = subscribed(pair, qos=2)
    session = pair.server.session
    assert session is not None
    image = SessionImage()
    record, items = image.changes(session, None)
    assert record is not None
    assert record["subscriptions"][0]["filter"] == "a/#"
    assert items == {}
    for qos in (1, 2):
        pair.server.outbox.deliver(message(payload=b"%d" % qos, qos=qos), sub)
    once, twice = (packet.packet_id for packet in pair.received())  # type: ignore[attr-defined]
    record, items = image.changes(session, None)
    assert record is None  # the record holds no message in flight: unchanged
    assert sorted(items) == [once, twice]
    assert image.changes(session, None) == (None, {})  # nothing changed since
    pair.send(mqtt.Ack(c.PUBACK, once), mqtt.Ack(c.PUBREC, twice))
    record, items = image.changes(session, None)
    assert record is None
    assert items[once] is None
    assert items[twice] is not None  # released now: written again, so a restart sends PUBREL, not the message
    restored = restored_session("keep", image.record or {}, {twice: items[twice]})
    assert restored.inflight == {twice: session.inflight[twice]}
    assert restored.next_packet_id() == twice + 1  # new packet ids follow the ones in flight
    pair.send(mqtt.Ack(c.PUBCOMP, twice))
    assert image.changes(session, None) == (None, {twice: None})
    assert image.changes(session, 1_700_000_000.0).record is not None  # the client left: the record says when


def test_a_record_from_before_items_keeps_its_messages_in_flight() -> None:
    pair = Pair()
    pair.connect("keep", clean_start=False)
    sub = subscribed(pair, qos=1)
    pair.server.outbox.deliver(message(qos=1), sub)
    (sent,) = pair.received()
    session = pair.server.session
    assert session is not None
    record = session_record(session, None)
    older = {**record, "next_id": 1, "inflight": [[p, *_outgoing(o)] for p, o in session.inflight.items()]}
    assert restored_session("keep", older, {}).inflight == session.inflight
    assert sent.packet_id in session.inflight  # type: ignore[union-attr]
