"""The Kafka connector against Tansu (a Kafka-compatible broker): one per session, private ones to stop,
cut off, put behind TLS or make ask for a login (see kafka_support)."""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from eventdeck.core import InvalidChannel, Kind, State
from eventdeck.core.connectors import ConnectorBackend, ConnectorError, backend_from_url
from eventdeck.core.connectors.backend import GAP_CHANNEL, ConnectionState
from eventdeck.core.connectors.kafka import KafkaBackend
from eventdeck.core.connectors.topic_reader import ReadStart, TopicReader
from tests.integration import connector_support as support
from tests.integration.kafka_support import Proxy, session_broker, start_when_answering, tansu

pytestmark = pytest.mark.services
kafka_url = session_broker()


def bootstrap(url: str) -> str:
    return url.removeprefix("kafka://")


def unique(prefix: str) -> str:
    """A topic of this test's own: the session's broker is shared by every test."""
    return f"edtest.{prefix}.{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def backend(kafka_url: str) -> AsyncIterator[KafkaBackend]:
    connector = backend_from_url(kafka_url, refresh_interval=3600)  # the tests say when to refresh
    assert isinstance(connector, KafkaBackend)
    await connector.start()
    try:
        yield connector
    finally:
        await connector.stop()


@pytest.fixture
async def producer(kafka_url: str) -> AsyncIterator[AIOKafkaProducer]:
    """An independent client, as the users' own services would be."""
    client = AIOKafkaProducer(bootstrap_servers=bootstrap(kafka_url))
    await client.start()
    yield client
    await client.stop()


@pytest.fixture
async def admin(kafka_url: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=bootstrap(kafka_url))
    await client.start()
    yield client
    await client.close()


async def make_topic(admin: AIOKafkaAdminClient, topic: str, partitions: int = 1) -> None:
    await admin.create_topics([NewTopic(topic, partitions, 1)])


def seen(connector: ConnectorBackend, channel: str) -> int:
    return {info.name: info.messages for info in connector.broker.channels()}.get(channel, 0)


async def test_records_of_an_independent_producer_show_with_partition_offset_and_key(
    backend: KafkaBackend, producer: AIOKafkaProducer, admin: AIOKafkaAdminClient
) -> None:
    topic = unique("orders")
    await make_topic(admin, topic)
    channel = topic.replace(".", "/")
    message = await support.next_message(
        backend.broker,
        channel,
        lambda: producer.send_and_wait(topic, b'{"id": 7}', key=b"order-7", headers=[("trace", b"abc")]),
    )
    assert message.json() == {"id": 7}
    assert message.content_type == "application/json"
    assert message.kind is Kind.EVENT
    assert message.headers == {
        "kafka-partition": "0",
        "kafka-offset": "0",
        "kafka-timestamp": message.headers["kafka-timestamp"],
        "kafka-key": "order-7",
        "trace": "abc",
    }
    tombstone = await support.next_message(
        backend.broker, channel, lambda: producer.send_and_wait(topic, None, key=b"k")
    )
    assert tombstone.payload == b""
    assert tombstone.headers["kafka-tombstone"] == "yes"


async def test_topics_there_before_connecting_are_read_from_their_end(
    kafka_url: str, producer: AIOKafkaProducer
) -> None:
    topic = unique("old")
    await producer.send_and_wait(topic, b"history", partition=0)
    connector = backend_from_url(kafka_url, refresh_interval=3600)
    await connector.start()
    try:
        channel = topic.replace(".", "/")
        fresh = await support.next_message(connector.broker, channel, lambda: producer.send_and_wait(topic, b"new"))
        assert fresh.payload == b"new"
        assert seen(connector, channel) == 1  # the history stays in Kafka ("Read again" fetches it)
    finally:
        await connector.stop()


async def test_topics_made_while_connected_are_read_from_their_first_record(
    backend: KafkaBackend, producer: AIOKafkaProducer
) -> None:
    topic = unique("late")
    for n in range(3):  # the first record makes the topic; the connector finds it a moment later
        await producer.send_and_wait(topic, json.dumps({"n": n}).encode(), partition=0)
    channel = topic.replace(".", "/")
    await support.wait_until(lambda: seen(backend, channel) == 3, "all three records of the new topic")
    assert channel in {info.name for info in backend.broker.channels() if info.messages}


async def test_a_topic_deleted_and_made_again_is_read_from_its_first_record(
    backend: KafkaBackend, producer: AIOKafkaProducer, admin: AIOKafkaAdminClient
) -> None:
    topic = unique("remade")
    channel = topic.replace(".", "/")
    await make_topic(admin, topic)
    for n in range(3):
        await producer.send_and_wait(topic, str(n).encode())
    await support.wait_until(lambda: seen(backend, channel) == 3, "the first three records")
    await admin.delete_topics([topic])
    await support.wait_until(lambda: topic not in backend.topics(), "the deletion noticed")
    await make_topic(admin, topic)
    await producer.send_and_wait(topic, b"again")  # offset 0 again: a position kept from before would skip it
    await support.wait_until(lambda: seen(backend, channel) == 4, "the new topic's first record")


async def test_publish_with_key_and_headers_reaches_an_independent_consumer(
    backend: KafkaBackend, kafka_url: str, admin: AIOKafkaAdminClient
) -> None:
    topic = unique("published")
    await make_topic(admin, topic)
    channel = topic.replace(".", "/")
    echoed = await support.next_message(
        backend.broker,
        channel,
        lambda: backend.publish(channel, {"door": "open"}, headers={"kafka-key": "door-1", "site": "north",
                                                                     "kafka-offset": "99"}),
    )  # fmt: skip
    assert echoed.headers["kafka-key"] == "door-1"
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap(kafka_url), auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        record = await asyncio.wait_for(consumer.getone(), support.WAIT)
    finally:
        await consumer.stop()
    assert record.key == b"door-1"
    assert record.value == b'{"door":"open"}'
    assert dict(record.headers) == {"site": b"north", "content-type": b"application/json"}  # kafka-* are not sent

    with pytest.raises(InvalidChannel, match="Kafka topics are 1-249 letters"):
        await backend.publish("edtest/no spaces", {})
    with pytest.raises(ConnectorError, match="does not keep retained messages"):
        await backend.publish(channel, {}, retain=True)


async def test_command_gets_the_reply_of_an_independent_responder(
    backend: KafkaBackend, kafka_url: str, producer: AIOKafkaProducer, admin: AIOKafkaAdminClient
) -> None:
    topic = unique("commands")
    await make_topic(admin, topic)
    listener = AIOKafkaConsumer(bootstrap_servers=bootstrap(kafka_url))
    await listener.start()
    listener.assign([TopicPartition(topic, 0)])
    await listener.seek_to_end()

    async def respond() -> dict[str, bytes]:  # as a Spring @SendTo responder does
        command = await listener.getone()
        headers = dict(command.headers)
        reply = [("kafka_correlationId", headers["kafka_correlationId"])]
        await producer.send_and_wait(headers["kafka_replyTopic"].decode(), b'{"ok": true}', headers=reply)
        return headers

    responder = asyncio.create_task(respond())
    try:
        reply = await backend.request(topic.replace(".", "/"), {"door": "front"}, timeout=support.WAIT)
        headers = await responder
    finally:
        await listener.stop()
    assert headers["kafka_replyTopic"] == b"eventdeck.replies"
    assert reply.kind is Kind.REPLY
    assert reply.json() == {"ok": True}
    assert reply.channel == "eventdeck/replies"
    assert reply.correlation_id == headers["kafka_correlationId"].decode()


async def test_consumer_groups_are_listed_with_their_lag_and_not_joined(
    backend: KafkaBackend, kafka_url: str, producer: AIOKafkaProducer, admin: AIOKafkaAdminClient
) -> None:
    topic, group = unique("lagging"), unique("group")
    await make_topic(admin, topic)
    for n in range(5):
        await producer.send_and_wait(topic, str(n).encode())
    member = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap(kafka_url), group_id=group, enable_auto_commit=False, client_id="billing"
    )
    await member.start()
    try:
        await member.commit({TopicPartition(topic, 0): 2})  # handled two of five
        await backend.refresh()
        groups = {g.name: g for g in backend.consumer_groups() or []}
        (who,) = groups[group].members
        assert who.startswith("billing")  # Tansu gives no client id: the member id, which starts with it
        assert groups[group].state == "Stable"
        (lag,) = groups[group].partitions
        assert (lag.topic, lag.partition, lag.committed, lag.end, lag.lag) == (topic, 0, 2, 5, 3)
        rows = {info.name: info for info in backend.subscriptions() or []}
        row = rows[f"{group} (1 member) · {topic}[0]"]
        assert (row.pattern, row.state, row.pending, row.acked, row.durable) == (
            topic.replace(".", "/"), State.ACTIVE, 3, 2, True
        )  # fmt: skip
    finally:
        await member.stop()  # (Tansu keeps a member that left: the empty group is a unit test's)
    assert backend.capabilities.lists_subscribers
    described = await admin.describe_consumer_groups([g[0] for g in await admin.list_consumer_groups()])
    members = [m for response in described for g in response.to_object()["groups"] for m in g["members"]]
    assert all(m["client_id"] != "eventdeck" for m in members)  # the connector joined no group


async def test_reading_a_topic_again_from_the_beginning_an_offset_or_a_time(
    backend: KafkaBackend, producer: AIOKafkaProducer, admin: AIOKafkaAdminClient
) -> None:
    topic = unique("history")
    await make_topic(admin, topic, partitions=2)
    channel = topic.replace(".", "/")
    for n in range(5):
        if n == 2:  # the records' times are when they were written (Tansu looks up its own append times)
            await asyncio.sleep(0.1)
            since = time.time()
            await asyncio.sleep(0.1)
        await producer.send_and_wait(topic, str(n).encode(), partition=0)
    await support.wait_until(lambda: seen(backend, channel) == 5, "the five records live")
    assert isinstance(backend, TopicReader)
    assert backend.topics()[topic] == 2

    assert await backend.read_from(channel, ReadStart()) == {0: 0, 1: 0}
    await support.wait_until(lambda: seen(backend, channel) == 10, "all five again")
    assert await backend.read_from(channel, ReadStart(offset=3, partition=0)) == {0: 3}
    await support.wait_until(lambda: seen(backend, channel) == 12, "offsets 3 and 4 again")
    assert await backend.read_from(channel, ReadStart(time=since)) == {0: 2, 1: 0}
    await support.wait_until(lambda: seen(backend, channel) == 15, "from the third record's time on")
    assert await backend.read_from(channel, ReadStart(time=time.time() + 3600)) == {0: 5, 1: 0}  # nothing after
    assert await backend.read_from(channel, ReadStart(offset=99)) == {0: 5, 1: 0}  # past the end: the end
    await asyncio.sleep(0.5)
    assert seen(backend, channel) == 15

    with pytest.raises(ConnectorError, match=r"has no topic 'edtest\.nowhere'"):
        await backend.read_from("edtest/nowhere", ReadStart())
    with pytest.raises(ConnectorError, match="has no partition 7; it has 2"):
        await backend.read_from(channel, ReadStart(partition=7))


async def test_specific_errors() -> None:
    await support.check_network_failures_are_named("kafka")
    with pytest.raises(ConnectorError, match="option 'sasl': expected one of plain, scram-sha-256"):
        backend_from_url("kafka://ada:pw@127.0.0.1?sasl=kerberos")
    with pytest.raises(ConnectorError, match=r"SASL SCRAM-SHA-512 needs a user name: kafka://USER:PASSWORD@"):
        backend_from_url("kafka://127.0.0.1?sasl=scram-sha-512")


async def test_a_broker_that_wants_a_login_says_so() -> None:
    port = support.free_port()
    async with support.PrivateServer(tansu(port, authentication=True), port):
        with pytest.raises(ConnectorError, match=f"Kafka at 127.0.0.1:{port} refused ada: the SASL SCRAM-SHA-256"):
            await backend_from_url(f"kafka://ada:wrong@127.0.0.1:{port}?sasl=scram-sha-256").start()
        with pytest.raises(ConnectorError, match=r"closed the connection before answering \(does it want a login"):
            await backend_from_url(f"kafka://127.0.0.1:{port}").start()


async def test_reconnects_and_marks_the_gap() -> None:
    port = support.free_port()
    await support.check_reconnect_to(support.PrivateServer(tansu(port), port), f"kafka://127.0.0.1:{port}")


async def test_records_written_while_the_connection_was_lost_are_read_after_the_gap() -> None:
    port = support.free_port()
    async with Proxy(port) as proxy, support.PrivateServer(tansu(port, advertised=f"127.0.0.1:{proxy.port}"), port):
        url = f"kafka://127.0.0.1:{proxy.port}"
        connector = backend_from_url(url, initial_backoff=0.2, max_backoff=1.0)
        statuses = support.StatusLog(connector)
        gaps = connector.broker.subscribe(GAP_CHANNEL)
        await start_when_answering(connector)
        proxy.spare_from_now()
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap(url))
        await producer.start()
        try:
            await support.next_message(
                connector.broker, "edtest/gap", lambda: producer.send_and_wait("edtest.gap", b"0")
            )
            proxy.cut()  # the connector's connections drop; the producer's stay
            await support.wait_until(lambda: ConnectionState.RECONNECTING in statuses.states(), "RECONNECTING")
            for n in range(1, 4):
                await producer.send_and_wait("edtest.gap", str(n).encode(), partition=0)
            proxy.mend()
            await asyncio.wait_for(gaps.get(), support.WAIT)
            await support.wait_until(lambda: seen(connector, "edtest/gap") == 4, "the records written meanwhile")
        finally:
            await producer.stop()
            await connector.stop()


async def test_kafkas_over_tls(tmp_path: Path) -> None:
    key, cert = await support.self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    port = support.free_port()
    async with (
        Proxy(port, tls=context) as proxy,
        support.PrivateServer(tansu(port, advertised=f"localhost:{proxy.port}"), port),
    ):
        with pytest.raises(ConnectorError, match=f"TLS failure with localhost:{proxy.port}: certificate verify failed"):
            await backend_from_url(f"kafkas://localhost:{proxy.port}").start()
        connector = backend_from_url(f"kafkas://localhost:{proxy.port}?ca={cert}")
        await connector.start()
        try:
            message = await support.next_message(
                connector.broker, "edtest/tls", lambda: connector.publish("edtest/tls", {"secure": True})
            )
            assert message.json() == {"secure": True}
        finally:
            await connector.stop()


async def test_eventdeck_replay_sends_a_recording_into_kafka(tmp_path: Path, kafka_url: str) -> None:
    topic = unique("replayed")
    path = tmp_path / "morning.jsonl"
    channel = topic.replace(".", "/")
    path.write_text(
        f'{{"timestamp": 5.0, "channel": "{channel}", "payload": "1", "headers": {{"kafka-key": "a", "unit": "%"}}}}\n'
        f'{{"timestamp": 5.1, "channel": "{channel}", "payload": "2", "headers": {{"kafka-key": "a"}}}}\n',
        encoding="utf-8",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "eventdeck.gui.app", "replay", str(path), "--into", kafka_url, "--speed", "5",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert await process.wait() == 0, output.decode()
    assert "replay done: 2 of 2 sent" in output.decode()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap(kafka_url), auto_offset_reset="earliest")
    await consumer.start()
    try:
        records = [await asyncio.wait_for(consumer.getone(), support.WAIT) for _ in range(2)]
    finally:
        await consumer.stop()
    assert [(r.key, r.value) for r in records] == [(b"a", b"1"), (b"a", b"2")]  # one key: one partition, in order
    assert dict(records[0].headers)["unit"] == b"%"
