"""Export: observed traffic -> an AsyncAPI 3.0.0 document -> its JSON Schema -> imported back."""

from __future__ import annotations

import asyncio
import json
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from eventdeck.core import Broker, Kind, Message
from eventdeck.core.asyncapi import MessageSpec, load_document, parse_document, validator_for
from eventdeck.core.asyncapi.export import MAX_PENDING, MAX_SAMPLES, TrafficRecorder, export_document, to_yaml
from eventdeck.core.asyncapi.infer import infer_schema
from tests.core.asyncapi.conformance import conformance_errors
from tests.paths import DEMO


class Sub(NamedTuple):
    name: str
    pattern: str


def _traffic() -> list[Message]:
    return [
        Message.build(
            "user/signedup",
            {"name": "Ann", "email": "ann@example.com", "age": 31, "at": "2024-05-01T10:00:00Z", "web": "https://a.io"},
            publisher="signup",
            headers={"trace": "t1", "tenant": "x"},
        ),
        Message.build(
            "user/signedup",
            {"name": "Bob", "email": "bob@example.com", "at": "2024-05-01T10:00:01+02:00", "web": "not a link"},
            publisher="signup",
            headers={"trace": "t2"},
        ),
        Message.build("fridge/level", {"percentage": 23.5, "fridge": {"id": 1, "door": None}}, publisher="fridge"),
        Message.build("fridge/level", {"percentage": 20, "fridge": {"id": 2}}, publisher="fridge"),
        Message.build(
            "groceries/order",
            {"items": ["milk"]},
            kind=Kind.COMMAND,
            publisher="shop",
            correlation_id="c1",
            reply_to="$reply/shop",
        ),
        Message.build("$reply/shop", {"orderId": "o-1"}, kind=Kind.REPLY, publisher="grocer", correlation_id="c1"),
        Message.build("$dead/fridge/level", {"percentage": 3}, publisher="broker"),
        Message.build("logs/raw", b"\x00\x01", content_type="application/octet-stream", publisher="x"),
        Message.build("notes", "hello", content_type="text/plain"),
    ]


SUBSCRIPTIONS = [Sub("analytics", "user/#"), Sub("grocer", "groceries/order"), Sub("$reply/shop", "$reply/shop")]


def test_inferred_schemas_types_required_and_formats() -> None:
    document = export_document(_traffic(), SUBSCRIPTIONS)
    user = document["channels"]["user_signedup"]["messages"]["user_signedup"]
    assert user["payload"] == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "age": {"type": "integer"},
            "at": {"type": "string", "format": "date-time"},
            "web": {"type": "string"},  # one sample is not a URI
        },
        "required": ["name", "email", "at", "web"],
    }
    assert user["headers"] == {
        "type": "object",
        "properties": {"trace": {"type": "string"}, "tenant": {"type": "string"}},
        "required": ["trace"],
    }
    assert user["contentType"] == "application/json"
    assert user["examples"] == [
        {
            "payload": {
                "name": "Ann",
                "email": "ann@example.com",
                "age": 31,
                "at": "2024-05-01T10:00:00Z",
                "web": "https://a.io",
            },
            "headers": {"trace": "t1", "tenant": "x"},
        }
    ]
    fridge = document["channels"]["fridge_level"]["messages"]["fridge_level"]["payload"]
    assert fridge["properties"]["percentage"] == {"type": "number"}
    assert fridge["properties"]["fridge"] == {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "door": {"type": "null"}},
        "required": ["id"],
    }
    assert "payload" not in document["channels"]["logs_raw"]["messages"]["logs_raw"]
    assert document["channels"]["notes"]["messages"]["notes"]["payload"] == {"type": "string"}
    assert not any(c["address"] and c["address"].startswith("$") for c in document["channels"].values())


def test_operations_per_publisher_and_subscriber_and_commands_with_replies() -> None:
    document = export_document(_traffic(), SUBSCRIPTIONS)
    operations = document["operations"]
    assert {k: (o["action"], o["channel"]["$ref"]) for k, o in operations.items()} == {
        "signup_send_user_signedup": ("send", "#/channels/user_signedup"),
        "fridge_send_fridge_level": ("send", "#/channels/fridge_level"),
        "shop_send_groceries_order": ("send", "#/channels/groceries_order"),
        "x_send_logs_raw": ("send", "#/channels/logs_raw"),
        "anonymous_send_notes": ("send", "#/channels/notes"),
        "analytics_receive_user_signedup": ("receive", "#/channels/user_signedup"),
        "grocer_receive_groceries_order": ("receive", "#/channels/groceries_order"),
    }
    for key in ("shop_send_groceries_order", "grocer_receive_groceries_order"):
        assert operations[key]["reply"] == {
            "address": {"location": "$message.header#/replyTo", "description": "The command's reply-to."},
            "channel": {"$ref": "#/channels/groceries_order_reply"},
            "messages": [{"$ref": "#/channels/groceries_order_reply/messages/groceries_orderReply"}],
        }
    reply = document["channels"]["groceries_order_reply"]
    assert reply["address"] is None
    assert reply["messages"]["groceries_orderReply"]["payload"]["required"] == ["orderId"]


def test_export_is_valid_asyncapi_and_imports_back() -> None:
    document = export_document(_traffic(), [*SUBSCRIPTIONS, Sub("idle", "nothing/yet")], title="Shop")
    assert conformance_errors(document) == []
    imported = parse_document(to_yaml(document), "exported.yaml")
    assert imported.version == "3.0.0"
    assert imported.title == "Shop"
    assert [(c.key, c.address, [m.name for m in c.messages]) for c in imported.channels] == [
        ("user_signedup", "user/signedup", ["user_signedup"]),
        ("fridge_level", "fridge/level", ["fridge_level"]),
        ("groceries_order", "groceries/order", ["groceries_orderCommand"]),
        ("logs_raw", "logs/raw", ["logs_raw"]),
        ("notes", "notes", ["notes"]),
        ("groceries_order_reply", None, ["groceries_orderReply"]),
        ("nothing_yet", "nothing/yet", []),
    ]
    assert [o.key for o in imported.commands] == ["shop_send_groceries_order", "grocer_receive_groceries_order"]
    # Every example fits its own inferred schema.
    for message in imported.messages:
        for example in message.examples:
            assert validator_for(message).validate_value(example.payload) == [], message.name


def test_redacted_examples_keep_their_shape_and_fit_the_schema() -> None:
    document = export_document(_traffic(), redact_values=True)
    assert conformance_errors(document) == []
    user = document["channels"]["user_signedup"]["messages"]["user_signedup"]
    assert user["examples"] == [
        {
            "payload": {
                "name": "redacted",
                "email": "user@example.com",
                "age": 0,
                "at": "1970-01-01T00:00:00Z",
                "web": "redacted",
            },
            "headers": {"trace": "redacted", "tenant": "redacted"},
        }
    ]
    assert "Ann" not in to_yaml(document)
    for message in parse_document(to_yaml(document)).messages:
        for example in message.examples:
            assert validator_for(message).validate_value(example.payload) == [], message.name


def test_channel_keys_are_sanitised_and_unique() -> None:
    traffic = [Message.build(name, {"n": 1}, publisher="p") for name in ("a/b", "a_b", "a b/ü", "€")]
    document = export_document(traffic)
    assert [(k, c["address"]) for k, c in document["channels"].items()] == [
        ("a_b", "a/b"),
        ("a_b_2", "a_b"),
        ("a_b_3", "a b/ü"),
        ("channel", "€"),
    ]
    assert conformance_errors(document) == []


def test_the_demo_workspace_round_trips_through_its_examples() -> None:
    demo = load_document(DEMO)
    traffic = [
        Message.build(channel.address, example.payload, publisher="demo")
        for channel in demo.channels
        if channel.address is not None
        for message in channel.messages
        for example in message.examples
    ]
    document = export_document(traffic)
    assert conformance_errors(document) == []
    imported = parse_document(to_yaml(document))
    assert [c.address for c in imported.channels] == [c.address for c in demo.channels if c.address is not None]
    # The examples the demo documents validate against both the demo's schemas and the inferred ones.
    for channel in demo.channels:
        for message in channel.messages:
            for example in message.examples:
                assert validator_for(message).validate_value(example.payload) == []


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(JSON_VALUES, min_size=1, max_size=5))
def test_every_sample_fits_the_schema_inferred_from_it(samples: list[Any]) -> None:
    schema = infer_schema(samples)
    Draft7Validator.check_schema(schema)
    check = validator_for(MessageSpec(name="sample", payload=schema))
    for sample in samples:
        assert check.validate_value(json.loads(json.dumps(sample))) == [], (schema, sample)


def test_a_recorder_fed_message_by_message_keeps_bounded_state() -> None:
    recorder = TrafficRecorder()
    for number in range(MAX_PENDING + 5):
        recorder.add(
            Message.build("jobs/run", {"n": number}, kind=Kind.COMMAND, correlation_id=f"c{number}", reply_to="$r")
        )
    recorder.add(Message.build("$r", {"ok": True}, kind=Kind.REPLY, correlation_id="c0"))  # forgotten: too old
    recorder.add(Message.build("$r", {"ok": True}, kind=Kind.REPLY, correlation_id=f"c{MAX_PENDING}"))
    document = recorder.document()
    (command,) = document["channels"]["jobs_run"]["messages"].values()
    assert command["summary"] == f"{MAX_PENDING + 5:,} seen"
    (reply,) = document["channels"]["jobs_run_reply"]["messages"].values()
    assert reply["summary"] == "1 seen"
    assert conformance_errors(document) == []


async def test_export_of_real_broker_traffic_with_a_command() -> None:
    recorder = TrafficRecorder()
    async with Broker() as broker:
        tap = broker.subscribe("#", name="recorder")
        handler = broker.subscribe("orders/place", name="orders-service")

        async def serve() -> None:
            delivery = await handler.get()
            await broker.reply(delivery.message, {"orderId": "o-1"}, publisher="orders-service")

        server = asyncio.create_task(serve())
        await broker.publish("orders/placed", {"id": 1}, publisher="shop")
        answer = await broker.request("orders/place", {"items": ["tea"]}, timeout=10, publisher="shop")
        await server
        for delivery in tap.take(100):
            recorder.add(delivery.message)
        recorder.add(answer)  # replies travel on $reply/..., which '#' does not match
        document = recorder.document(broker.subscriptions())
    assert conformance_errors(document) == []
    imported = parse_document(to_yaml(document))
    assert [c.address for c in imported.channels] == ["orders/placed", "orders/place", None]
    assert {o.key: o.is_command for o in imported.operations} == {
        "shop_send_orders_placed": False,
        "shop_send_orders_place": True,
        "recorder_receive_orders_placed": False,
        "recorder_receive_orders_place": True,
        "orders-service_receive_orders_place": True,
    }


def _mixed_traffic() -> list[Message]:
    """Events past the sample limit, headers on some, other content types and publishers, broker channels,
    commands answered within the same batch and later, an unanswered reply."""
    messages: list[Message] = []
    for number in range(2 * MAX_SAMPLES + 7):
        channel = f"sensor/{number % 3}"
        headers = {"trace": str(number)} if number % 4 == 0 else ({"site": "a"} if number % 5 == 0 else None)
        content_type = "text/plain" if number % 7 == 0 else ("application/octet-stream" if number % 11 == 0 else "")
        payload: Any = f"t{number}" if content_type == "text/plain" else {"n": number, "ok": number % 2 == 0}
        messages.append(
            Message.build(channel, payload, content_type=content_type, headers=headers, publisher=f"p{number % 4}")
        )
        if number % 50 == 0:
            messages.append(Message.build("$dead/sensor", {"n": number}))
            messages.append(
                Message.build("jobs/run", {"n": number}, kind=Kind.COMMAND, correlation_id=f"c{number}", reply_to="$r")
            )
        if number % 50 in (0, 30):  # the first reply in the same batch as its command, the second later
            answered = number - number % 50
            messages.append(Message.build("$r", {"done": answered}, kind=Kind.REPLY, correlation_id=f"c{answered}"))
    messages.append(Message.build("$r", {"done": -1}, kind=Kind.REPLY, correlation_id="nobody"))
    return messages


@pytest.mark.parametrize("batch", [1, 7, 333, 100_000])
def test_a_recorder_fed_in_batches_records_exactly_what_it_does_message_by_message(batch: int) -> None:
    messages = _mixed_traffic()
    one_by_one, batched = TrafficRecorder(), TrafficRecorder()
    for message in messages:
        one_by_one.add(message)
    for start in range(0, len(messages), batch):
        batched.add_all(messages[start : start + batch])
    subscriptions = [Sub("monitor", "sensor/#"), Sub("worker", "jobs/run")]
    expected = one_by_one.document(subscriptions)
    assert batched.document(subscriptions) == expected
    assert list(expected["channels"]) == ["sensor_0", "jobs_run", "sensor_1", "sensor_2", "jobs_run_reply"]
    assert {key: seen.count for key, seen in batched.observed.items()} == {
        key: seen.count for key, seen in one_by_one.observed.items()
    }
