"""CloudEvents binding and the HTTP gateway's JSON (envelopes, SSE lines, WebSocket frames): pure functions."""

from __future__ import annotations

import base64
import json

import pytest

from eventdeck.core import InvalidChannel, Kind, Message, NoResponderError, PayloadTooLarge, RequestTimeout
from eventdeck.core.broker.message import is_json_type
from eventdeck.core.gateways.http.cloudevents import (
    CloudEventError,
    binary_headers,
    from_binary,
    from_structured,
    has_binary_attributes,
    header_value,
    is_structured,
)
from eventdeck.core.gateways.http.envelope import (
    BadRequestError,
    decode_frame,
    envelope,
    error_body,
    frame_spec,
    parse_bool,
    parse_kind,
    parse_timeout,
    sse_event,
    ws_message,
)

BINARY = [
    ("ce-specversion", "1.0"),
    ("CE-ID", "a-1"),
    ("ce-source", "/sensors/fridge"),
    ("ce-type", "com.example.level"),
    ("ce-subject", "caf%C3%A9"),
    ("Host", "localhost"),
]


def structured(**fields: object) -> bytes:
    document = {"specversion": "1.0", "id": "a-1", "source": "/s", "type": "t", **fields}
    return json.dumps(document).encode()


# -- binary mode -------------------------------------------------------------


def test_binary_mode_keeps_every_attribute_as_a_header_and_the_source_as_publisher() -> None:
    inbound = from_binary(BINARY, b'{"percent":23}', "application/json")
    assert inbound.payload == b'{"percent":23}'
    assert inbound.content_type == "application/json"
    assert inbound.publisher == "/sensors/fridge"
    assert inbound.headers == {
        "ce-specversion": "1.0",
        "ce-id": "a-1",
        "ce-source": "/sensors/fridge",
        "ce-type": "com.example.level",
        "ce-subject": "café",  # percent-decoded, as the HTTP binding requires
    }


def test_binary_mode_without_a_content_type_is_octet_stream() -> None:
    assert from_binary(BINARY, b"\x00", None).content_type == "application/octet-stream"


@pytest.mark.parametrize("missing", ["ce-specversion", "ce-id", "ce-source", "ce-type"])
def test_binary_mode_names_the_missing_attribute(missing: str) -> None:
    headers = [(name, value) for name, value in BINARY if name.lower() != missing]
    with pytest.raises(CloudEventError, match=missing[3:]) as caught:
        from_binary(headers, b"", None)
    assert caught.value.attribute == missing[3:]


def test_binary_mode_rejects_other_spec_versions_and_repeated_or_bad_attributes() -> None:
    with pytest.raises(CloudEventError, match=r"speaks CloudEvents 1\.0"):
        from_binary([*BINARY[1:], ("ce-specversion", "0.3")], b"", None)
    with pytest.raises(CloudEventError, match="given twice"):
        from_binary([*BINARY, ("ce-id", "again")], b"", None)
    with pytest.raises(CloudEventError, match="not a valid attribute name"):
        from_binary([*BINARY, ("ce-Bad_Name", "x")], b"", None)


def test_has_binary_attributes_looks_for_ce_headers_only() -> None:
    assert has_binary_attributes(BINARY)
    assert not has_binary_attributes([("Content-Type", "text/plain"), ("cex", "1")])


# -- structured mode ---------------------------------------------------------


def test_structured_json_data_is_encoded_as_json_with_the_default_content_type() -> None:
    inbound = from_structured(structured(data={"percent": 23}, subject="fridge", sequence=7, fresh=True))
    assert inbound.payload == b'{"percent":23}'
    assert inbound.content_type == "application/json"
    assert inbound.publisher == "/s"
    assert inbound.headers["ce-subject"] == "fridge"
    assert inbound.headers["ce-sequence"] == "7"
    assert inbound.headers["ce-fresh"] == "true"
    assert "ce-data" not in inbound.headers
    assert "ce-datacontenttype" not in inbound.headers


def test_structured_text_and_base64_data() -> None:
    text = from_structured(structured(data="<b>hi</b>", datacontenttype="text/html"))
    assert (text.payload, text.content_type) == (b"<b>hi</b>", "text/html")
    raw = from_structured(structured(data_base64=base64.b64encode(b"\xff\x00").decode(), datacontenttype="x/y"))
    assert (raw.payload, raw.content_type) == (b"\xff\x00", "x/y")
    empty = from_structured(structured())
    assert empty.payload == b""


def test_a_json_string_under_a_json_content_type_stays_a_json_string() -> None:
    assert from_structured(structured(data="hi")).payload == b'"hi"'


@pytest.mark.parametrize(
    ("body", "attribute"),
    [
        (b"not json", "body"),
        (b"[1, 2]", "body"),
        (structured(data=1, data_base64="AA=="), "data_base64"),
        (structured(data_base64="not base64!"), "data_base64"),
        (structured(data_base64=5), "data_base64"),
        (structured(datacontenttype=5), "datacontenttype"),
        (structured(extra={"nested": 1}), "extra"),
        (structured(id=""), "id"),
        (json.dumps({"specversion": "1.0", "id": "1", "source": "/s"}).encode(), "type"),
    ],
)
def test_structured_errors_name_the_attribute(body: bytes, attribute: str) -> None:
    with pytest.raises(CloudEventError) as caught:
        from_structured(body)
    assert caught.value.attribute == attribute
    assert repr(attribute) in str(caught.value)


def test_content_type_helpers() -> None:
    assert is_structured("Application/CloudEvents+JSON; charset=utf-8")
    assert not is_structured("application/json")
    assert is_json_type("application/vnd.api+json")
    assert is_json_type("text/json")
    assert not is_json_type("text/plain")


def test_header_values_are_percent_encoded_outside_printable_ascii() -> None:
    assert header_value("plain text/1") == "plain text/1"
    assert header_value("café\r\nX-Evil: 1") == "caf%C3%A9%0D%0AX-Evil: 1"
    assert header_value("100%") == "100%25"
    assert binary_headers({"ce-id": "é", "x-other": "1", "ce-Bad": "2"}) == {"ce-id": "%C3%A9"}


# -- envelopes ---------------------------------------------------------------


def test_envelope_carries_every_field_with_the_id_as_a_string() -> None:
    message = Message.build("a/b", {"x": 1}, headers={"h": "v"}, publisher="p", correlation_id="c", reply_to="r")
    data = envelope(message)
    assert data == {
        "id": str(message.id),
        "channel": "a/b",
        "kind": "event",
        "publisher": "p",
        "content_type": "application/json",
        "headers": {"h": "v"},
        "payload": '{"x":1}',
        "base64": False,
        "correlation_id": "c",
        "reply_to": "r",
        "timestamp": message.timestamp,
    }


def test_envelope_base64_encodes_payloads_that_are_not_utf8() -> None:
    data = envelope(Message.build("a", b"\xff\xfe"))
    assert data["base64"] is True
    assert base64.b64decode(data["payload"]) == b"\xff\xfe"


def test_sse_event_is_one_block_whatever_the_payload_holds() -> None:
    message = Message.build("a", "line1\n\ndata: fake\n", kind=Kind.COMMAND)
    text = sse_event(message)
    assert text.endswith("\n\n")
    lines = text[:-2].split("\n")
    assert lines[:2] == [f"id: {message.id}", "event: command"]
    assert len(lines) == 3
    assert json.loads(lines[2].removeprefix("data: "))["payload"] == "line1\n\ndata: fake\n"


def test_ws_message_is_a_typed_envelope() -> None:
    frame = json.loads(ws_message(Message.build("a", "x")))
    assert frame["type"] == "message"
    assert frame["channel"] == "a"


# -- options and WebSocket frames ---------------------------------------------


def test_option_parsers() -> None:
    assert parse_kind(" Command ") is Kind.COMMAND
    with pytest.raises(BadRequestError, match="event, command, reply"):
        parse_kind("shout")
    assert parse_bool("retain", "TRUE") is True
    assert parse_bool("retain", "") is False
    with pytest.raises(BadRequestError, match="retain must be true or false"):
        parse_bool("retain", "maybe")
    assert parse_timeout("2.5", 10) == 2.5
    for bad in ("0", "-1", "nan", "inf", "11", "soon"):
        with pytest.raises(BadRequestError, match="timeout"):
            parse_timeout(bad, 10)


def spec_of(frame: dict[str, object]) -> object:
    return frame_spec(frame, "http:127.0.0.1", 5.0, 60.0)


def test_frame_payloads_text_json_and_base64() -> None:
    text = frame_spec({"channel": "a", "payload": "hi"}, "p", 5.0, 60.0)
    assert (text.payload, text.content_type, text.publisher) == (b"hi", "text/plain; charset=utf-8", "p")
    as_json = frame_spec({"channel": "a", "payload": {"x": [1]}, "retain": True}, "p", 5.0, 60.0)
    assert (as_json.payload, as_json.content_type, as_json.retain) == (b'{"x":[1]}', "application/json", True)
    raw = frame_spec({"channel": "a", "payload": "/w==", "base64": True, "content_type": "x/y"}, "p", 5.0, 60.0)
    assert (raw.payload, raw.content_type) == (b"\xff", "x/y")
    command = frame_spec({"channel": "a", "kind": "command", "timeout": 1, "publisher": "me"}, "p", 5.0, 60.0)
    assert (command.kind, command.timeout, command.publisher, command.payload) == (Kind.COMMAND, 1.0, "me", b"")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"payload": 1}', "needs a 'channel'"),
        ('{"channel": 5}', "'channel' must be str"),
        ('{"channel": "a", "headers": {"h": 1}}', "values must be strings"),
        ('{"channel": "a", "headers": []}', "'headers' must be dict"),
        ('{"channel": "a", "kind": "reply"}', "correlation_id"),
        ('{"channel": "a", "timeout": true}', "'timeout' must be a number"),
        ('{"channel": "a", "timeout": 999}', "at most 60"),
        ('{"channel": "a", "payload": "!", "base64": true}', "not valid base64"),
        ('{"channel": "a", "retain": "yes"}', "'retain' must be bool"),
    ],
)
def test_bad_frames_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(BadRequestError, match=problem):
        spec_of(decode_frame(text))


def test_error_bodies_map_core_errors_to_statuses_with_details() -> None:
    assert error_body(InvalidChannel("a/#", "wildcards"))[0] == 400
    assert error_body(CloudEventError("id", "is missing"))[1]["attribute"] == "id"
    status, body = error_body(PayloadTooLarge(10, 5))
    assert (status, body["limit"]) == (413, 5)
    status, body = error_body(NoResponderError("x/y"))
    assert (status, body["channel"]) == (404, "x/y")
    status, body = error_body(RequestTimeout("x/y", 1.23456))
    assert (status, body["elapsed"], body["status"]) == (504, 1.235, 504)
    assert error_body(BadRequestError("nope"))[0] == 400
