"""What ``eventdeck serve`` says: a gateway that cannot start names what to type instead; counts agree."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator

import pytest

from eventdeck.core import Broker
from eventdeck.core.cli.serve import ServeOptions, serve, summary
from eventdeck.core.cli.serve_settings import HTTP_TOKEN_VARIABLE, MQTT_PASSWORD_VARIABLE, mqtt_limits
from eventdeck.core.gateways.controller import Gateways
from eventdeck.core.gateways.listen import ListenAddress
from eventdeck.core.wording import plural


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.mark.parametrize("gateway", ["mqtt", "http"])
async def test_a_taken_port_gets_a_free_one_suggested(
    gateway: str, taken_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    where = ListenAddress("127.0.0.1", taken_port)
    options = ServeOptions(mqtt=where if gateway == "mqtt" else None, http=where if gateway == "http" else None)
    with caplog.at_level(logging.ERROR):
        assert await serve(options) == 1
    (line,) = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert f"port {taken_port} on 127.0.0.1 is already in use" in line
    suggested = re.search(rf"; port (\d+) is free: --{gateway} 127\.0\.0\.1:(\d+)$", line)
    assert suggested is not None, line
    assert suggested.group(1) == suggested.group(2)
    assert int(suggested.group(1)) != taken_port
    assert _free(int(suggested.group(1)))


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (ServeOptions(mqtt=ListenAddress("0.0.0.0", 0), http=None), ["--mqtt-user", f"${MQTT_PASSWORD_VARIABLE}"]),
        (ServeOptions(mqtt=None, http=ListenAddress("0.0.0.0", 0)), [f"${HTTP_TOKEN_VARIABLE}", "--http-token-file"]),
    ],
)
async def test_the_refusal_to_listen_off_loopback_names_the_flags_that_allow_it(
    options: ServeOptions, named: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        assert await serve(options) == 1
    (line,) = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert "not a loopback address" in line
    assert "to listen on 0.0.0.0, give" in line
    for flag in named:
        assert flag in line, line


async def test_the_summary_counts_agree_with_their_nouns() -> None:
    async with Broker() as broker:
        broker.subscribe("fridge/level", name="shopping-list")
        line = summary(broker.stats(), None, Gateways(broker, mqtt=None, http=None))
    assert line == "0 published, 1 channel, 1 subscription, 0 mqtt clients, 0 http streams"


def test_plural() -> None:
    assert [plural(n, "subscription") for n in (0, 1, 2, 1500)] == [
        "0 subscriptions",
        "1 subscription",
        "2 subscriptions",
        "1,500 subscriptions",
    ]
    assert plural(3, "replay", "replays") == "3 replays"
    assert plural(1, "child", "children") == "1 child"
    assert plural(2, "child", "children") == "2 children"


def test_an_out_of_range_mqtt_limit_is_named_without_the_class_name() -> None:
    with pytest.raises(ValueError, match=r"^--mqtt-limit: max_packet_size must be positive, got 0$"):
        mqtt_limits(["max_packet_size=0"])
