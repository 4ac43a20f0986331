"""The request/reply skeleton every connector shares, with a stand-in broker that answers from ``_send``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import AsyncExitStack
from dataclasses import replace

import pytest

from eventdeck.core import Kind, Message
from eventdeck.core.broker.errors import NoResponderError, RequestTimeout
from eventdeck.core.connectors import ConnectorError, Outgoing
from eventdeck.core.connectors.address import parse_url
from eventdeck.core.connectors.base import ConnectorBackend

Answer = Callable[["StandIn", Hashable], None]


class StandIn(ConnectorBackend):
    """Keeps what it sends; ``answer`` plays the broker's side of each command."""

    kind = "stand-in"

    def __init__(self, answer: Answer) -> None:
        super().__init__(parse_url("redis://127.0.0.1:1/0"))
        self.answer = answer
        self.sent: list[tuple[str, bytes, Outgoing]] = []

    async def _connect(self, stack: AsyncExitStack) -> None:
        """Nothing to open."""

    async def _pump(self) -> None:
        await asyncio.Event().wait()

    async def _refresh(self) -> None:
        """Nothing to list."""

    def _address(self, options: Outgoing) -> tuple[Hashable, Outgoing]:
        return "key-1", replace(options, correlation_id="c-1", reply_to="replies/1")

    async def _send(self, channel: str, payload: bytes, options: Outgoing) -> None:
        self.sent.append((channel, payload, options))
        if options.reply_to is not None:
            self.answer(self, "key-1")


def replies(connector: StandIn, key: Hashable) -> None:
    connector._answer(key, Message.build("replies/1", {"ok": True}, kind=Kind.REPLY, correlation_id="c-1"))


def nobody_listens(connector: StandIn, key: Hashable) -> None:
    connector._no_responder(key)


def silent(connector: StandIn, key: Hashable) -> None:
    """Never answers."""


@pytest.fixture
async def started() -> AsyncIterator[Callable[[Answer], StandIn]]:
    connectors: list[StandIn] = []

    def start(answer: Answer) -> StandIn:
        connector = StandIn(answer)
        connectors.append(connector)
        return connector

    yield start
    for connector in connectors:
        await connector.stop()


async def test_a_command_goes_out_with_its_reply_address_and_gets_its_reply(
    started: Callable[[Answer], StandIn],
) -> None:
    connector = started(replies)
    await connector.start()
    reply = await connector.request("doors/open", {"door": "front"}, headers={"who": "me"}, timeout=1.0)
    assert reply.json() == {"ok": True}
    assert reply.kind is Kind.REPLY
    ((channel, payload, options),) = connector.sent
    assert (channel, payload) == ("doors/open", b'{"door":"front"}')
    assert options == Outgoing(Kind.COMMAND, {"who": "me"}, correlation_id="c-1", reply_to="replies/1")
    assert connector._pending == {}


async def test_no_reply_is_a_timeout_and_nothing_is_left_waiting(started: Callable[[Answer], StandIn]) -> None:
    connector = started(silent)
    await connector.start()
    with pytest.raises(RequestTimeout, match="no reply from 'doors/open'") as caught:
        await connector.request("doors/open", timeout=0.05)
    assert caught.value.elapsed >= 0.05
    assert connector._pending == {}


async def test_a_broker_that_says_nobody_listens_is_a_no_responder_error(started: Callable[[Answer], StandIn]) -> None:
    connector = started(nobody_listens)
    await connector.start()
    with pytest.raises(NoResponderError, match="no handler for 'doors/open'"):
        await connector.request("doors/open", timeout=1.0)


async def test_events_go_out_with_their_options_and_what_the_broker_lacks_is_refused(
    started: Callable[[Answer], StandIn],
) -> None:
    connector = started(silent)
    with pytest.raises(ConnectorError, match="not connected to"):
        await connector.publish("a/b", 1)
    await connector.start()
    assert await connector.publish("a/b", "hi", content_type="text/plain", retain=True, publisher="me") is None
    assert connector.sent == [("a/b", b"hi", Outgoing(content_type="text/plain", retain=True, publisher="me"))]
    connector.capabilities = replace(connector.capabilities, retained=False, headers=False, request_reply=False)
    with pytest.raises(ConnectorError, match="does not keep retained messages"):
        await connector.publish("a/b", 1, retain=True)
    with pytest.raises(ConnectorError, match="cannot carry message headers"):
        await connector.publish("a/b", 1, headers={"k": "v"})
    with pytest.raises(ConnectorError, match="does not carry commands with replies"):
        await connector.request("a/b")
