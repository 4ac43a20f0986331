"""What the HTTP gateway speaks, without any HTTP library: message envelopes out, publish requests in.

An envelope is one message as JSON::

    {"id": "1718000000000000000", "channel": "fridge/level", "kind": "event",
     "publisher": "http:127.0.0.1", "content_type": "application/json", "headers": {},
     "payload": "{\\"percent\\":23}", "base64": false, "correlation_id": null,
     "reply_to": null, "timestamp": 1718000000.0}

``payload`` is the payload as text when it is UTF-8, else base64 with ``"base64": true``.
Ids are strings because they are nanosecond timestamps, beyond what a JavaScript number
holds exactly. Server-Sent Events carry one envelope per event (``id:``, ``event: <kind>``,
``data:``); WebSocket frames carry it with ``"type": "message"``. ``send`` runs a
``PublishSpec`` against the broker and ``error_body`` turns core errors into HTTP statuses.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from eventdeck.core.broker.broker import Broker, Receipt
from eventdeck.core.broker.errors import (
    BrokerClosed,
    EventDeckError,
    InvalidChannel,
    NoResponderError,
    PayloadTooLarge,
    PublishTimeout,
    RequestTimeout,
)
from eventdeck.core.broker.json_input import json_problem, parse_json
from eventdeck.core.broker.message import EMPTY_HEADERS, JSON, Kind, Message, is_json_type
from eventdeck.core.gateways.errors import AccessDenied
from eventdeck.core.gateways.http.cloudevents import CloudEventError

TEXT = "text/plain; charset=utf-8"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class BadRequestError(EventDeckError, ValueError):
    """A publish request (HTTP options or a WebSocket frame) that cannot be honoured; says which field and why."""


class PublishSpec(NamedTuple):
    """Everything needed to publish one message or send one command."""

    channel: str
    payload: bytes
    content_type: str
    kind: Kind = Kind.EVENT
    headers: Mapping[str, str] = EMPTY_HEADERS
    publisher: str = ""
    retain: bool = False
    correlation_id: str | None = None
    timeout: float = 5.0


def envelope(message: Message) -> dict[str, Any]:
    """``message`` as a JSON-ready dict (see the module docstring)."""
    try:
        payload, is_base64 = message.payload.decode(), False
    except UnicodeDecodeError:
        payload, is_base64 = base64.b64encode(message.payload).decode("ascii"), True
    return {
        "id": str(message.id),
        "channel": message.channel,
        "kind": message.kind.value,
        "publisher": message.publisher,
        "content_type": message.content_type,
        "headers": dict(message.headers),
        "payload": payload,
        "base64": is_base64,
        "correlation_id": message.correlation_id,
        "reply_to": message.reply_to,
        "timestamp": message.timestamp,
    }


def dumps(value: object) -> str:
    """Compact JSON on one line (newlines inside strings are escaped, as SSE needs)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def sse_event(message: Message) -> str:
    return f"id: {message.id}\nevent: {message.kind.value}\ndata: {dumps(envelope(message))}\n\n"


def ws_message(message: Message) -> str:
    return dumps({"type": "message", **envelope(message)})


def parse_kind(text: str) -> Kind:
    try:
        return Kind(text.strip().lower())
    except ValueError:
        choices = ", ".join(kind.value for kind in Kind)
        raise BadRequestError(f"kind must be one of {choices}, got {text!r}") from None


def parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadRequestError(f"{name} must be true or false, got {text!r}")


def parse_timeout(text: str | float, limit: float) -> float:
    """A command timeout in seconds: a positive number no larger than ``limit``."""
    try:
        seconds = float(text)
    except (TypeError, ValueError):
        raise BadRequestError(f"timeout must be a number of seconds, got {text!r}") from None
    if not 0 < seconds <= limit:  # also refuses NaN
        raise BadRequestError(f"timeout must be more than 0 and at most {limit:g} seconds, got {text!r}")
    return seconds


def check_reply(kind: Kind, correlation_id: str | None) -> None:
    if kind is Kind.REPLY and not correlation_id:
        raise BadRequestError("a reply needs the correlation_id of the command it answers")


def decode_frame(text: str) -> dict[str, Any]:
    """A WebSocket text frame as a JSON object, or ``BadRequestError`` saying why not."""
    try:
        frame = parse_json(text)
    except ValueError as exc:
        raise BadRequestError(f"frame is not valid JSON: {exc}") from None
    if not isinstance(frame, dict):
        raise BadRequestError(f"frame must be a JSON object, got {type(frame).__name__}")
    return frame


def frame_spec(frame: dict[str, Any], publisher: str, default_timeout: float, max_timeout: float) -> PublishSpec:
    """A decoded WebSocket publish frame as a ``PublishSpec``.

    ``{"channel": str, "payload": str | any JSON, "base64": bool, "content_type": str,
    "headers": {str: str}, "kind": "event" | "command" | "reply", "retain": bool,
    "correlation_id": str, "timeout": seconds, "publisher": str, "ref": any}``; only ``channel``
    is required. A string payload is sent as text (``text/plain``) unless ``base64`` is true;
    anything else as JSON. ``ref`` is echoed in the answer frame so a client can match them.
    """
    channel = _field(frame, "channel", str)
    if channel is None:
        raise BadRequestError("frame needs a 'channel'")
    payload, default_type = _frame_payload(frame)
    headers = _field(frame, "headers", dict) or {}
    if not all(isinstance(value, str) for value in headers.values()):
        raise BadRequestError("'headers' values must be strings")
    kind = parse_kind(_field(frame, "kind", str) or "event")
    correlation_id = _field(frame, "correlation_id", str)
    check_reply(kind, correlation_id)
    timeout = frame.get("timeout", default_timeout)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise BadRequestError(f"'timeout' must be a number of seconds, got {timeout!r}")
    return PublishSpec(
        channel,
        payload,
        _field(frame, "content_type", str) or default_type,
        kind,
        headers,
        _field(frame, "publisher", str) or publisher,
        bool(_field(frame, "retain", bool)),
        correlation_id,
        parse_timeout(timeout, max_timeout),
    )


def _frame_payload(frame: dict[str, Any]) -> tuple[bytes, str]:
    if "payload" not in frame:
        return b"", JSON
    payload = frame["payload"]
    if not isinstance(payload, str):
        return dumps(payload).encode(), JSON
    if _field(frame, "base64", bool):
        try:
            return base64.b64decode(payload, validate=True), "application/octet-stream"
        except binascii.Error as exc:
            raise BadRequestError(f"'payload' is not valid base64: {exc}") from None
    return payload.encode(), TEXT


def _field(frame: dict[str, Any], name: str, kind: type[Any]) -> Any:
    value = frame.get(name)
    if value is not None and not isinstance(value, kind):
        raise BadRequestError(f"{name!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


async def send(broker: Broker, spec: PublishSpec) -> Receipt | Message:
    """Publish ``spec``; a command waits for its reply and returns it, anything else returns the receipt.

    A body that says it is JSON must be JSON, by the same rule as the composer's (an empty one is no payload).
    """
    if spec.payload and is_json_type(spec.content_type):
        problem = json_problem(spec.payload)
        if problem is not None:
            raise BadRequestError(f"{problem}; fix it, or send it with a Content-Type that is not JSON")
    if spec.kind is Kind.COMMAND:
        if spec.retain:
            raise BadRequestError("retain applies to events; a command cannot be retained")
        return await broker.request(
            spec.channel,
            spec.payload,
            timeout=spec.timeout,
            headers=spec.headers,
            content_type=spec.content_type,
            publisher=spec.publisher,
        )
    return await broker.publish(
        spec.channel,
        spec.payload,
        kind=spec.kind,
        headers=spec.headers,
        content_type=spec.content_type,
        retain=spec.retain,
        publisher=spec.publisher,
        correlation_id=spec.correlation_id,
    )


def error_body(exc: EventDeckError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body that report ``exc``, with the details a client can act on."""
    body: dict[str, Any] = {"error": str(exc)}
    if isinstance(exc, InvalidChannel):
        status = 400
        body["reason"] = exc.reason
    elif isinstance(exc, CloudEventError):
        status = 400
        body["attribute"] = exc.attribute
    elif isinstance(exc, PayloadTooLarge):
        status = 413
        body["limit"] = exc.limit
    elif isinstance(exc, NoResponderError):
        status = 404
        body["channel"] = exc.channel
    elif isinstance(exc, RequestTimeout):
        status = 504
        body.update(channel=exc.channel, elapsed=round(exc.elapsed, 3))
    elif isinstance(exc, AccessDenied):
        status = 403
    elif isinstance(exc, BrokerClosed | PublishTimeout):
        status = 503
    else:  # BadRequestError, InvalidPayload, SubscriptionError: the request itself is wrong
        status = 400
    body["status"] = status
    return status, body
