"""A persistent MQTT session as the broker's store keeps it (JSON), and back.

The record holds what the client is owed across a restart: its subscriptions with their options,
the QoS 1/2 messages in flight to it (with their packet ids, so they go again with DUP under the
same ids) or waiting for a slot, and the QoS 2 packet ids it sent that wait for PUBREL. A shared
subscription's message in flight belongs to its group and is not kept here.
"""

from __future__ import annotations

import base64
from collections import deque
from typing import Any

from eventdeck.core.broker.message import Message
from eventdeck.core.gateways.mqtt import overlap
from eventdeck.core.gateways.mqtt.session import ClientSubscription, Outgoing, SessionState
from eventdeck.core.store.schema import message_row, row_message


def session_record(session: SessionState, away_since: float | None) -> dict[str, Any]:
    """``session`` as JSON; ``away_since``: when its client left (None while connected)."""
    return {
        "expiry": session.expiry,
        "away_since": away_since,
        "next_id": session._next_id,
        "subscriptions": [_subscription(sub) for sub in session.subscriptions.values()],
        "inflight": [[ident, *_outgoing(o)] for ident, o in session.inflight.items() if o.shared is None],
        "pending": [_outgoing(o) for o in session.pending if o.shared is None],
        "inbound_qos2": sorted(session.inbound_qos2),
    }


def restored_session(client_id: str, record: dict[str, Any]) -> SessionState:
    """The session ``record`` describes, without a connection or broker subscriptions (the caller attaches those).

    A record that does not read as one raises ``ValueError`` naming the client id.
    """
    try:
        session = SessionState(client_id, int(record["expiry"]))
        session._next_id = int(record["next_id"])
        for fields in record["subscriptions"]:
            sub = _client_subscription(client_id, fields)
            overlap.link(sub, None, session.subscriptions.values())
            session.subscriptions[sub.filter] = sub
        session.inflight = {int(ident): _restored_outgoing(rest) for ident, *rest in record["inflight"]}
        session.pending = deque(_restored_outgoing(fields) for fields in record["pending"])
        session.inbound_qos2 = {int(ident) for ident in record["inbound_qos2"]}
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"the stored MQTT session of {client_id!r} is unreadable ({exc!r})") from None
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


def _restored_outgoing(fields: list[Any]) -> Outgoing:
    message, qos, retain, ids, released = fields
    return Outgoing(_restored_message(message), int(qos), bool(retain), tuple(ids), bool(released))


def _message(message: Message) -> list[Any]:
    ident, channel, kind, payload, *rest = message_row(message)
    return [ident, channel, kind, base64.b64encode(payload).decode("ascii"), *rest]


def _restored_message(fields: list[Any]) -> Message:
    ident, channel, kind, payload, *rest = fields
    return row_message((ident, channel, kind, base64.b64decode(payload), *rest))
