"""The NATS connector against the real NATS (JetStream) on 4222, and private servers for monitoring and reconnects."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from eventdeck.core import Kind
from eventdeck.core.connectors import ConnectorError, backend_from_url
from eventdeck.core.connectors.nats import NatsBackend, pattern_to_channel
from tests.integration import connector_support as support

pytestmark = pytest.mark.services
URL = "nats://127.0.0.1:4222"


backend = support.backend_fixture(URL, NatsBackend, "NATS")


@pytest.fixture
async def other() -> AsyncIterator[NatsClient]:
    client = await nats.connect(URL)
    yield client
    await client.close()


async def test_traffic_from_an_independent_client_shows_in_the_mirror(backend: NatsBackend, other: NatsClient) -> None:
    async def send() -> None:
        await other.publish("edtest.nats.temp", b'{"c": 21}', headers={"unit": "C"})
        await other.flush()

    message = await support.next_message(backend.broker, "edtest/nats/#", send)
    assert message.channel == "edtest/nats/temp"  # subjects use '.', channels '/'
    assert message.json() == {"c": 21}
    assert message.headers["unit"] == "C"
    assert "edtest/nats/temp" in {info.name for info in backend.broker.channels()}


async def test_events_reach_an_independent_subscriber(backend: NatsBackend, other: NatsClient) -> None:
    sub = await other.subscribe("edtest.out.*")
    await other.flush()
    await backend.publish("edtest/out/a", {"v": 1}, headers={"source": "test"})
    received = await sub.next_msg(timeout=support.WAIT)
    assert received.data == b'{"v":1}'
    assert received.headers is not None
    assert received.headers["source"] == "test"


async def test_command_gets_reply_from_an_independent_responder(backend: NatsBackend, other: NatsClient) -> None:
    async def respond(msg: Msg) -> None:
        await msg.respond(b'{"ok":true}')

    await other.subscribe("edtest.cmd.open", cb=respond)
    await other.flush()
    reply = await backend.request("edtest/cmd/open", {"door": "front"}, timeout=support.WAIT)
    assert reply.kind is Kind.REPLY
    assert reply.json() == {"ok": True}

    def linked() -> bool:
        channels = {info.name for info in backend.broker.channels()}
        return "edtest/cmd/open" in channels and reply.channel in channels

    await support.wait_until(linked, "command and reply mirrored")


async def test_jetstream_streams_are_listed(backend: NatsBackend, other: NatsClient) -> None:
    jsm = other.jsm()
    await jsm.add_stream(name="EDTEST", subjects=["edtest.js.>"])
    try:
        await backend.refresh()
        streams = backend.streams()
        assert streams is not None
        listed = {stream.name: stream for stream in streams}
        assert listed["EDTEST"].subjects == ("edtest.js.>",)
    finally:
        await jsm.delete_stream("EDTEST")


def nats_server(port: int) -> list[str]:
    return [support.require_binary("nats-server"), "-a", "127.0.0.1", "-p", str(port)]


async def test_subscribers_from_the_monitoring_endpoint() -> None:
    port, monitor = support.free_port(), support.free_port()
    async with support.PrivateServer([*nats_server(port), "-m", str(monitor)], port):
        connector = backend_from_url(f"nats://127.0.0.1:{port}", monitor=f"http://127.0.0.1:{monitor}", jetstream=False)
        client = await nats.connect(f"nats://127.0.0.1:{port}", name="kitchen")
        try:
            await client.subscribe("fridge.*.level")
            await client.flush()
            await connector.start()
            assert connector.capabilities.lists_subscribers
            await connector.refresh()
            subscriptions = connector.subscriptions()
            assert subscriptions is not None
            assert any(info.name.startswith("kitchen") and info.pattern == "fridge/+/level" for info in subscriptions)
        finally:
            await client.close()
            await connector.stop()


async def test_without_monitoring_subscribers_are_not_exposed(backend: NatsBackend) -> None:
    if backend.capabilities.lists_subscribers:
        pytest.skip("this NATS server has its monitoring endpoint on")
    assert backend.subscriptions() is None


def test_pattern_mapping() -> None:
    assert pattern_to_channel("a.*.>") == "a/+/#"


async def test_specific_errors() -> None:
    await support.check_network_failures_are_named("nats")


async def test_wrong_password_is_named() -> None:
    port = support.free_port()
    async with support.PrivateServer([*nats_server(port), "--user", "alice", "--pass", "right"], port):
        with pytest.raises(ConnectorError, match="refused alice: authorization violation"):
            await backend_from_url(f"nats://alice:wrong@127.0.0.1:{port}").start()


async def test_reconnects_and_marks_the_gap() -> None:
    port = support.free_port()
    await support.check_reconnect_to(support.PrivateServer(nats_server(port), port), f"nats://127.0.0.1:{port}")
