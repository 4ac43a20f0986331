"""Connectors to brokers people already run (MQTT, RabbitMQ, NATS, Redis, Kafka), each a ``Backend``.

The ``Backend`` interface the GUI, replay and scripts talk to (and ``EmbeddedBackend``, the
in-process broker as one) is in ``eventdeck.core.connectors.backend`` and exported here.

``backend_from_url("mqtt://127.0.0.1:1883")`` gives an unstarted backend; ``await backend.start()``
connects (``ConnectorError`` with a specific reason if it cannot). Client libraries are
imported only when their connector is asked for.

Channel names in the mirror: MQTT topics and Redis channels are used as they are; AMQP
routing keys, NATS subjects and Kafka topics use ``.`` between levels, shown as ``/`` (``a.b`` <-> ``a/b``),
so MQTT-style wildcards and the channel tree work the same everywhere.
"""

from __future__ import annotations

import importlib
from typing import Any

from eventdeck.core.connectors.address import KINDS, Endpoint, TLSOptions, parse_url
from eventdeck.core.connectors.backend import (
    GAP_CHANNEL,
    Backend,
    Capabilities,
    ConnectionState,
    EmbeddedBackend,
    Outgoing,
    Status,
    StatusListener,
)
from eventdeck.core.connectors.base import ConnectorBackend
from eventdeck.core.connectors.errors import ConnectorError

_MODULES = {
    "mqtt": ("mqtt", "MqttBackend"),
    "amqp": ("amqp", "AmqpBackend"),
    "nats": ("nats", "NatsBackend"),
    "redis": ("redis", "RedisBackend"),
    "kafka": ("kafka", "KafkaBackend"),
}

__all__ = [
    "GAP_CHANNEL",
    "KINDS",
    "Backend",
    "Capabilities",
    "ConnectionState",
    "ConnectorBackend",
    "ConnectorError",
    "EmbeddedBackend",
    "Endpoint",
    "Outgoing",
    "Status",
    "StatusListener",
    "TLSOptions",
    "backend_for",
    "backend_from_url",
    "parse_url",
]


def backend_class(kind: str) -> type[ConnectorBackend]:
    if kind not in _MODULES:
        raise ConnectorError(f"unknown broker kind {kind!r}; known: {', '.join(KINDS)}")
    module, name = _MODULES[kind]
    cls: type[ConnectorBackend] = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    return cls


def backend_for(endpoint: Endpoint, **options: Any) -> ConnectorBackend:
    """An unstarted backend for ``endpoint``; options from its URL query come first, keyword ``options`` win."""
    cls = backend_class(endpoint.kind)
    merged: dict[str, Any] = {}
    for key, text in endpoint.options.items():
        parser = cls.query_options.get(key)
        if parser is None:
            known = ", ".join(sorted(cls.query_options)) or "none"
            raise ConnectorError(f"unknown option {key!r} for {endpoint.kind}:// URLs; known: {known}")
        try:
            merged[key] = parser(text)
        except ValueError as exc:
            raise ConnectorError(f"option {key!r}: {exc}") from None
    merged.update(options)
    try:
        return cls(endpoint, **merged)
    except TypeError as exc:  # an unknown keyword option
        raise ConnectorError(f"bad option for the {endpoint.kind} connector: {exc}") from None


def backend_from_url(url: str, **options: Any) -> ConnectorBackend:
    """Parse ``url`` (mqtt[s]://, amqp[s]://, nats://, redis[s]://, kafka[s]://) and build its backend (unstarted)."""
    return backend_for(parse_url(url), **options)


def _is_backend(backend: ConnectorBackend) -> Backend:
    return backend  # mypy checks here that every connector satisfies the Backend protocol
