"""A persistent MQTT session as the broker's store keeps it (JSON), and back.

The record holds what the client is owed across a restart: its subscriptions with their options,
the QoS 1/2 messages waiting for a slot, and the QoS 2 packet ids it sent that wait for PUBREL. The
QoS 1/2 messages in flight to it are items of their own, by packet id (so they go again with DUP
under the same ids): each is written once when sent (again when its PUBREC comes) and deleted when
acknowledged, not with every change of the session (``SessionImage``). A shared subscription's
message in flight belongs to its group and is not kept here.
"""

from __future__ import annotations

import base64
from collections import deque
from typing import Any

from eventdeck.core.broker.message import Message
from eventdeck.core.gateways.mqtt import overlap
from eventdeck.core.gateways.mqtt.session import ClientSubscription, Outgoing, SessionState
from eventdeck.core.store import SessionWrite
from eventdeck.core.store.schema import message_row, row_message


class SessionImage:
    """What the store holds of one session, so that a commit writes only what changed since the last one."""

    def __init__(self, inflight: dict[int, Outgoing] | None = None) -> None:
        self.record: dict[str, Any] | None = None
        self.inflight: dict[int, Outgoing] = dict(inflight or {})  # as written (an Outgoing is never changed)

    def changes(self, session: SessionState, away_since: float | None) -> SessionWrite:
        """The record if it changed, and the messages in flight sent, released or acknowledged since."""
        record = session_record(session, away_since)
        changed = None if record == self.record else record
        self.record = record
        items: dict[int, tuple[Any, Message] | None] = {}
        written, inflight = self.inflight, session.inflight
        for packet_id, outgoing in inflight.items():
            if written.get(packet_id) is not outgoing and outgoing.shared is None:
                message, qos, retain, ids, released, _shared = outgoing
                items[packet_id] = ([qos, retain, ids, released], message)  # the store makes the row, off the loop
                written[packet_id] = outgoing
        for packet_id in [p for p, o in written.items() if inflight.get(p) is not o]:  # acknowledged
            del written[packet_id]
            items[packet_id] = None
        return SessionWrite(changed, items)


def session_record(session: SessionState, away_since: float | None) -> dict[str, Any]:
    """``session`` as JSON but its messages in flight; ``away_since``: when its client left (None while connected)."""
    return {
        "expiry": session.expiry,
        "away_since": away_since,
        "subscriptions": [_subscription(sub) for sub in session.subscriptions.values()],
        "pending": [_outgoing(o) for o in session.pending if o.shared is None],
        "inbound_qos2": sorted(session.inbound_qos2),
    }


def restored_session(client_id: str, record: dict[str, Any], inflight: dict[int, tuple[Any, Message]]) -> SessionState:
    """The session ``record`` and its ``inflight`` items describe, without a connection or broker subscriptions
    (the caller attaches those). A record that does not read as one raises ``ValueError`` naming the client id.

    A record from before items (store version 2) holds its messages in flight itself.
    """
    try:
        session = SessionState(client_id, int(record["expiry"]))
        for fields in record["subscriptions"]:
            sub = _client_subscription(client_id, fields)
            overlap.link(sub, None, session.subscriptions.values())
            session.subscriptions[sub.filter] = sub
        older = {int(ident): _restored_outgoing(rest) for ident, *rest in record.get("inflight", ())}
        items = {ident: _item_outgoing(state, message) for ident, (state, message) in inflight.items()}
        session.inflight = dict(sorted((older | items).items()))
        session.pending = deque(_restored_outgoing(fields) for fields in record["pending"])
        session.inbound_qos2 = {int(ident) for ident in record["inbound_qos2"]}
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"the stored MQTT session of {client_id!r} is unreadable ({exc!r})") from None
    session._next_id = max(session.inflight, default=0)  # new packet ids follow the ones still in flight
    return session


def _subscription(sub: ClientSubscription) -> dict[str, Any]:
    return {
        "filter": sub.filter,
        "qos": sub.qos,
        "no_local": sub.no_local,
        "retain_as_published": sub.retain_as_published,
        "retain_handling": sub.retain_handling,
        "ids": list(sub.ids),
        "since": sub.since,
    }


def _client_subscription(client_id: str, fields: dict[str, Any]) -> ClientSubscription:
    sub = ClientSubscription(
        client_id,
        fields["filter"],
        int(fields["qos"]),
        no_local=bool(fields["no_local"]),
        retain_as_published=bool(fields["retain_as_published"]),
        retain_handling=int(fields["retain_handling"]),
    )
    sub.ids = tuple(int(ident) for ident in fields["ids"])
    sub.since = int(fields["since"])
    return sub


def _outgoing(outgoing: Outgoing) -> list[Any]:
    message, qos, retain, ids, released, _shared = outgoing
    return [_message(message), qos, retain, list(ids), released]


def _item_outgoing(state: list[Any], message: Message) -> Outgoing:
    qos, retain, ids, released = state
    return Outgoing(message, int(qos), bool(retain), tuple(ids), bool(released))


def _restored_outgoing(fields: list[Any]) -> Outgoing:
    message, *state = fields
    return _item_outgoing(state, _restored_message(message))


def _message(message: Message) -> list[Any]:
    ident, channel, kind, payload, *rest = message_row(message)
    return [ident, channel, kind, base64.b64encode(payload).decode("ascii"), *rest]


def _restored_message(fields: list[Any]) -> Message:
    ident, channel, kind, payload, *rest = fields
    return row_message((ident, channel, kind, base64.b64decode(payload), *rest))
