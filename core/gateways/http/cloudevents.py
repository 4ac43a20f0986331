"""CloudEvents 1.0 HTTP protocol binding, without any HTTP library: bytes and headers in, message fields out.

Binary mode carries the attributes in ``ce-*`` headers and the data as the body; structured
mode sends one ``application/cloudevents+json`` document. Either way every attribute is kept
as a message header named ``ce-<attribute>`` (``ce-id``, ``ce-source``, ``ce-type``, ...), so
what arrived can be told apart from what EventDeck added; ``source`` also becomes the
publisher and ``datacontenttype`` (or the body's Content-Type) the content type.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

from eventdeck.core.broker.errors import EventDeckError
from eventdeck.core.broker.json_input import parse_json
from eventdeck.core.broker.message import JSON, is_json_type, media_type

SPECVERSION = "1.0"
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
REQUIRED = ("specversion", "id", "source", "type")
DEFAULT_BINARY_TYPE = "application/octet-stream"
_NAME = re.compile(r"[a-z0-9]{1,64}")
# Printable ASCII except '%' (which starts an escape) survives in a header value as is.
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


class CloudEventError(EventDeckError, ValueError):
    """A request claims to be a CloudEvent but breaks the spec; ``attribute`` names the culprit."""

    def __init__(self, attribute: str, problem: str) -> None:
        super().__init__(f"invalid CloudEvent: {attribute!r} {problem}")
        self.attribute = attribute


class Inbound(NamedTuple):
    """What a CloudEvent turns into: the fields of the message to publish."""

    payload: bytes
    content_type: str
    headers: dict[str, str]
    publisher: str


def is_structured(content_type: str | None) -> bool:
    return media_type(content_type) == STRUCTURED


def has_binary_attributes(headers: Iterable[tuple[str, str]]) -> bool:
    return any(name.lower().startswith("ce-") for name, _ in headers)


def from_binary(headers: Iterable[tuple[str, str]], body: bytes, content_type: str | None) -> Inbound:
    """Read a binary-mode event: ``ce-*`` headers (percent-decoded, as the binding requires) plus the body."""
    attributes: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.lower()
        if not name.startswith("ce-"):
            continue
        attribute = name[3:]
        if not _NAME.fullmatch(attribute):
            raise CloudEventError(attribute, "is not a valid attribute name (lower-case letters and digits only)")
        if name in attributes:
            raise CloudEventError(attribute, f"is given twice (header {raw_name})")
        attributes[name] = unquote(raw_value)
    return _inbound(attributes, body, content_type or DEFAULT_BINARY_TYPE)


def from_structured(body: bytes) -> Inbound:
    """Read a structured-mode event: one JSON object with the attributes and ``data`` or ``data_base64``."""
    try:
        document = parse_json(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CloudEventError("body", f"is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise CloudEventError("body", f"must be a JSON object, got {type(document).__name__}")
    if "data" in document and "data_base64" in document:
        raise CloudEventError("data_base64", "cannot be given together with 'data'")
    content_type = document.get("datacontenttype", JSON)
    if not isinstance(content_type, str):
        raise CloudEventError("datacontenttype", f"must be a string, got {type(content_type).__name__}")
    attributes: dict[str, str] = {}
    for attribute, value in document.items():
        if attribute in ("data", "data_base64", "datacontenttype") or value is None:
            continue
        if not _NAME.fullmatch(attribute):
            raise CloudEventError(attribute, "is not a valid attribute name (lower-case letters and digits only)")
        attributes["ce-" + attribute] = _attribute_text(attribute, value)
    return _inbound(attributes, _structured_data(document, content_type), content_type)


def _structured_data(document: dict[str, Any], content_type: str) -> bytes:
    if "data_base64" in document:
        encoded = document["data_base64"]
        if not isinstance(encoded, str):
            raise CloudEventError("data_base64", f"must be a string, got {type(encoded).__name__}")
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise CloudEventError("data_base64", f"is not valid base64: {exc}") from None
    if "data" not in document:
        return b""
    data = document["data"]
    # JSON media types carry the JSON value itself; any other type carries its text as a string.
    if isinstance(data, str) and not is_json_type(content_type):
        return data.encode()
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _attribute_text(attribute: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    raise CloudEventError(attribute, f"must be a string, integer or boolean, got {type(value).__name__}")


def _inbound(attributes: dict[str, str], payload: bytes, content_type: str) -> Inbound:
    for attribute in REQUIRED:
        if not attributes.get("ce-" + attribute):
            raise CloudEventError(attribute, "is required and missing or empty")
    version = attributes["ce-specversion"]
    if version != SPECVERSION:
        raise CloudEventError("specversion", f"is {version!r}; EventDeck speaks CloudEvents {SPECVERSION}")
    return Inbound(payload, content_type, attributes, attributes["ce-source"])


def header_value(text: str) -> str:
    """``text`` made safe for an HTTP header: anything outside printable ASCII is percent-encoded."""
    return quote(text, safe=_HEADER_SAFE)


def binary_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The ``ce-*`` headers of a message as HTTP headers (binary mode), values percent-encoded."""
    return {
        name: header_value(value)
        for name, value in headers.items()
        if name.startswith("ce-") and _NAME.fullmatch(name[3:])
    }
