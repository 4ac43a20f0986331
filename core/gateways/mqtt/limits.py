"""The gateway's limits: every one settable, each with a sane default."""

from __future__ import annotations

from dataclasses import dataclass, fields

from eventdeck.core.broker.subscription import MAX_PENDING_BYTES
from eventdeck.core.mqtt_codec.codes import MAX_VARINT


@dataclass(frozen=True, slots=True)
class MqttLimits:
    """Bounds that keep one client from hurting the broker or the others."""

    max_packet_size: int = 1024 * 1024  # bytes, both directions' default; sent as Maximum Packet Size
    max_connections: int = 1_000  # clients past CONNECT
    max_waiting: int = 512  # sockets yet to send CONNECT; when full, the oldest is closed for the newest
    max_inflight: int = 64  # QoS 1/2 messages unacknowledged per direction (MQTT 5 Receive Maximum)
    max_subscriptions_per_client: int = 100
    connect_timeout: float = 5.0  # seconds from TCP accept to a complete CONNECT
    max_keep_alive: int = 3_600  # seconds; MQTT 5 clients asking for more are told this (Server Keep Alive)
    topic_alias_maximum: int = 64  # inbound topic aliases per connection (MQTT 5)
    max_queued: int = 10_000  # messages per subscription waiting for a slow or absent client
    max_queued_bytes: int = MAX_PENDING_BYTES  # payload bytes of those: 10,000 x 1 MiB would be ~10 GiB
    max_session_expiry: int = 7 * 24 * 3600  # seconds a persistent session outlives its connection
    # Persistent sessions kept without a connection; past it the oldest is dropped. Each queues up to
    # max_queued messages, and every publish costs each matching one a queue slot.
    max_offline_sessions: int = 10_000
    # Seconds publishers wait for a subscriber whose socket is full before it counts as stuck: a client
    # that reads drains 1 MiB far sooner, even over a slow link.
    publisher_hold: float = 0.5
    # Seconds of waiting for clients that turned out stuck, per 10 s, at most (5%), however many arrive.
    publisher_hold_budget: float = 0.5

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value <= 0:
                raise ValueError(f"MqttLimits.{field.name} must be positive, got {value!r}")
        if self.max_packet_size > MAX_VARINT:
            raise ValueError(f"MqttLimits.max_packet_size cannot exceed {MAX_VARINT:,} bytes (the MQTT maximum)")
        if self.max_inflight > 65_535 or self.topic_alias_maximum > 65_535 or self.max_keep_alive > 65_535:
            raise ValueError("max_inflight, topic_alias_maximum and max_keep_alive must be at most 65,535")
