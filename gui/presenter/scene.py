"""What the presenter draws, as a graph (no Qt): the topology's graph, told the way the room sees it.

Replies travel straight back to their requester, so their ``$reply/...`` channels and the
responders' sends to them are left out. Dead letters are sent by the broker on behalf of the
subscription that gave up, so they come from that subscription, drawn back into the broker's
``$dead/...`` channel, rather than from a publisher called "broker: dead letters".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from eventdeck.core import DEAD_PREFIX, matches
from eventdeck.core.broker.requests import REPLY_PREFIX
from eventdeck.gui.bridge import Snapshot
from eventdeck.gui.models.topology import DEAD_LETTERS, Edge, EdgeKey, Graph, build_graph

EMPTY = Graph((), (), (0, 0, 0), True)


def presenter_graph(
    counts: Mapping[EdgeKey, int], rates: Mapping[EdgeKey, float], snapshot: Snapshot, limit: int
) -> Graph:
    """Publishers, channels and subscriptions to draw, with at most ``limit`` of each."""
    channels = [info for info in snapshot.channels if not info.name.startswith(REPLY_PREFIX)]
    counts = {key: count for key, count in counts.items() if not key[1].startswith(REPLY_PREFIX)}
    graph = build_graph(counts, rates, dataclasses.replace(snapshot, channels=channels), limit)
    broker = f"p:{DEAD_LETTERS}"
    shown = {node.key for node in graph.nodes}
    dead_edges = [
        Edge(f"s:{info.name}", f"c:{DEAD_PREFIX}{channel}", None, 0.0)
        for info in snapshot.subscriptions
        if info.dead_lettered and f"s:{info.name}" in shown
        for channel in (key[len(f"c:{DEAD_PREFIX}") :] for key in shown if key.startswith(f"c:{DEAD_PREFIX}"))
        if matches(info.pattern, channel)
    ]
    return dataclasses.replace(
        graph,
        nodes=tuple(node for node in graph.nodes if node.key != broker),
        edges=tuple(edge for edge in graph.edges if edge.source != broker) + tuple(dead_edges),
    )
