"""Kafka consumer groups with their lag per topic and partition, and how the Subscribers panel shows them.

Asked with the admin API (ListGroups, DescribeGroups, OffsetFetch); nobody joins a group. OffsetFetch
names every partition the cluster has, instead of "all the group's" (a null topic list): that works on
every broker, and Tansu cannot answer the null form (it drops the connection).

In the panel each committed partition is a row: name ``group (N members) · topic[partition]``,
pattern the topic's channel, durable, active while the group has members (away when it is empty),
*pending* the lag (end offset - committed offset) and *acked* the committed offset. A group that
committed nothing yet is one row saying so. The group's state word and the end offset have no
column; ``KafkaBackend.consumer_groups()`` gives everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from eventdeck.core.broker.subscription import SubscriptionInfo
from eventdeck.core.connectors.base import remote_subscription
from eventdeck.core.connectors.kafka_records import topic_to_channel


class PartitionLag(NamedTuple):
    """Where a group stands on one partition."""

    topic: str
    partition: int
    committed: int  # the next offset the group will read
    end: int  # the offset the next record written will get

    @property
    def lag(self) -> int:
        return max(self.end - self.committed, 0)


class ConsumerGroup(NamedTuple):
    name: str
    state: str  # as the broker says: Stable, Empty, PreparingRebalance, CompletingRebalance, Dead
    members: tuple[str, ...]  # client ids (member ids when a client gave none)
    partitions: tuple[PartitionLag, ...]
    unknown: str = ""  # why the committed offsets are not known, when they are not

    @property
    def lag(self) -> int:
        return sum(partition.lag for partition in self.partitions)


async def consumer_groups(admin: Any, ends: Mapping[Any, int]) -> list[ConsumerGroup]:
    """Every consumer group with its committed offsets on the partitions in ``ends`` (TopicPartition -> end offset).

    ``KafkaError`` when the groups cannot be listed at all; a group whose offsets cannot be read says why.
    """
    names = sorted({str(listed[0]) for listed in await admin.list_consumer_groups()})
    if not names:
        return []
    described: dict[str, dict[str, Any]] = {}
    for response in await admin.describe_consumer_groups(names):
        for group in response.to_object()["groups"]:
            if group["error_code"] == 0:
                described[str(group["group"])] = group
    asked = list(ends)
    groups = []
    for name in names:
        group = described.get(name, {})
        members = tuple(str(m.get("client_id") or m.get("member_id") or "?") for m in group.get("members") or ())
        state = str(group.get("state") or "unknown")
        try:
            committed = await admin.list_consumer_group_offsets(name, partitions=asked) if asked else {}
        except KafkaError as exc:
            groups.append(ConsumerGroup(name, state, members, (), f"offsets not readable: {exc}"))
            continue
        lags = sorted(
            PartitionLag(str(tp.topic), int(tp.partition), int(meta.offset), ends[tp])
            for tp, meta in committed.items()
            if meta.offset >= 0 and tp in ends
        )
        groups.append(ConsumerGroup(name, state, members, tuple(lags)))
    return groups


def as_subscriptions(groups: list[ConsumerGroup]) -> list[SubscriptionInfo]:
    """The groups as Subscribers panel rows (see the module docstring)."""
    rows = []
    for group in groups:
        count = len(group.members)
        who = f"{group.name} ({count} member{'' if count == 1 else 's'})"
        active = count > 0
        if not group.partitions:
            why = group.unknown or "nothing committed yet"
            rows.append(remote_subscription(who, f"({why})", durable=True, active=active))
        rows.extend(
            remote_subscription(
                f"{who} · {lag.topic}[{lag.partition}]",
                topic_to_channel(lag.topic),
                durable=True,
                active=active,
                pending=lag.lag,
                acked=lag.committed,
            )
            for lag in group.partitions
        )
    return rows


def partitions_of(topics: Mapping[str, tuple[int, ...]]) -> list[Any]:
    """Every TopicPartition of ``topics`` (name -> partition numbers)."""
    return [TopicPartition(topic, partition) for topic, numbers in topics.items() for partition in numbers]
