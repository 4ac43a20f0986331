"""The one error of the MQTT codec: bytes that break the protocol's rules."""

from __future__ import annotations

from eventdeck.core.broker.errors import EventDeckError


class ProtocolError(EventDeckError, ValueError):
    """A peer sent bytes that break the MQTT rules; ``reason_code`` is the MQTT 5 code to answer with."""

    def __init__(self, reason_code: int, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
