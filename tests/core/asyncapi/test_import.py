"""AsyncAPI import: every corpus document (2.6 and 3.x) gives the right channels, messages and operations."""

from __future__ import annotations

import pytest
import yaml

from eventdeck.core.asyncapi import Document, load_document
from tests.core.asyncapi.corpus import corpus_file, official_errors
from tests.paths import DEMO

SL = "smartylighting/streetlights/1/0"
MEASURED = f"{SL}/event/{{streetlightId}}/lighting/measured"
DIM = f"{SL}/action/{{streetlightId}}/dim"
TURN_ON = f"{SL}/action/{{streetlightId}}/turn/on"
TURN_OFF = f"{SL}/action/{{streetlightId}}/turn/off"

# file -> (channels as (key, address), message names, operations as (key, action, channel key))
EXPECTED: dict[str, tuple[list[tuple[str, str]], list[str], list[tuple[str, str, str]]]] = {
    "v2.6/simple.yml": (
        [("user/signedup", "user/signedup")],
        ["UserSignedUp"],
        [("user/signedup.subscribe", "send", "user/signedup")],
    ),
    "v2.6/correlation-id.yml": (
        [(MEASURED, MEASURED), (DIM, DIM)],
        ["lightMeasured", "dimLight"],
        [("receiveLightMeasurement", "receive", MEASURED), ("dimLight", "send", DIM)],
    ),
    "v2.6/rpc-server.yml": (
        [("{queue}", "{queue}"), ("rpc_queue", "rpc_queue")],
        ["sendSumResult", "sum"],
        [("sendSumResult", "send", "{queue}"), ("sum", "receive", "rpc_queue")],
    ),
    "v2.6/streetlights-mqtt.yml": (
        [(MEASURED, MEASURED), (TURN_ON, TURN_ON), (TURN_OFF, TURN_OFF), (DIM, DIM)],
        ["lightMeasured", "turnOnOff", "dimLight"],
        [
            ("receiveLightMeasurement", "receive", MEASURED),
            ("turnOn", "send", TURN_ON),
            ("turnOff", "send", TURN_OFF),
            ("dimLight", "send", DIM),
        ],
    ),
    "v3/simple.yml": (
        [("userSignedup", "user/signedup")],
        ["UserSignedUp"],
        [("sendUserSignedup", "send", "userSignedup")],
    ),
    "v3/application-headers.yml": (
        [("lightingMeasured", MEASURED)],
        ["lightMeasured"],
        [("receiveLightMeasurement", "receive", "lightingMeasured")],
    ),
    "v3/correlation-id.yml": (
        [("lightingMeasured", MEASURED), ("lightsDim", DIM)],
        ["lightMeasured", "dimLight"],
        [("receiveLightMeasurement", "receive", "lightingMeasured"), ("dimLight", "send", "lightsDim")],
    ),
    "v3/rpc-client.yml": (
        [("queue", "{queue}"), ("rpc_queue", "rpc_queue")],
        ["receiveSumResult", "requestSum"],
        [("receiveSumResult", "receive", "queue"), ("requestSum", "send", "rpc_queue")],
    ),
    "v3/rpc-server.yml": (
        [("queue", "{queue}"), ("rpc_queue", "rpc_queue")],
        ["sendSumResult", "sum"],
        [("sendSumResult", "send", "queue"), ("sum", "receive", "rpc_queue")],
    ),
    "v3/streetlights-mqtt.yml": (
        [("lightingMeasured", MEASURED), ("lightTurnOn", TURN_ON), ("lightTurnOff", TURN_OFF), ("lightsDim", DIM)],
        ["lightMeasured", "turnOnOff", "dimLight"],
        [
            ("receiveLightMeasurement", "receive", "lightingMeasured"),
            ("turnOn", "send", "lightTurnOn"),
            ("turnOff", "send", "lightTurnOff"),
            ("dimLight", "send", "lightsDim"),
        ],
    ),
}


def _load(relative: str) -> Document:
    return load_document(corpus_file(relative))


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_corpus_document_imports_with_exact_channels_messages_and_operations(relative: str) -> None:
    channels, messages, operations = EXPECTED[relative]
    document = _load(relative)
    assert [(c.key, c.address) for c in document.channels] == channels
    assert [m.name for m in document.messages] == messages
    assert [(o.key, o.action, o.channel.key) for o in document.operations] == operations
    assert document.version == ("2.6.0" if relative.startswith("v2.6") else "3.1.0")
    assert document.commands == ()


def test_the_corpus_holds_exactly_the_documents_checked_here() -> None:
    corpus_file("v3/simple.yml")
    on_disk = {str(p.relative_to(p.parents[1])) for p in corpus_file("v3/simple.yml").parents[1].glob("v*/*.y*ml")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_corpus_documents_are_valid_against_the_official_schema(relative: str) -> None:
    raw = yaml.safe_load(corpus_file(relative).read_text(encoding="utf-8"))
    assert official_errors(raw, raw["asyncapi"]) == []


def test_parameters_become_single_level_wildcards() -> None:
    document = _load("v3/streetlights-mqtt.yml")
    measured = document.channel("lightingMeasured")
    assert measured.pattern == f"{SL}/event/+/lighting/measured"
    assert measured.parameters == ("streetlightId",)
    assert measured.carries(f"{SL}/event/lamp-7/lighting/measured")
    assert not measured.carries(f"{SL}/event/lamp-7/extra/lighting/measured")
    assert document.channels_for(f"{SL}/action/9/dim") == (document.channel("lightsDim"),)
    assert _load("v3/rpc-server.yml").channel("queue").pattern == "+"


@pytest.mark.parametrize("relative", ["v2.6/streetlights-mqtt.yml", "v3/streetlights-mqtt.yml"])
def test_shared_messages_traits_schemas_and_servers(relative: str) -> None:
    document = _load(relative)
    turn_on = next(o for o in document.operations if o.key == "turnOn")
    turn_off = next(o for o in document.operations if o.key == "turnOff")
    assert turn_on.messages[0] is turn_off.messages[0]  # one definition, shared
    message = turn_on.messages[0]
    assert (message.title, message.summary) == (
        "Turn on/off",
        "Command a particular streetlight to turn the lights on or off.",
    )
    assert message.content_type == "application/json"  # the document's defaultContentType
    # The message trait's headers are merged in; $refs are inlined.
    assert message.headers == {
        "type": "object",
        "properties": {"my-app-header": {"type": "integer", "minimum": 0, "maximum": 100}},
    }
    assert message.payload["properties"]["sentAt"] == {
        "type": "string",
        "format": "date-time",
        "description": "Date and time when the message was sent.",
    }
    # YAML 1.2: the 2.6 document's unquoted `on`/`off` stay strings.
    assert message.payload["properties"]["command"]["enum"] == ["on", "off"]
    assert message.validatable
    (server,) = document.servers
    assert (server.name, server.host, server.protocol) == ("production", "test.mosquitto.org:{port}", "mqtt")
    assert server.resolved_host == "test.mosquitto.org:1883"


@pytest.mark.parametrize("relative", ["v2.6/correlation-id.yml", "v3/correlation-id.yml"])
def test_correlation_id_locations(relative: str) -> None:
    document = _load(relative)
    assert [m.correlation_id for m in document.messages] == [
        "$message.header#/MQMD/CorrelId",
        "$message.payload#/sentAt",  # through a $ref to components.correlationIds
    ]


def test_rpc_server_examples_and_inline_messages() -> None:
    document = _load("v2.6/rpc-server.yml")
    sum_result, total = document.messages
    assert sum_result.payload["properties"]["result"] == {"type": "number", "examples": [7]}
    assert total.origin == "#/channels/rpc_queue/publish/message"
    assert [m.correlation_id for m in document.messages] == ["$message.header#/correlation_id"] * 2
    (server,) = document.servers
    assert (server.host, server.protocol) == ("rabbitmq.example.org", "amqp")


def test_the_demo_workspace_imports_with_its_command() -> None:
    document = load_document(DEMO)
    assert [c.address for c in document.channels] == [
        "user/signedup",
        "user/followed",
        "fridge/level",
        "groceries/order",
        None,
    ]
    (order, fulfil) = document.commands
    assert (order.key, order.action, fulfil.key, fulfil.action) == (
        "orderGroceries",
        "send",
        "fulfilGroceryOrder",
        "receive",
    )
    assert order.reply is not None
    assert order.reply.address_location == "$message.header#/replyTo"
    assert order.reply.channel is document.channel("groceriesOrderReply")
    assert [m.name for m in order.reply.messages] == ["OrderConfirmed"]
    assert document.channel("groceriesOrderReply").pattern is None
