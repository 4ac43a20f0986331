"""The message record and helpers to build payloads and read them back."""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from eventdeck.core.broker.errors import InvalidPayload

JSON = "application/json"
EMPTY_HEADERS: Mapping[str, str] = MappingProxyType({})

PayloadLike = bytes | bytearray | memoryview | str | int | float | bool | None | dict[str, Any] | list[Any]


class Kind(enum.Enum):
    """What a message means: a fact, a request to do something, or the answer to one."""

    EVENT = "event"
    COMMAND = "command"
    REPLY = "reply"


# The last id handed out, in a one-slot list so the broker's hot path can share it without a call.
last_id = [0]


def media_type(content_type: str | None) -> str:
    """``content_type`` without parameters, lower case: ``'Text/Plain; charset=x'`` -> ``'text/plain'``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json_type(content_type: str | None) -> bool:
    """The one rule for "is this JSON?": ``application/json``, ``text/json`` and any ``*+json`` type.

    A missing content type is not JSON here; callers that treat it as JSON (EventDeck's default) say so.
    """
    kind = media_type(content_type)
    return kind in (JSON, "text/json") or kind.endswith("+json")


def new_id() -> int:
    """A process-unique, time-ordered id: nanoseconds since the epoch, bumped on ties."""
    now = time.time_ns()
    last = last_id[0]
    ident = now if now > last else last + 1
    last_id[0] = ident
    return ident


def to_payload(value: PayloadLike) -> bytes:
    """Turn a user value into payload bytes.

    ``bytes`` are kept, ``str`` is UTF-8 encoded and anything else (dict, list,
    number, bool, None) is encoded as compact JSON.
    """
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidPayload(f"payload of type {type(value).__name__} cannot be encoded as JSON: {exc}") from exc


def freeze_headers(headers: Mapping[str, str] | None) -> Mapping[str, str]:
    """A read-only copy of ``headers`` with every key and value checked to be a str."""
    if not headers:
        return EMPTY_HEADERS
    for key, value in headers.items():
        if not isinstance(key, str):
            raise InvalidPayload(f"header name {key!r}: names must be str, got {type(key).__name__}")
        if not isinstance(value, str):
            raise InvalidPayload(f"header {key!r}: values must be str, got {type(value).__name__}")
    return MappingProxyType(dict(headers))


class Message(NamedTuple):
    """One immutable message as the broker moved it.

    A NamedTuple (slotted, immutable) rather than a frozen dataclass because it is
    built once per published message and is about 2.5x cheaper to create.
    Fields map one-to-one onto CloudEvents attributes and MQTT 5 properties.
    """

    id: int
    channel: str
    kind: Kind
    payload: bytes
    content_type: str = JSON
    headers: Mapping[str, str] = EMPTY_HEADERS
    timestamp: float = 0.0
    publisher: str = ""
    correlation_id: str | None = None
    reply_to: str | None = None

    @classmethod
    def build(
        cls,
        channel: str,
        payload: PayloadLike = b"",
        *,
        kind: Kind = Kind.EVENT,
        content_type: str = JSON,
        headers: Mapping[str, str] | None = None,
        publisher: str = "",
        correlation_id: str | None = None,
        reply_to: str | None = None,
    ) -> Message:
        """Build a message with a fresh id and timestamp from a str, dict, list or bytes payload."""
        ident = new_id()
        return cls(
            ident,
            channel,
            kind,
            to_payload(payload),
            content_type,
            freeze_headers(headers),
            ident / 1e9,
            publisher,
            correlation_id,
            reply_to,
        )

    @property
    def size(self) -> int:
        """Payload size in bytes."""
        return len(self.payload)

    def text(self) -> str:
        """The payload decoded as UTF-8, with undecodable bytes replaced."""
        return self.payload.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The payload parsed as JSON; raises ``InvalidPayload`` naming the line and column."""
        try:
            return json.loads(self.payload)
        except json.JSONDecodeError as exc:
            raise InvalidPayload(
                f"payload is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
            ) from exc
        except UnicodeDecodeError as exc:
            raise InvalidPayload(f"payload is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
