"""Corpus extras: the shared AsyncAPI corpus (AsyncAPI's own examples and official JSON Schemas) when it
is beside the clone. A user's clone has no corpus and skips these; everything they check is also
checked on our own documents in tests/fixtures/asyncapi/ by the other tests."""

from __future__ import annotations

import yaml

from eventdeck.core.asyncapi import load_document, validator_for
from eventdeck.core.asyncapi.examples import example_from_schema
from tests.core.asyncapi.corpus import corpus_file, official_errors
from tests.paths import ASYNCAPI_FIXTURES, CORPUS

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


def test_corpus_extra_every_corpus_document_imports_with_exact_channels_messages_and_operations() -> None:
    corpus_file("v3/simple.yml")  # skips, saying so, without the corpus
    assert {str(p.relative_to(CORPUS)) for p in CORPUS.glob("v*/*.y*ml")} == set(EXPECTED)
    for relative, (channels, messages, operations) in EXPECTED.items():
        document = load_document(corpus_file(relative))
        assert [(c.key, c.address) for c in document.channels] == channels, relative
        assert [m.name for m in document.messages] == messages, relative
        assert [(o.key, o.action, o.channel.key) for o in document.operations] == operations, relative
        assert document.version == ("2.6.0" if relative.startswith("v2.6") else "3.1.0"), relative
        assert document.commands == (), relative


def test_corpus_extra_corpus_and_fixture_documents_are_valid_against_the_official_schemas() -> None:
    corpus_file("schemas/asyncapi-3.0.0.json")
    paths = [*(corpus_file(relative) for relative in EXPECTED), *sorted(ASYNCAPI_FIXTURES.glob("v*/*.yaml"))]
    for path in paths:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert official_errors(raw, raw["asyncapi"]) == [], path


def test_corpus_extra_every_corpus_message_gets_a_fitting_example() -> None:
    messages = [m for relative in EXPECTED for m in load_document(corpus_file(relative)).messages]
    assert len(messages) == 19
    for message in messages:
        assert validator_for(message).validate_value(example_from_schema(message.payload)) == [], message.name
