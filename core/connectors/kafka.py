"""Kafka connector (aiokafka): reads every topic live, publishes with key and headers, request/reply
over a reply topic, consumer groups with their lag as subscribers, and reading a topic again.

Topics are channels (``orders.created`` <-> ``orders/created``; records <-> messages as
``kafka_records`` says). The connector reads every partition of every topic by assigning them to
itself: no group id, nothing committed, so the users' consumer groups never see it. Topics there at
the first connection are read from their end (live from now on); topics and partitions that appear
later (watched every ``WATCH_INTERVAL`` seconds) from their beginning, so a topic made by its first
message loses nothing. After a lost connection each partition goes on from the record after the last
one mirrored: what was written meanwhile is read then, after the gap marker. A partition that now
ends before that position was deleted and made again, and is read from its beginning. Internal
topics (``__consumer_offsets`` and the like) are left out.

Commands go to their topic with ``kafka_replyTopic`` (the reply topic, ``eventdeck.replies`` unless
``reply_topic=`` says otherwise, made at connect when missing) and ``kafka_correlationId``.
Consumer groups are listed with their lag (``kafka_groups``). ``read_from`` moves the reading of a
topic to its beginning, an offset or a time (``topic_reader``).

URL: ``kafka://HOST:PORT[,HOST:PORT...]``; ``kafkas://`` (or the TLS options) for TLS; a user name
logs in with SASL PLAIN unless ``sasl=scram-sha-256`` / ``scram-sha-512`` says otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Hashable, Mapping
from contextlib import AsyncExitStack
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka import errors as kafka_errors
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from eventdeck.core.broker.errors import InvalidChannel
from eventdeck.core.broker.message import Kind
from eventdeck.core.connectors.address import Endpoint
from eventdeck.core.connectors.backend import Outgoing
from eventdeck.core.connectors.base import ConnectorBackend
from eventdeck.core.connectors.errors import ConnectorError, causes
from eventdeck.core.connectors.kafka_clients import (
    client_options,
    first_contact,
    parse_sasl,
    refused,
    stop_consumer,
)
from eventdeck.core.connectors.kafka_groups import ConsumerGroup, as_subscriptions, consumer_groups, partitions_of
from eventdeck.core.connectors.kafka_records import channel_to_topic, incoming, outgoing, topic_to_channel
from eventdeck.core.connectors.topic_reader import ReadStart

log = logging.getLogger(__name__)
REPLY_TOPIC = "eventdeck.replies"
WATCH_INTERVAL = 2.0  # seconds between asking for the topic list (new topics; a broker that is gone)
FETCH_WAIT_MS = 200  # the longest a position change (new topic, read_from) waits for the fetch loop
BATCH = 256  # records decoded at a time: aiokafka decodes what getmany returns in one go, without yielding
Topics = dict[str, tuple[int, ...]]  # topic -> its partition numbers


class KafkaBackend(ConnectorBackend):
    kind = "kafka"
    query_options = {"sasl": parse_sasl, "reply_topic": str}

    def __init__(
        self, endpoint: Endpoint, *, sasl: str | None = None, reply_topic: str = REPLY_TOPIC, **options: Any
    ) -> None:
        super().__init__(endpoint, **options)
        self.sasl = ("PLAIN" if endpoint.username else "") if sasl is None else sasl
        if self.sasl and not endpoint.username:
            raise ConnectorError(f"SASL {self.sasl} needs a user name: kafka://USER:PASSWORD@{endpoint.address}")
        self.reply_channel = topic_to_channel(reply_topic)
        try:
            self.reply_topic = channel_to_topic(self.reply_channel)
        except InvalidChannel as exc:
            raise ConnectorError(f"option 'reply_topic': {exc.reason}, got {reply_topic!r}") from None
        self.capabilities = dataclasses.replace(self.capabilities, retained=False)
        self._admin: Any = None
        self._producer: Any = None
        self._consumer: Any = None
        self._topics: Topics = {}
        self._groups: list[ConsumerGroup] | None = None
        # What the fetch loop reads: partition -> the offset of the next record to mirror. Kept across
        # connections; only the fetch loop changes it, applying the moves and drops queued below.
        self._positions: dict[Any, int] = {}
        self._moves: dict[Any, int] = {}
        self._dropped: set[Any] = set()
        self._first_connection = True
        self._look_now = asyncio.Event()  # we wrote to a topic not listed yet: list the topics at once

    # -- connecting --------------------------------------------------------------------

    async def _connect(self, stack: AsyncExitStack) -> None:
        options = client_options(self.endpoint, self.sasl, self.connect_timeout)
        await first_contact(self.endpoint, options)
        admin = AIOKafkaAdminClient(**options)
        stack.push_async_callback(admin.close)
        await admin.start()
        producer = AIOKafkaProducer(**options, acks=1)
        stack.push_async_callback(producer.stop)
        await producer.start()
        # No group: nothing joined, nothing committed. "earliest": a position the log no longer holds (retention)
        # restarts at its first record. CRCs: the broker checked them when the records were written.
        consumer = AIOKafkaConsumer(
            **options, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest", check_crcs=False
        )
        stack.push_async_callback(stop_consumer, consumer)
        await consumer.start()
        self._admin, self._producer, self._consumer = admin, producer, consumer
        topics = await self._list_topics()
        if self.reply_topic not in topics:
            topics = await self._make_reply_topic()
        await self._start_positions(topics)
        self._first_connection = False

    async def _list_topics(self) -> Topics:
        described = await self._admin.describe_topics()
        return {
            str(topic["topic"]): tuple(sorted(int(p["partition"]) for p in topic["partitions"]))
            for topic in described
            if topic["error_code"] == 0 and not topic.get("is_internal") and not str(topic["topic"]).startswith("__")
        }

    async def _make_reply_topic(self) -> Topics:
        """Make the reply topic now, so replies are read from the first one on."""
        try:
            response = await self._admin.create_topics([NewTopic(self.reply_topic, 1, 1)])
            refusals = [(code, why) for _topic, code, *why in response.topic_errors if code]
        except kafka_errors.KafkaError as exc:
            refusals = [(-1, [str(exc)])]
        for code, why in refusals:  # not allowed here, say: then a responder's first reply makes it
            if kafka_errors.for_code(code) is not kafka_errors.TopicAlreadyExistsError:
                log.info("%s: could not make the reply topic %r: %s", self.name, self.reply_topic, why)
        return await self._list_topics()

    async def _start_positions(self, topics: Topics) -> None:
        """Where each partition is read from on this connection (see the module docstring)."""
        consumer, positions = self._consumer, self._positions
        self._topics = topics
        now = set(partitions_of(topics))
        for gone in [tp for tp in positions if tp not in now]:
            del positions[gone]
        if positions:
            ends = await consumer.end_offsets(list(positions))
            for tp, end in ends.items():
                if positions[tp] > end:  # deleted and made again while we were away
                    positions[tp] = 0
        new = [tp for tp in now if tp not in positions]
        if new:
            positions.update(await consumer.end_offsets(new) if self._first_connection else dict.fromkeys(new, 0))
        self._moves.clear()
        self._dropped.clear()
        _assign(consumer, positions)

    # -- reading ---------------------------------------------------------------------------

    async def _pump(self) -> None:
        """Fetch records and watch the topic list side by side; the first to fail (a lost connection) stops both."""
        loops = [asyncio.create_task(self._fetch()), asyncio.create_task(self._watch_topics())]
        try:
            done, _running = await asyncio.wait(loops, return_when=asyncio.FIRST_COMPLETED)
            for loop in done:
                loop.result()
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)

    async def _fetch(self) -> None:
        consumer, positions = self._consumer, self._positions
        mirror, answer = self.mirror, self._answer
        replies = self.reply_channel
        channels: dict[str, str] = {}
        while True:
            if self._moves or self._dropped:
                self._apply_moves()
            if not positions:
                await asyncio.sleep(FETCH_WAIT_MS / 1000)
                continue
            batch = await consumer.getmany(timeout_ms=FETCH_WAIT_MS, max_records=BATCH)
            for tp, records in batch.items():
                channel = channels.get(tp.topic) or channels.setdefault(tp.topic, topic_to_channel(tp.topic))
                partition = tp.partition
                for record in records:
                    about = incoming(partition, record)
                    mirrored = await mirror(
                        channel,
                        record.value or b"",
                        kind=about.kind,
                        content_type=about.content_type,
                        headers=about.headers,
                        correlation_id=about.correlation_id,
                        reply_to=about.reply_to,
                    )
                    if about.kind is Kind.REPLY and channel == replies:
                        answer(about.correlation_id, mirrored)
                positions[tp] = records[-1].offset + 1

    def _apply_moves(self) -> None:
        positions = self._positions
        moves, self._moves = self._moves, {}
        dropped, self._dropped = self._dropped & positions.keys(), set()
        reassign = bool(dropped) or not moves.keys() <= positions.keys()
        for tp in dropped:
            del positions[tp]
        positions.update(moves)
        if reassign:
            _assign(self._consumer, positions)
        else:  # only where to read changes
            for tp, offset in moves.items():
                self._consumer.seek(tp, offset)

    async def _watch_topics(self) -> None:
        """Ask for the topic list now and then: new topics are read, deleted ones dropped, and a broker that
        no longer answers ends the connection (aiokafka's clients would retry without ever saying so)."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WATCH_INTERVAL):
                    await self._look_now.wait()
            self._look_now.clear()
            async with asyncio.timeout(self.connect_timeout):
                topics = await self._list_topics()
            self._topics = topics
            now = set(partitions_of(topics))
            known = self._positions.keys() | self._moves.keys()
            self._moves.update((tp, 0) for tp in now - known)
            self._dropped |= known - now

    async def read_from(self, channel: str, start: ReadStart) -> dict[int, int]:
        """Read ``channel``'s topic again from ``start`` (the mirror gets those records once more, then the
        live ones); returns the offset each partition restarts from."""
        self._require_connection()
        topic = channel_to_topic(channel)
        numbers = self._topics.get(topic)
        if numbers is None:
            raise ConnectorError(f"{self.name} has no topic {topic!r} (channel {channel!r})")
        if start.partition is not None and start.partition not in numbers:
            raise ConnectorError(f"topic {topic!r} has no partition {start.partition}; it has {len(numbers)}")
        partitions = [TopicPartition(topic, n) for n in numbers if start.partition in (None, n)]
        consumer = self._consumer
        ends = await consumer.end_offsets(partitions)
        if start.time is not None:
            try:
                found = await consumer.offsets_for_times({tp: int(start.time * 1000) for tp in partitions})
            except kafka_errors.UnsupportedVersionError as exc:
                raise ConnectorError(f"{self.name} cannot look up offsets by time (ListOffsets v1): {exc}") from exc
            # No record from then on: the end. (Tansu answers offset 0 with timestamp -1 for that.)
            offsets = {
                tp: hit.offset if hit is not None and hit.timestamp >= 0 else ends[tp] for tp, hit in found.items()
            }
        else:
            firsts = await consumer.beginning_offsets(partitions)
            wanted = start.offset or 0
            offsets = {tp: min(max(wanted, firsts[tp]), ends[tp]) for tp in partitions}
        self._moves.update(offsets)
        log.info("%s: reading %s again %s", self.name, topic, start.describe())
        return {tp.partition: offset for tp, offset in sorted(offsets.items())}

    # -- inventory ---------------------------------------------------------------------

    def topics(self) -> dict[str, int]:
        """Each topic read (internal ones left out) with its number of partitions, as last listed."""
        return {topic: len(numbers) for topic, numbers in self._topics.items()}

    def consumer_groups(self) -> list[ConsumerGroup] | None:
        """Consumer groups with their lag as of the last refresh; None when they cannot be listed."""
        return self._groups

    async def _refresh(self) -> None:
        topics = self._topics
        for topic, numbers in topics.items():
            count = len(numbers)
            self.broker.declare_channel(
                topic_to_channel(topic), f"Kafka topic, {count} partition{'' if count == 1 else 's'}"
            )
        ends = await self._consumer.end_offsets(partitions_of(topics)) if topics else {}
        try:
            groups = await consumer_groups(self._admin, ends)
        except kafka_errors.KafkaError as exc:
            why = f"Kafka at {self.endpoint.addresses} did not list its consumer groups ({self.describe(exc)})"
            log.info("%s: %s", self.name, why)
            self._groups = None
            self.capabilities = dataclasses.replace(self.capabilities, lists_subscribers=False, why_no_subscribers=why)
            return
        self._groups = groups
        self._subscriptions = as_subscriptions(groups)
        self.capabilities = dataclasses.replace(self.capabilities, lists_subscribers=True, why_no_subscribers="")

    # -- sending ----------------------------------------------------------------------------

    async def _send(self, channel: str, payload: bytes, options: Outgoing) -> None:
        topic = channel_to_topic(channel)
        key, headers = outgoing(options)
        try:
            await self._producer.send_and_wait(topic, payload, key=key, headers=headers)
        except kafka_errors.KafkaError as exc:
            raise ConnectorError(f"could not publish to {topic!r} on {self.name}: {self.describe(exc)}") from exc
        if topic not in self._topics:
            self._look_now.set()

    def _address(self, options: Outgoing) -> tuple[Hashable, Outgoing]:
        """The reply topic and a fresh correlation id, which the reply carries back (``_fetch`` answers it)."""
        correlation = uuid.uuid4().hex
        return correlation, dataclasses.replace(options, correlation_id=correlation, reply_to=self.reply_channel)

    # -- words for failures ---------------------------------------------------------------

    def _describe(self, exc: BaseException) -> str | None:
        for cause in causes(exc):
            if isinstance(cause, ConnectorError):
                return str(cause)
            if isinstance(
                cause,
                kafka_errors.SaslAuthenticationFailed
                | kafka_errors.UnsupportedSaslMechanismError
                | kafka_errors.IllegalSaslStateError,
            ):
                return refused(self.endpoint, str(cause))
            denied = (
                kafka_errors.TopicAuthorizationFailedError
                | kafka_errors.GroupAuthorizationFailedError
                | kafka_errors.ClusterAuthorizationFailedError
            )
            if isinstance(cause, denied):
                return f"Kafka at {self.endpoint.addresses} does not allow it: {cause}"
            if isinstance(cause, kafka_errors.KafkaConnectionError | kafka_errors.NodeNotReadyError):
                return f"no answer from Kafka at {self.endpoint.addresses} ({cause})"
        return None


def _assign(consumer: Any, positions: Mapping[Any, int]) -> None:
    """Read exactly these partitions from these offsets (``assign`` forgets the positions it had)."""
    consumer.assign(list(positions))
    for tp, offset in positions.items():
        consumer.seek(tp, offset)
