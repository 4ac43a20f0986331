"""Message: fields, immutability, building from str/dict/bytes, reading JSON back."""

from __future__ import annotations

import dataclasses

import pytest

from eventdeck.core import JSON, InvalidPayload, Kind, Message, new_id, to_payload


def test_fields_and_defaults() -> None:
    message = Message.build("fridge/level", {"percent": 23}, headers={"unit": "%"}, publisher="sensor")
    assert message.channel == "fridge/level"
    assert message.kind is Kind.EVENT
    assert message.payload == b'{"percent":23}'
    assert message.content_type == JSON == "application/json"
    assert dict(message.headers) == {"unit": "%"}
    assert message.publisher == "sensor"
    assert message.correlation_id is None
    assert message.reply_to is None
    assert message.size == len(message.payload)
    assert message.timestamp == pytest.approx(message.id / 1e9)
    assert set(Message._fields) == {
        "id", "channel", "kind", "payload", "content_type", "headers",
        "timestamp", "publisher", "correlation_id", "reply_to",
    }  # fmt: skip


def test_kinds() -> None:
    assert {kind.value for kind in Kind} == {"event", "command", "reply"}
    command = Message.build("svc/do", kind=Kind.COMMAND, correlation_id="c1", reply_to="$reply/me")
    assert (command.kind, command.correlation_id, command.reply_to) == (Kind.COMMAND, "c1", "$reply/me")


def test_immutable_and_slotted() -> None:
    message = Message.build("a", "x")
    with pytest.raises(AttributeError):
        message.payload = b"y"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        message.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        message.headers["k"] = "v"  # type: ignore[index]
    assert not hasattr(message, "__dict__")
    assert not dataclasses.is_dataclass(message)


def test_headers_are_copied() -> None:
    headers = {"a": "1"}
    message = Message.build("a", headers=headers)
    headers["a"] = "2"
    assert message.headers["a"] == "1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"raw\x00bytes", b"raw\x00bytes"),
        (bytearray(b"ba"), b"ba"),
        (memoryview(b"mv"), b"mv"),
        ("héllo", "héllo".encode()),
        ({"a": [1, 2], "b": None}, b'{"a":[1,2],"b":null}'),
        ([1, "two"], b'[1,"two"]'),
        (3.5, b"3.5"),
        (True, b"true"),
        (None, b"null"),
        ({"name": "Zoë"}, '{"name":"Zoë"}'.encode()),
    ],
)
def test_to_payload(value: object, expected: bytes) -> None:
    assert to_payload(value) == expected  # type: ignore[arg-type]


def test_unencodable_payload() -> None:
    with pytest.raises(InvalidPayload, match="object cannot be encoded as JSON"):
        to_payload(object())  # type: ignore[arg-type]
    with pytest.raises(InvalidPayload, match="set"):
        Message.build("a", {1, 2})  # type: ignore[arg-type]


def test_bad_headers() -> None:
    with pytest.raises(InvalidPayload, match="values must be str, got int"):
        Message.build("a", headers={"n": 1})  # type: ignore[dict-item]
    with pytest.raises(InvalidPayload, match="names must be str"):
        Message.build("a", headers={2: "x"})  # type: ignore[dict-item]


def test_json_and_text_roundtrip() -> None:
    assert Message.build("a", {"k": [1, {"z": None}]}).json() == {"k": [1, {"z": None}]}
    assert Message.build("a", "plain").text() == "plain"
    assert Message.build("a", b"\xffok").text() == "\ufffdok"


def test_json_error_names_line_and_column() -> None:
    message = Message.build("a", b'{\n  "a": 1,\n  "b": }')
    with pytest.raises(InvalidPayload) as caught:
        message.json()
    assert "line 3, column 8" in str(caught.value)
    assert isinstance(caught.value.__cause__, ValueError)


def test_json_error_on_non_utf8() -> None:
    with pytest.raises(InvalidPayload, match="not UTF-8"):
        Message.build("a", b'"\xff\xfe\xfa"').json()


def test_ids_unique_and_time_ordered() -> None:
    ids = [new_id() for _ in range(10_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    built = [Message.build("a").id for _ in range(100)]
    assert built == sorted(built)
    assert built[0] > ids[-1]
