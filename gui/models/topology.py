"""Who publishes to which channel, and who subscribes to it: the graph the topology panel draws.

Publishers are learnt from the traffic (each message names its publisher); channels and
subscriptions come from the bridge's snapshots. Building the graph draws nothing, so it is
tested on its own and the panel only draws.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from eventdeck.core import DEAD_PREFIX, Kind, Message, matches
from eventdeck.core.broker.subscription import State, SubscriptionInfo
from eventdeck.core.broker.subscription_options import AckMode, Overflow
from eventdeck.core.connectors.backend import GAP_CHANNEL
from eventdeck.gui.bridge import RATE_WINDOW, Bridge, Snapshot
from eventdeck.gui.widgets.small import plural

MAX_EDGES = 10_000  # distinct (publisher, channel, kind) remembered; more are counted, not drawn
MAX_PER_COLUMN = 40  # the busiest nodes drawn in each column; a note says how many more there are
UNNAMED = "(unnamed)"
DEAD_LETTERS = "broker: dead letters"  # a dead-lettered copy keeps its publisher, but the broker sent it
PUBLISHERS, CHANNELS, SUBSCRIBERS = 0, 1, 2  # the three columns, left to right
DEAD = "dead letter"  # the kind a dead-lettered copy is shown as, beside Kind's values

EdgeKey = tuple[str, str, Kind]  # publisher, channel, kind


class PublisherLedger:
    """Messages counted per (publisher, channel, kind), fed with the bridge's message batches."""

    def __init__(self, max_edges: int = MAX_EDGES) -> None:
        self.max_edges = max_edges
        self.counts: Counter[EdgeKey] = Counter()
        self.untracked = 0  # messages on edges beyond ``max_edges``
        # Readings of the last few snapshots: edge rates use the same window as channel rates.
        self._readings: deque[tuple[float, dict[EdgeKey, int]]] = deque(maxlen=RATE_WINDOW)
        self._rates: tuple[float, dict[EdgeKey, float]] | None = None  # the last reading's

    def add(self, batch: Iterable[Message]) -> None:
        counts = self.counts
        for key, count in Counter((m.publisher, m.channel, m.kind) for m in batch).items():
            if key in counts or len(counts) < self.max_edges:
                counts[key] += count
            else:
                self.untracked += count

    def rates_at(self, now: float) -> dict[EdgeKey, float]:
        """Take a reading at ``now`` (a snapshot's time); msg/s on each edge since the oldest one kept.
        Asked again for the same snapshot (by another view of it), the same rates and no second reading."""
        if self._rates is not None and self._rates[0] == now:
            return self._rates[1]
        rates = edge_rates(self.counts, self._readings[0][1], now - self._readings[0][0]) if self._readings else {}
        self._readings.append((now, dict(self.counts)))
        self._rates = (now, rates)
        return rates

    def clear(self) -> None:
        self.counts.clear()
        self.untracked = 0
        self._readings.clear()
        self._rates = None


_LEDGERS: WeakKeyDictionary[Bridge, PublisherLedger] = WeakKeyDictionary()


def publisher_ledger(bridge: Bridge) -> PublisherLedger:
    """The ledger of ``bridge``'s traffic that the topology panel and the presenter both read: fed once a
    batch, whichever of them is shown (one ledger each counted every flood twice, the hidden one's too)."""
    ledger = _LEDGERS.get(bridge)
    if ledger is None:
        ledger = _LEDGERS[bridge] = PublisherLedger()
        bridge.messages.connect(ledger.add)
    return ledger


@dataclass(frozen=True, slots=True)
class Node:
    key: str  # unique across columns: "p:<publisher>", "c:<channel>", "s:<subscription>"
    column: int
    label: str
    detail: str  # a short second line: a rate, a state and queue
    tooltip: str  # plain text
    dimmed: bool = False  # a paused or away subscription, or a $-channel


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    kind: Kind | None  # publisher -> channel edges carry the message kind; channel -> subscriber None
    rate: float  # msg/s over the bridge's rate window (the same 2 s as the channel rates)
    active: bool = True  # False: the subscription is paused or away (its queue grows)


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    hidden: tuple[int, int, int]  # quieter publishers, channels and subscribers left out, to stay readable
    subscribers_exposed: bool

    def column(self, column: int) -> list[Node]:
        return [node for node in self.nodes if node.column == column]


def edge_rates(now: Mapping[EdgeKey, int], before: Mapping[EdgeKey, int], seconds: float) -> dict[EdgeKey, float]:
    """Messages per second on each edge between two ledger readings ``seconds`` apart."""
    if seconds <= 0:
        return {}
    return {key: (count - before.get(key, 0)) / seconds for key, count in now.items()}


def build_graph(
    counts: Mapping[EdgeKey, int],
    rates: Mapping[EdgeKey, float],
    snapshot: Snapshot,
    limit: int = MAX_PER_COLUMN,
) -> Graph:
    """Publishers, channels and subscriptions with the edges between them, laid out in three columns.

    Each column holds at most ``limit`` nodes, the busiest (channels by messages, publishers by
    messages sent, subscriptions by messages delivered and pending), so ten thousand
    subscriptions cost a sort, not a picture nobody can read. Channels are in name order;
    publishers and subscribers sit level with the mean row of their channels, which keeps most
    lines short and uncrossed.
    """
    infos = [info for info in snapshot.channels if info.name != GAP_CHANNEL]
    shown = sorted(heapq.nlargest(limit, infos, key=lambda info: info.messages), key=lambda info: info.name)
    row = {info.name: index for index, info in enumerate(shown)}
    nodes = [
        Node(
            f"c:{info.name}",
            CHANNELS,
            info.name,
            f"{snapshot.channel_rates.get(info.name, 0.0):,.1f} msg/s",
            f"Channel {info.name}\n{info.messages:,} messages, {info.subscribers:,} subscribers"
            + (f"\n{info.description}" if info.description else ""),
            dimmed=info.name.startswith("$"),
        )
        for info in shown
    ]

    sent: dict[str, dict[EdgeKey, int]] = {}  # publisher -> its edges to shown channels
    for key, count in counts.items():
        if key[1] in row:
            sent.setdefault(_sender(key[0], key[1]), {})[key] = count
    publishers = heapq.nlargest(limit, sent, key=lambda name: sum(sent[name].values()))
    edges: list[Edge] = []
    publisher_nodes: list[tuple[float, Node]] = []
    for name in publishers:
        mine = sent[name]
        channels = {channel for _publisher, channel, _kind in mine}
        lines = [f"Publisher {name}"]
        for key, count in sorted(mine.items(), key=_by_channel):
            _publisher, channel, kind = key
            edges.append(Edge(f"p:{name}", f"c:{channel}", kind, rates.get(key, 0.0)))
            lines.append(f"{kind.value}s to {channel}: {count:,}")
        rate = sum(rates.get(key, 0.0) for key in mine)
        detail = f"{rate:,.1f} msg/s to {plural(len(channels), 'channel')}"
        node = Node(f"p:{name}", PUBLISHERS, name, detail, "\n".join(lines))
        publisher_nodes.append((_mean(row[channel] for channel in channels), node))

    subscriptions = heapq.nlargest(limit, snapshot.subscriptions, key=lambda info: info.delivered + info.pending)
    subscription_nodes: list[tuple[float, Node]] = []
    for info in subscriptions:
        matched = [name for name in row if matches(info.pattern, name)]
        active = info.state is State.ACTIVE
        rate = snapshot.subscription_rates.get(info.name, 0.0)
        edges.extend(Edge(f"c:{name}", f"s:{info.name}", None, rate, active) for name in matched)
        node = Node(
            f"s:{info.name}",
            SUBSCRIBERS,
            info.name,
            _subscription_detail(info),
            f"Subscription {info.name} to {info.pattern}\n{info.state.value}, {info.pending:,} pending, "
            f"{info.delivered:,} delivered, {info.dead_lettered:,} dead-lettered",
            dimmed=not active,
        )
        subscription_nodes.append((_mean(row[name] for name in matched), node))

    every_publisher = {_sender(publisher, channel) for publisher, channel, _kind in counts if channel != GAP_CHANNEL}
    return Graph(
        tuple(_in_rows(publisher_nodes) + nodes + _in_rows(subscription_nodes)),
        tuple(edges),
        hidden=(
            len(every_publisher) - len(publishers),
            len(infos) - len(shown),
            len(snapshot.subscriptions) - len(subscriptions),
        ),
        subscribers_exposed=snapshot.subscriptions_exposed,
    )


def shown_kind(message: Message) -> str:
    """event, command, reply or dead letter: what badge and colour a message is shown with."""
    return DEAD if message.channel.startswith(DEAD_PREFIX) else message.kind.value


def _sender(publisher: str, channel: str) -> str:
    """Who sent a message onto ``channel``, as the diagram shows it."""
    if channel.startswith(DEAD_PREFIX):
        return DEAD_LETTERS
    return publisher or UNNAMED


def _by_channel(item: tuple[EdgeKey, int]) -> tuple[str, str]:
    (_publisher, channel, kind), _count = item
    return channel, kind.value


def _in_rows(placed: list[tuple[float, Node]]) -> list[Node]:
    """Nodes in the order of their mean channel row (unconnected ones last), then by name."""
    return [node for _row, node in sorted(placed, key=lambda pair: (pair[0], pair[1].label))]


def _subscription_detail(info: SubscriptionInfo) -> str:
    state = "" if info.state is State.ACTIVE else f"{info.state.value}, "
    return f"{state}{info.pending:,} pending"


def _mean(rows: Iterable[int]) -> float:
    values = list(rows)
    return sum(values) / len(values) if values else float("inf")  # unconnected nodes go last


# -- a running scenario's marks ----------------------------------------------------

ActiveFault = tuple[int, str, str, str]
"""An active fault as the window reports it: ``(ident, kind, target, description)``, the kind a story's action name."""
BROKER_KEY = "broker"  # the broker's own box in the presenter: where a broker restart shows
FAULT_WORDS = {
    "crash": "crashed",
    "cutOff": "cut off",
    "slow": "slow",
    "flaky": "flaky",
    "drop": "dropping",
    "duplicate": "duplicating",
    "delay": "delaying",
    "burst": "bursting",
    "restartBroker": "restarted",  # ScenarioMarks.restart says what it kept
}
"""A fault in a word or two, for the box it hits (the status bar's badge has the whole description)."""
_ON_SUBSCRIBERS = frozenset({"crash", "cutOff", "slow", "flaky"})
_ON_CHANNELS = frozenset({"drop", "duplicate", "delay"})


@dataclass(frozen=True, slots=True)
class ScenarioMarks:
    """What a running scenario draws on the boxes: the story step's highlights and the active faults."""

    highlights: frozenset[str] = frozenset()
    """Channel addresses and subscriber or publisher names the story's step points at."""
    faults: tuple[ActiveFault, ...] = ()
    subscribers: frozenset[str] = frozenset()
    """The simulated subscribers and responders: the subscriptions a fault can hit."""
    patterns: tuple[tuple[str, str], ...] = ()
    """Each of them with the pattern it subscribes to (a crashed one is drawn by it)."""
    publishers: frozenset[str] = frozenset()
    running: bool = False
    """A scenario runs on the broker shown, so its channels can be given faults too."""
    restart: str = ""
    """The last broker restart in a few words ("restarted: kept 2 queues on disk"), for the broker's box."""

    def highlighted(self, key: str) -> bool:
        return key[2:] in self.highlights

    def faults_on(self, key: str) -> list[ActiveFault]:
        """The active faults hitting the box ``key`` (``c:``/``p:``/``s:`` and its name, or ``BROKER_KEY``)."""
        return [fault for fault in self.faults if key in self._keys_of(fault)]

    def fault_text(self, key: str) -> str:
        """``⚠ crashed``, ``⚠ slow · flaky``: what the box shows; empty when no fault hits it."""
        words = dict.fromkeys(self._word(kind) for _ident, kind, _target, _text in self.faults_on(key))
        return f"⚠ {' · '.join(words)}" if words else ""

    def _word(self, kind: str) -> str:
        if kind == "restartBroker" and self.restart:
            return self.restart
        return FAULT_WORDS.get(kind, kind)

    def can_fault(self, key: str) -> bool:
        """Whether faults can be injected into the box ``key`` (an element of the running scenario)."""
        kind, name = key[:2], key[2:]
        if kind == "s:":
            return name in self.subscribers
        if kind == "p:":
            return name in self.publishers
        return self.running and kind == "c:" and not name.startswith("$")

    def _keys_of(self, fault: ActiveFault) -> set[str]:
        _ident, kind, target, _text = fault
        if kind in _ON_SUBSCRIBERS:
            return {f"s:{target}"}
        if kind in _ON_CHANNELS:
            return {f"c:{target}"}
        if kind == "burst":
            return {f"p:{name}" for name in ([target] if target else self.publishers)}
        return {BROKER_KEY}


NO_MARKS = ScenarioMarks()
_GONE = frozenset({"crash", "cutOff"})  # faults that can take a subscription off the broker


def with_down_subscribers(snapshot: Snapshot, marks: ScenarioMarks) -> Snapshot:
    """``snapshot`` and, closed and empty, each scenario subscriber a crash or a cut-off took off the broker (not
    durable: the broker forgot it), so it stays on the diagram with its fault written on it."""
    shown = {info.name for info in snapshot.subscriptions}
    patterns = dict(marks.patterns)
    down = [target for _ident, kind, target, _text in marks.faults if kind in _GONE and target not in shown]
    if not down:
        return snapshot
    ghosts = [
        SubscriptionInfo(
            name,
            patterns.get(name, ""),
            False,
            State.CLOSED,
            Overflow.DROP_OLDEST,
            AckMode.MANUAL,
            1,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        )
        for name in dict.fromkeys(down)
    ]
    return dataclasses.replace(snapshot, subscriptions=[*snapshot.subscriptions, *ghosts])
