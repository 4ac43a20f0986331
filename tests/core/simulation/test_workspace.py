"""Workspaces: the demo document loads and is valid AsyncAPI 3.0; bad documents get specific errors."""

from __future__ import annotations

import importlib.resources
import json
import textwrap
from pathlib import Path

import pytest
import yaml

from eventdeck.core import EventDeckError
from eventdeck.core.simulation.generators import Bands, Choice, FromRequest, IntRange, Sample, Template, Walk
from eventdeck.core.simulation.settings import PublisherSettings, SubscriberSettings
from eventdeck.core.simulation.workspace import WorkspaceError, load_demo, load_workspace, parse_workspace
from tests.core.asyncapi.conformance import conformance_errors
from tests.core.simulation.story_documents import with_text
from tests.paths import DEMO

MINIMAL = """\
asyncapi: 3.0.0
info:
  title: Minimal
  version: 0.1.0
channels:
  ping:
    address: ping
    messages:
      ping:
        payload: {type: object}
operations:
  sendPing:
    action: send
    channel: {$ref: '#/channels/ping'}
    x-eventdeck-publisher: {name: pinger, rate: 2}
"""


def demo_text() -> str:
    return DEMO.read_text(encoding="utf-8")


# -- the demo ----------------------------------------------------------------


def test_demo_loads_with_the_expected_channels_and_messages() -> None:
    ws = load_demo()
    assert ws.version == "3.0.0"
    assert ws.api_version == "1.0.0"
    assert ws.title == "EventDeck demo household"
    assert ws.source.endswith("scenarios/household.yaml")
    assert ws.addresses == ["user/signedup", "user/followed", "fridge/level", "groceries/order"]
    signed_up = ws.channel("userSignedUp").message("userSignedUp")
    assert signed_up.name == "UserSignedUp"
    assert signed_up.title == "A user signed up"
    assert signed_up.content_type == "application/json"
    assert signed_up.payload is not None
    assert set(signed_up.payload["properties"]) == {"name", "email", "age"}
    assert signed_up.examples[0].payload == {"name": "Ada Lovelace", "email": "ada.lovelace@example.com", "age": 36}
    followed = ws.channel_at("user/followed")
    assert followed is not None
    assert set(followed.messages[0].examples[0].payload) == {"username", "name", "picture"}
    fridge = ws.channel_at("fridge/level")
    assert fridge is not None
    assert fridge.messages[0].examples[0].payload["percentage"] == 23
    assert ws.channel("groceriesOrderReply").address is None


def test_demo_has_one_command_with_a_reply_and_a_responder() -> None:
    ws = load_demo()
    order, fulfil = ws.commands
    assert (order.key, order.action, order.channel.address) == ("orderGroceries", "send", "groceries/order")
    assert order.reply is not None
    assert order.reply.channel is ws.channel("groceriesOrderReply")
    assert order.reply.address_location == "$message.header#/replyTo"
    assert [m.key for m in order.reply.messages] == ["orderConfirmed"]
    assert order.publisher is not None
    assert order.publisher.name == "shopping-app"
    assert order.publisher.timeout == 2.0
    assert fulfil.action == "receive"
    assert fulfil.responder is not None
    assert fulfil.responder.name == "grocery-service"
    assert 0 < fulfil.responder.delay < 1
    assert ws.responders == [fulfil]


def test_demo_simulation_settings() -> None:
    ws = load_demo()
    names = {op.publisher.name: op.publisher.rate for op in ws.publishers if op.publisher is not None}
    assert set(names) == {"signup-service", "social-service", "fridge-sensor", "shopping-app"}
    assert all(0 < rate <= 5 for rate in names.values())
    gens = ws.generators(ws.channel("userSignedUp").messages[0])
    assert isinstance(gens["name"], Choice)
    assert gens["email"] == Template("{name|slug}@example.com")
    assert isinstance(gens["age"], IntRange)
    fridge = ws.generators(ws.channel("fridgeLevel").messages[0])
    assert isinstance(fridge["percentage"], Walk)
    assert fridge["percentage"].whole
    assert isinstance(fridge["status"], Bands)
    assert isinstance(ws.generators(ws.channel("groceriesOrder").messages[0])["items"], Sample)
    assert ws.generators(ws.channel("groceriesOrderReply").messages[0])["items"] == FromRequest("items")


def test_demo_has_simulated_subscribers() -> None:
    ws = load_demo()
    settings = {op.key: op.subscriber for op in ws.subscribers}
    assert settings == {
        "sendWelcomeMail": SubscriberSettings("welcome-mailer", "user/signedup", delay=0.05),
        "notifyFollowed": SubscriberSettings("notifications", "user/followed", delay=0.3),
        "updateShoppingList": SubscriberSettings(
            "shopping-list", "fridge/level", delay=0.2, failure_rate=0.25, durable=True, max_attempts=2
        ),
        "collectUserAnalytics": SubscriberSettings("analytics", "user/#"),
    }
    for op in ws.subscribers:
        assert op.action == "receive"
        assert not op.is_command
        assert op.responder is None
    assert ws.operation("collectUserAnalytics").channel is ws.channel("userSignedUp")
    assert ws.operation("updateShoppingList").messages == ws.channel("fridgeLevel").messages
    # every event channel has a consumer, so the broker has something to push
    for address in ("user/signedup", "user/followed", "fridge/level"):
        assert any(op.subscriber and op.subscriber.pattern in (address, "user/#") for op in ws.subscribers)


def test_demo_is_packaged_as_a_resource() -> None:
    resource = importlib.resources.files("eventdeck.resources").joinpath("scenarios/household.yaml")
    assert resource.read_text(encoding="utf-8") == demo_text()


def test_demo_is_valid_asyncapi_3_0() -> None:
    assert conformance_errors(yaml.safe_load(demo_text())) == []


def test_examples_match_the_generated_field_names() -> None:
    # The simulation starts from an example and overwrites generated fields: they must describe the same payload.
    demo = load_demo()
    for channel in demo.channels:
        for message in channel.messages:
            assert message.examples, f"{message.key} has no example"
            assert message.payload is not None
            properties = set(message.payload["properties"])
            assert set(message.examples[0].payload) <= properties
            assert set(demo.generators(message)) <= properties


# -- loading files and minimal documents --------------------------------------


def test_load_workspace_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    ws = load_workspace(path)
    assert ws.source == str(path)
    assert ws.addresses == ["ping"]
    (op,) = ws.publishers
    assert op.messages == ws.channel("ping").messages  # omitted 'messages' means all of the channel's
    assert not op.is_command


def test_json_documents_load_too() -> None:
    ws = parse_workspace(json.dumps(yaml.safe_load(MINIMAL)), "mine.json")
    assert ws.title == "Minimal"


def test_refs_to_components_are_followed() -> None:
    text = MINIMAL.replace(
        "      ping:\n        payload: {type: object}\n",
        "      ping: {$ref: '#/components/messages/ping'}\n",
    ) + textwrap.dedent("""\
        components:
          messages:
            ping:
              name: Ping
              payload: {$ref: '#/components/schemas/ping'}
          schemas:
            ping: {type: object, properties: {n: {type: integer}}}
        """)
    message = parse_workspace(text).channel("ping").message("ping")
    assert message.name == "Ping"
    assert message.payload == {"type": "object", "properties": {"n": {"type": "integer"}}}


# -- errors --------------------------------------------------------------------


def fails(text: str, source: str = "bad.yaml") -> WorkspaceError:
    with pytest.raises(WorkspaceError) as info:
        parse_workspace(text, source)
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(WorkspaceError, match=r"nope\.yaml: no such file") as info:
        load_workspace(missing)
    assert isinstance(info.value, EventDeckError)
    assert info.value.source == str(missing)


def test_bad_yaml_names_the_file_and_line() -> None:
    error = fails("asyncapi: 3.0.0\ninfo:\n  title: [unclosed\n  version: 1\n")
    assert error.source == "bad.yaml"
    assert error.line is not None
    assert str(error).startswith(f"bad.yaml, line {error.line}: invalid YAML")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("asyncapi: 3.0.0\ninfo: {title: caf\xe9}\n".encode("latin-1"))
    with pytest.raises(WorkspaceError, match="not UTF-8"):
        load_workspace(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a mapping at the top, got nothing"),
        ("- 1\n- 2\n", "expected a mapping at the top, got a list"),
        ("info: {title: x, version: '1'}\n", "no 'asyncapi' field naming its version"),
        ("openapi: 3.1.0\n", "an OpenAPI document"),
        ("asyncapi: 2.6.0\ninfo: {title: x, version: '1'}\n", "AsyncAPI 2.6.0 is not supported yet"),
        ("asyncapi: 3.0\ninfo: {title: x, version: '1'}\n", "unsupported AsyncAPI version '3.0'"),
        ("asyncapi: 3.0.0\n", "'info' must be a mapping, got nothing"),
        ("asyncapi: 3.0.0\ninfo: {version: '1'}\n", "#/info: 'info' has no 'title'"),
    ],
)
def test_document_level_errors(text: str, message: str) -> None:
    assert message in str(fails(text))


def test_wrong_version_names_the_line() -> None:
    error = fails("# a comment\nasyncapi: 2.6.0\ninfo: {title: x, version: '1'}\n")
    assert error.line == 2
    assert error.path == "#/asyncapi"
    assert (
        str(error)
        == "bad.yaml, line 2: #/asyncapi: AsyncAPI 2.6.0 is not supported yet; workspaces are AsyncAPI 3.x documents"
    )


def replace(old: str, new: str, text: str = MINIMAL) -> str:
    assert old in text
    return text.replace(old, new)


def ping_message(new: str) -> str:
    """MINIMAL with the ping message's payload line replaced by ``new``."""
    return replace("payload: {type: object}", new)


PING = "#/channels/ping/messages/ping"
GENERATE = f"{PING}/x-eventdeck-generate/n"


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        (replace("action: send", "action: publish"), "#/operations/sendPing/action", "'send' or 'receive'"),
        (replace("    action: send\n", ""), "#/operations/sendPing", "missing required field 'action'"),
        (
            replace("channel: {$ref: '#/channels/ping'}", "channel: ping"),
            "#/operations/sendPing/channel",
            "#/channels/...",
        ),
        (
            replace("'#/channels/ping'", "'#/channels/pong'"),
            "#/operations/sendPing/channel/$ref",
            "points to nothing: no 'pong'",
        ),
        (replace("address: ping", "address: 7"), "#/channels/ping/address", "must be text or null"),
        (ping_message("payload: 5"), f"{PING}/payload", "must be a mapping or a boolean"),
        (replace("rate: 2", "rate: fast"), "#/operations/sendPing/x-eventdeck-publisher/rate", "must be a number"),
        (replace("rate: 2", "rate: 0"), "#/operations/sendPing/x-eventdeck-publisher/rate", "more than 0"),
        (replace("{name: pinger, rate: 2}", "{rate: 2}"), "#/operations/sendPing/x-eventdeck-publisher", "'name'"),
        (replace("action: send", "action: receive"), "#/operations/sendPing/x-eventdeck-publisher", "'send' operation"),
        (ping_message("payload: {$ref: '#/components/schemas/nope'}"), f"{PING}/payload/$ref", "points to nothing"),
        (
            ping_message("payload: {$ref: 'other.yaml#/x'}"),
            f"{PING}/payload/$ref",
            "refers to a file, but this document was not read from one",
        ),
        (ping_message("examples: {payload: 1}"), f"{PING}/examples", "must be a list"),
        (ping_message("x-eventdeck-generate: {n: {int: [5, 1]}}"), f"{GENERATE}/int", "low (5) is above high (1)"),
        (ping_message("x-eventdeck-generate: {n: {choice: []}}"), f"{GENERATE}/choice", "non-empty list"),
        (
            ping_message("x-eventdeck-generate: {n: {template: '{x|shout}'}}"),
            f"{GENERATE}/template",
            "unknown filter 'shout'",
        ),
        (ping_message("x-eventdeck-generate: {n: {int: [1, 2], choice: [3]}}"), GENERATE, "exactly one of"),
        (
            ping_message("x-eventdeck-generate: {n: {int: [1, 2], decimals: 2}}"),
            f"{GENERATE}/decimals",
            "unknown field 'decimals' (known: int)",
        ),
        (
            replace("rate: 2", "rate: 2, rat: 3"),
            "#/operations/sendPing/x-eventdeck-publisher/rat",
            "unknown field 'rat' (known: name, rate, timeout, retain)",
        ),
        (
            replace("rate: 2", "rate: 2, retain: 1"),
            "#/operations/sendPing/x-eventdeck-publisher/retain",
            "true or false",
        ),
    ],
)
def test_structure_errors_name_the_path_and_line(text: str, path: str, message: str) -> None:
    error = fails(text)
    assert error.path == path
    assert message in error.problem
    assert error.line is not None
    # The reported line holds the offending key (or its parent, for a missing field).
    last = path.rsplit("/", maxsplit=1)[-1]
    assert last in text.splitlines()[error.line - 1] or "missing" in message


SUBSCRIBER = (
    MINIMAL
    + """\
  receivePing:
    action: receive
    channel: {$ref: '#/channels/ping'}
    x-eventdeck-subscriber:
      name: ponger
      delay: 0.1
      failureRate: 0.5
      durable: true
"""
)


def sub(old: str, new: str, text: str = SUBSCRIBER) -> str:
    return replace(old, new, text)


def with_field(line: str) -> str:
    """SUBSCRIBER with one more line in its x-eventdeck-subscriber."""
    return sub("name: ponger", f"name: ponger\n      {line}")


# The subscriber alone: the ping channel without its publisher (which needs a fixed address).
ONLY_SUBSCRIBER = sub("    x-eventdeck-publisher: {name: pinger, rate: 2}\n", "")


def test_subscriber_settings_and_defaults() -> None:
    ws = parse_workspace(SUBSCRIBER)
    (op,) = ws.subscribers
    assert op.subscriber == SubscriberSettings("ponger", "ping", delay=0.1, failure_rate=0.5, durable=True)
    bare = parse_workspace(sub("      delay: 0.1\n      failureRate: 0.5\n      durable: true\n", ""))
    assert bare.subscribers[0].subscriber == SubscriberSettings("ponger", "ping", 0.0, 0.0, False, 5)
    wide = parse_workspace(with_field("pattern: '#'\n      maxAttempts: 1"))
    settings = wide.subscribers[0].subscriber
    assert settings is not None
    assert (settings.pattern, settings.max_attempts) == ("#", 1)
    assert settings.consumers == 1  # one consumer unless it says more
    pool = parse_workspace(with_field("consumers: 20")).subscribers[0].subscriber
    assert pool is not None
    assert pool.consumers == 20


SUB = "#/operations/receivePing/x-eventdeck-subscriber"


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        (sub("delay: 0.1", "delay: -0.5"), f"{SUB}/delay", "'delay' must be a number from 0 to 60, got -0.5"),
        (sub("delay: 0.1", "delay: soon"), f"{SUB}/delay", "'delay' must be a number"),
        (sub("failureRate: 0.5", "failureRate: 1.5"), f"{SUB}/failureRate", "from 0 to 1, got 1.5"),
        (sub("failureRate: 0.5", "failureRate: -0.1"), f"{SUB}/failureRate", "from 0 to 1, got -0.1"),
        (sub("durable: true", "durable: 'yes'"), f"{SUB}/durable", "'durable' must be true or false"),
        (with_field("pattern: 'pi#'"), f"{SUB}/pattern", "not a valid subscription"),
        (with_field("pattern: '#/x'"), f"{SUB}/pattern", "only allowed as the last"),
        (with_field("pattern: 'pong/#'"), f"{SUB}/pattern", "does not cover"),
        (with_field("pattern: 7"), f"{SUB}/pattern", "must be a string"),
        (with_field("maxAttempts: 0"), f"{SUB}/maxAttempts", "whole number from 1"),
        (with_field("maxAttempts: 1.5"), f"{SUB}/maxAttempts", "whole number"),
        (with_field("consumers: 0"), f"{SUB}/consumers", "'consumers' must be a whole number from 1 to 20, got 0"),
        (with_field("consumers: 21"), f"{SUB}/consumers", "from 1 to 20, got 21"),
        (with_field("consumers: 2.5"), f"{SUB}/consumers", "whole number from 1 to 20, got 2.5"),
        (with_field("consumers: many"), f"{SUB}/consumers", "got 'many'"),
        (with_field("failurerate: 1"), f"{SUB}/failurerate", "unknown field"),
        (sub("      name: ponger\n", ""), SUB, "missing required field 'name'"),
        (sub("name: ponger", "name: pinger\n      fake: 1"), f"{SUB}/fake", "unknown field 'fake'"),
        (sub("action: receive", "action: send"), SUB, "'receive' operation without a 'reply'"),
        (
            sub("x-eventdeck-subscriber:", "reply: {channel: {$ref: '#/channels/ping'}}\n    x-eventdeck-subscriber:"),
            SUB,
            "x-eventdeck-responder",
        ),
        (
            SUBSCRIBER + SUBSCRIBER[SUBSCRIBER.index("  receivePing:") :].replace("receivePing", "again"),
            "#/operations/again/x-eventdeck-subscriber/name",
            "'ponger' is already taken by operation 'receivePing'",
        ),
        (sub("address: ping", "address: null", ONLY_SUBSCRIBER), SUB, "no address (give a 'pattern')"),
    ],
)
def test_subscriber_errors_name_the_path_and_line(text: str, path: str, message: str) -> None:
    error = fails(text)
    assert error.path == path
    assert message in error.problem
    assert error.line is not None
    assert str(error).startswith(f"bad.yaml, line {error.line}: {path}: ")
    # The reported line holds the offending key, or is the first line of the offending block.
    last = path.rsplit("/", maxsplit=1)[-1]
    assert any(last in line for line in text.splitlines()[error.line - 2 : error.line])


def test_subscriber_pattern_may_cover_a_parameterized_channel() -> None:
    text = sub("address: ping", "address: 'ping/{room}'", ONLY_SUBSCRIBER)
    with pytest.raises(WorkspaceError, match="does not cover"):
        parse_workspace(text.replace("name: ponger", "name: ponger\n      pattern: ping/kitchen"))
    ws = parse_workspace(text.replace("name: ponger", "name: ponger\n      pattern: '#'"))
    assert ws.subscribers[0].subscriber is not None
    assert parse_workspace(text).subscribers[0].subscriber == SubscriberSettings(
        "ponger", "ping/+", delay=0.1, failure_rate=0.5, durable=True
    )


def test_subscriber_error_in_the_demo_names_the_demo_line() -> None:
    broken = demo_text().replace("      failureRate: 0.25\n", "      failureRate: 1.25\n")
    error = fails(broken, "demo.yaml")
    assert error.path == "#/operations/updateShoppingList/x-eventdeck-subscriber/failureRate"
    assert error.line is not None
    assert broken.splitlines()[error.line - 1].strip() == "failureRate: 1.25"
    assert str(error).startswith(f"demo.yaml, line {error.line}: #/operations/updateShoppingList/")


def test_ref_cycle_is_reported() -> None:
    text = replace(
        "      ping:\n        payload: {type: object}\n", "      ping: {$ref: '#/channels/ping/messages/ping'}\n"
    )
    assert "$ref cycle" in str(fails(text))


def test_error_in_the_demo_text_names_the_demo_line() -> None:
    broken = demo_text().replace("      rate: 2\n", "      rate: -2\n")
    error = fails(broken, "demo.yaml")
    assert error.path == "#/operations/publishUserFollowed/x-eventdeck-publisher/rate"
    assert broken.splitlines()[error.line - 1 if error.line else 0].strip() == "rate: -2"


def test_settings_of_referenced_components_are_read_and_located_there() -> None:
    text = textwrap.dedent("""\
        asyncapi: 3.0.0
        info: {title: t, version: '1'}
        channels:
          ping:
            address: ping
            messages:
              ping: {$ref: '#/components/messages/ping'}
        operations:
          sendPing: {$ref: '#/components/operations/sendPing'}
        components:
          messages:
            ping:
              payload: {type: object}
              x-eventdeck-generate: {n: {int: [1, 5]}}
          operations:
            sendPing:
              action: send
              channel: {$ref: '#/channels/ping'}
              x-eventdeck-publisher: {name: pinger, rate: 1}
        """)
    ws = parse_workspace(text)
    assert ws.operation("sendPing").publisher == PublisherSettings("pinger", 1.0)
    assert ws.generators(ws.channel("ping").message("ping")) == {"n": IntRange(1, 5)}
    error = fails(text.replace("rate: 1", "rate: 0"))
    assert error.path == "#/components/operations/sendPing/x-eventdeck-publisher/rate"
    assert error.line == 19


def test_a_publisher_may_retain_its_events_but_not_its_commands() -> None:
    ws = parse_workspace(replace("rate: 2", "rate: 2, retain: true"))
    assert ws.publishers[0].publisher == PublisherSettings("pinger", 2.0, retain=True)
    assert parse_workspace(MINIMAL).publishers[0].publisher == PublisherSettings("pinger", 2.0, retain=False)
    command = with_text("{name: asker, rate: 1, timeout: 3}", "{name: asker, rate: 1, timeout: 3, retain: true}")
    error = fails(command)
    assert error.path == "#/operations/sendAsk/x-eventdeck-publisher/retain"
    assert "a command cannot be retained" in error.problem


def test_a_responder_refuses_unknown_fields() -> None:
    error = fails(with_text("{name: answerer}", "{name: answerer, retries: 2}"))
    assert error.path == "#/operations/answerAsk/x-eventdeck-responder/retries"
    assert error.problem == "unknown field 'retries' (known: name, delay, failureRate)"
