"""The AMQP connector against the real RabbitMQ on 5672 (guest/guest)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import aiohttp
import pytest
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage

from eventdeck.core import Kind
from eventdeck.core.connectors import ConnectorError, backend_from_url
from eventdeck.core.connectors.amqp import AmqpBackend, binding_to_pattern
from eventdeck.core.connectors.backend import Backend
from tests.integration import connector_support as support

pytestmark = pytest.mark.services
URL = "amqp://guest:guest@127.0.0.1:5672/"
RABBITMQ_BOOT = 60.0  # an Erlang node boots in ~5 s on a quiet machine; it took over 15 s in one CI run


backend = support.backend_fixture(URL, AmqpBackend, "RabbitMQ")


@pytest.fixture
async def other() -> AsyncIterator[AbstractConnection]:
    connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    yield connection
    await connection.close()


async def test_traffic_from_an_independent_client_shows_in_the_mirror(
    backend: AmqpBackend, other: AbstractConnection
) -> None:
    channel = await other.channel()
    exchange = await channel.get_exchange("amq.topic")

    async def send() -> None:
        await exchange.publish(
            aio_pika.Message(b'{"c": 21}', content_type="application/json", headers={"unit": "C", "n": 3}),
            routing_key="edtest.amqp.temp",
        )

    message = await support.next_message(backend.broker, "edtest/amqp/#", send)
    assert message.channel == "edtest/amqp/temp"  # routing keys use '.', channels '/'
    assert message.json() == {"c": 21}
    assert dict(message.headers) == {"unit": "C", "n": "3"}
    assert "edtest/amqp/temp" in {info.name for info in backend.broker.channels()}


async def test_events_reach_an_independent_subscriber(backend: AmqpBackend, other: AbstractConnection) -> None:
    channel = await other.channel()
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind("amq.topic", routing_key="edtest.out.*")
    arrived: asyncio.Future[AbstractIncomingMessage] = asyncio.get_running_loop().create_future()

    async def keep(message: AbstractIncomingMessage) -> None:
        arrived.set_result(message)

    await queue.consume(keep, no_ack=True)
    await backend.publish("edtest/out/a", {"v": 1}, headers={"source": "test"})
    received = await asyncio.wait_for(arrived, support.WAIT)
    assert received.body == b'{"v":1}'
    assert received.headers == {"source": "test"}


async def test_command_gets_reply_from_an_independent_responder(
    backend: AmqpBackend, other: AbstractConnection
) -> None:
    channel = await other.channel()
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind("amq.topic", routing_key="edtest.cmd.open")

    async def respond(command: AbstractIncomingMessage) -> None:
        assert command.reply_to
        await channel.default_exchange.publish(
            aio_pika.Message(b'{"ok":true}', correlation_id=command.correlation_id), routing_key=command.reply_to
        )

    await queue.consume(respond, no_ack=True)
    reply = await backend.request("edtest/cmd/open", {"door": "front"}, timeout=support.WAIT)
    assert reply.kind is Kind.REPLY
    assert reply.json() == {"ok": True}
    await support.wait_until(
        lambda: "edtest/cmd/open" in {info.name for info in backend.broker.channels()}, "command mirrored"
    )


async def test_subscribers_need_the_management_api(backend: AmqpBackend) -> None:
    await backend.refresh()
    if backend.capabilities.lists_subscribers:
        subscriptions = backend.subscriptions()
        assert subscriptions is not None
        assert subscriptions  # at least our own monitor queue
    else:
        assert backend.subscriptions() is None  # "not exposed", never an empty list


async def test_a_management_api_that_would_get_the_password_in_cleartext_is_not_asked_but_it_connects() -> None:
    # The broker is on loopback; its management API is named on another host over plain HTTP.
    url = URL + "?management=http://rabbit.invalid:15672"
    async with support.connected(url, AmqpBackend, "RabbitMQ") as connector:
        assert connector.connected
        assert connector.subscriptions() is None
        why = connector.capabilities.why_no_subscribers
        assert "cleartext" in why
        assert "management_insecure=yes" in why
        await connector.refresh()
        assert connector.subscriptions() is None


def test_binding_mapping() -> None:
    assert binding_to_pattern("a.*.#") == "a/+/#"


async def test_specific_errors() -> None:
    support.require_service(5672, "RabbitMQ")
    with pytest.raises(ConnectorError, match="RabbitMQ refused guest: ACCESS_REFUSED"):
        await backend_from_url("amqp://guest:wrong@127.0.0.1:5672/").start()
    with pytest.raises(ConnectorError, match=r"RabbitMQ has no exchange 'edtest\.none'"):
        await backend_from_url(URL, exchanges=["edtest.none"]).start()
    await support.check_network_failures_are_named("amqp")


RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


def rabbitmq_server(port: int, folder: Path, management: int | None = None) -> tuple[list[str], dict[str, str]]:
    """A RabbitMQ node of our own: its own name, ports, data and logs, nothing shared with the one on 5672.

    Its start script passes SIGTERM on to the Erlang VM, which then shuts the node down (about 2 s).
    """
    if not RABBITMQ_SERVER.exists():
        pytest.skip("RabbitMQ's server is not installed (Debian package rabbitmq-server)")
    config = folder / "rabbitmq.conf"
    plugins = folder / "enabled_plugins"
    if management is None:
        config.write_text("", encoding="utf-8")
        plugins.write_text("[].\n", encoding="utf-8")
    else:  # the management API on a port of its own
        config.write_text(f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {management}\n", encoding="utf-8")
        plugins.write_text("[rabbitmq_management].\n", encoding="utf-8")
    env = {
        **os.environ,
        "HOME": str(folder),  # its Erlang cookie goes here
        "RABBITMQ_NODENAME": f"edtest{port}@localhost",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(support.free_port()),
        "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
        "RABBITMQ_LOG_BASE": str(folder / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
        "RABBITMQ_CONFIG_FILE": str(config),
    }
    return [str(RABBITMQ_SERVER)], env


async def test_reconnects_and_marks_the_gap(tmp_path: Path) -> None:
    port = support.free_port()
    command, env = rabbitmq_server(port, tmp_path)
    await support.check_reconnect_to(
        support.PrivateServer(command, port, env=env, start_timeout=RABBITMQ_BOOT),
        f"amqp://guest:guest@127.0.0.1:{port}/",
    )


async def refresh_once_the_api_answers(connector: Backend) -> None:
    """``connector.refresh()``, again while a RabbitMQ that has just booted answers its queue list with a 5xx
    (its statistics are not ready yet); anything else, or a 5xx lasting ``WAIT``, is the test's."""
    deadline = time.monotonic() + support.WAIT
    while True:
        try:
            await connector.refresh()
            return
        except aiohttp.ClientResponseError as exc:
            if exc.status < 500 or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.25)


async def test_subscribers_from_the_management_api(tmp_path: Path) -> None:
    port, management = support.free_port(), support.free_port()
    command, env = rabbitmq_server(port, tmp_path, management=management)
    connector = backend_from_url(
        f"amqp://guest:guest@127.0.0.1:{port}/?management=http://127.0.0.1:{management}", initial_backoff=0.2
    )
    async with support.PrivateServer(command, port, env=env, start_timeout=RABBITMQ_BOOT):
        client = await aio_pika.connect(f"amqp://guest:guest@127.0.0.1:{port}/")
        try:
            await support.wait_until(lambda: support.reachable(management), "the management API to listen")
            channel = await client.channel()
            queue = await channel.declare_queue("kitchen", auto_delete=True)
            await queue.bind("amq.topic", routing_key="fridge.*.level")

            async def eat(_message: AbstractIncomingMessage) -> None:
                """A consumer, so the queue has one."""

            await queue.consume(eat, no_ack=True)
            await connector.start()
            assert connector.capabilities.lists_subscribers
            await refresh_once_the_api_answers(connector)
            subscriptions = connector.subscriptions()
            assert subscriptions is not None
            assert any(info.name.startswith("kitchen") and info.pattern == "fridge/+/level" for info in subscriptions)
        finally:
            await client.close()
            await connector.stop()
