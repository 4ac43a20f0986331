"""Errors of the MQTT gateway: one for the listener, one for a client that broke the protocol."""

from __future__ import annotations

from eventdeck.core.errors import EventDeckError


class GatewayError(EventDeckError, RuntimeError):
    """The gateway cannot start or serve (port in use, unsafe address without credentials, ...)."""


class ProtocolError(EventDeckError, ValueError):
    """A client sent bytes that break the MQTT rules; ``reason_code`` is the MQTT 5 code to answer with."""

    def __init__(self, reason_code: int, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
