"""AsyncAPI import: our own 2.6 and 3.0 test documents give the right channels, messages and operations."""

from __future__ import annotations

import pytest

from eventdeck.core.asyncapi import Document, load_document
from tests.paths import ASYNCAPI_FIXTURES, DEMO

CLIMATE = "greenhouse/{bedId}/climate"
HEATER_ON = "greenhouse/{bedId}/heater/on"
HEATER_OFF = "greenhouse/{bedId}/heater/off"

# file -> (channels as (key, address), message names, operations as (key, action, channel key), commands)
EXPECTED: dict[str, tuple[list[tuple[str, str | None]], list[str], list[tuple[str, str, str]], list[str]]] = {
    "v2.6/greenhouse-mqtt.yaml": (
        [(CLIMATE, CLIMATE), (HEATER_ON, HEATER_ON), (HEATER_OFF, HEATER_OFF)],
        ["climateReading", "heaterSwitch"],
        [("receiveClimate", "receive", CLIMATE), ("heaterOn", "send", HEATER_ON), ("heaterOff", "send", HEATER_OFF)],
        [],
    ),
    "v2.6/invoices-rpc.yaml": (
        [("{replyQueue}", "{replyQueue}"), ("invoice_requests", "invoice_requests")],
        ["sendTotal", "totalInvoice"],
        [("sendTotal", "send", "{replyQueue}"), ("totalInvoice", "receive", "invoice_requests")],
        [],
    ),
    "v3/greenhouse-mqtt.yaml": (
        [("bedClimate", CLIMATE), ("heaterOn", HEATER_ON), ("heaterOff", HEATER_OFF)],
        ["climateReading", "heaterSwitch"],
        [
            ("receiveClimate", "receive", "bedClimate"),
            ("switchOn", "send", "heaterOn"),
            ("switchOff", "send", "heaterOff"),
        ],
        [],
    ),
    "v3/invoices-rpc.yaml": (
        [("invoiceRequests", "invoice_requests"), ("invoiceTotals", None)],
        ["totalInvoice", "invoiceTotal"],
        [
            ("requestTotal", "send", "invoiceRequests"),
            ("totalInvoices", "receive", "invoiceRequests"),
            ("announceTotals", "send", "invoiceTotals"),
        ],
        ["requestTotal", "totalInvoices"],
    ),
}


def _load(relative: str) -> Document:
    return load_document(ASYNCAPI_FIXTURES / relative)


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_document_imports_with_exact_channels_messages_and_operations(relative: str) -> None:
    channels, messages, operations, commands = EXPECTED[relative]
    document = _load(relative)
    assert [(c.key, c.address) for c in document.channels] == channels
    assert [m.name for m in document.messages] == messages
    assert [(o.key, o.action, o.channel.key) for o in document.operations] == operations
    assert [o.key for o in document.commands] == commands
    assert document.version == ("2.6.0" if relative.startswith("v2.6") else "3.0.0")


def test_the_fixtures_folder_holds_exactly_the_documents_checked_here() -> None:
    on_disk = {str(p.relative_to(ASYNCAPI_FIXTURES)) for p in ASYNCAPI_FIXTURES.glob("v*/*.y*ml")}
    assert on_disk == set(EXPECTED)


def test_parameters_become_single_level_wildcards() -> None:
    document = _load("v3/greenhouse-mqtt.yaml")
    climate = document.channel("bedClimate")
    assert climate.pattern == "greenhouse/+/climate"
    assert climate.parameters == ("bedId",)
    assert climate.carries("greenhouse/b7/climate")
    assert not climate.carries("greenhouse/b7/north/climate")
    assert document.channels_for("greenhouse/b7/heater/on") == (document.channel("heaterOn"),)
    assert _load("v2.6/invoices-rpc.yaml").channel("{replyQueue}").pattern == "+"


@pytest.mark.parametrize(
    ("relative", "on", "off"),
    [("v2.6/greenhouse-mqtt.yaml", "heaterOn", "heaterOff"), ("v3/greenhouse-mqtt.yaml", "switchOn", "switchOff")],
)
def test_shared_messages_traits_schemas_and_servers(relative: str, on: str, off: str) -> None:
    document = _load(relative)
    switch_on = next(o for o in document.operations if o.key == on)
    switch_off = next(o for o in document.operations if o.key == off)
    assert switch_on.messages[0] is switch_off.messages[0]  # one definition, shared
    message = switch_on.messages[0]
    assert message.title == "Switch a heater"
    assert message.content_type == "application/json"  # the document's defaultContentType
    # The message trait's headers are merged in; $refs are inlined.
    assert message.headers == {"type": "object", "properties": {"operator": {"type": "string", "format": "email"}}}
    assert message.payload["properties"]["takenAt"] == {
        "type": "string",
        "format": "date-time",
        "description": "When it happened.",
    }
    # YAML 1.2: the 2.6 document's unquoted `on`/`off` stay strings.
    assert message.payload["properties"]["state"]["enum"] == ["on", "off"]
    assert message.validatable
    (server,) = document.servers
    assert (server.name, server.host, server.protocol) == ("site", "greenhouse.example.net:{port}", "mqtt")
    assert server.resolved_host == "greenhouse.example.net:8883"


def test_traits_win_in_2_6_and_give_way_in_3_0() -> None:
    (old,) = [m for m in _load("v2.6/greenhouse-mqtt.yaml").messages if m.name == "heaterSwitch"]
    (new,) = [m for m in _load("v3/greenhouse-mqtt.yaml").messages if m.name == "heaterSwitch"]
    assert old.summary == "Sent from the operator console."
    assert (new.title, new.summary) == ("Switch a heater", "Tell one bed's heater to switch on or off.")


@pytest.mark.parametrize("relative", ["v2.6/greenhouse-mqtt.yaml", "v3/greenhouse-mqtt.yaml"])
def test_correlation_id_locations(relative: str) -> None:
    document = _load(relative)
    assert [m.correlation_id for m in document.messages] == [
        "$message.payload#/readingId",  # through a $ref to components.correlationIds
        None,
    ]


def test_rpc_inline_messages_schema_examples_and_server() -> None:
    document = _load("v2.6/invoices-rpc.yaml")
    total, request = document.messages
    assert total.payload["properties"]["total"] == {"type": "number", "minimum": 0, "examples": [129.5]}
    assert request.origin == "#/channels/invoice_requests/publish/message"
    assert [m.correlation_id for m in document.messages] == ["$message.header#/correlation_id"] * 2
    (server,) = document.servers
    assert (server.host, server.protocol, server.protocol_version) == ("rabbit.example.net", "amqp", "0.9.1")


def test_replies_through_components_make_both_sides_commands() -> None:
    document = _load("v3/invoices-rpc.yaml")
    request, serve = document.commands
    assert request.reply is not None
    assert serve.reply is not None
    assert request.reply.address_location == "$message.header#/reply_to"
    assert request.reply.channel is document.channel("invoiceTotals")
    assert [m.name for m in serve.reply.messages] == ["invoiceTotal"]
    assert document.channel("invoiceTotals").pattern is None
    assert request.messages == document.channel("invoiceRequests").messages  # no list: the channel's messages
    (example,) = request.messages[0].examples
    assert example.name == "twoLines"
    assert example.headers == {"reply_to": "amq.gen-7", "correlation_id": "c-1"}


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
