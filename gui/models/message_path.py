"""The path one followed message took, as node and edge keys the presenter and the topology highlight (no Qt).

A message goes from its publisher to its channel and on to each subscription that got it,
each edge coloured by what that subscription did with it (acked, redelivered, dead-lettered,
still pending), and a command's reply with it. A dead letter comes from the subscription that
gave up. Node keys are the topology's: ``p:<publisher>``, ``c:<channel>``, ``s:<subscription>``.

The presenter's picture (``presenter=True``) draws a reply going home (responder -> the
command's channel -> requester) and a dead letter coming from the subscription that gave up;
the topology draws both as what they are on the wire: a publish by the responder to the
requester's ``$reply/...`` channel, and one by the broker to ``$dead/...``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from eventdeck.core import DEAD_PREFIX, Kind, Message
from eventdeck.core.broker.journal import MessageTimeline, Outcome, SubscriptionTimeline
from eventdeck.gui.models.topology import DEAD_LETTERS, UNNAMED
from eventdeck.gui.widgets.icons import KIND_COLOURS
from eventdeck.gui.widgets.theme import DEAD_LETTER_COLOUR

ACKED_COLOUR = "#16a34a"
REDELIVERED_COLOUR = "#8b5cf6"  # violet: apart from the commands' orange and the replies' green
PENDING_COLOUR = "#9ca3af"
REPLY_COLOUR = KIND_COLOURS[Kind.REPLY]
DROPPED_COLOUR = "#6b7280"
HINT = "Following message #{id} on {channel} — Esc or click empty space to stop"

Lookup = Callable[[Message], Message | None]


@dataclass(frozen=True, slots=True)
class Mark:
    """How one subscription's outcome is shown: a short label and a colour."""

    text: str
    colour: str
    pending: bool  # nothing final yet: drawn dashed, refreshed while shown


def mark(line: SubscriptionTimeline) -> Mark:
    """The label and colour of one subscription's outcome."""
    outcome = line.outcome
    if outcome is Outcome.ACKED:
        if line.redelivered:
            return Mark(f"↻ acked on attempt {line.attempts}", REDELIVERED_COLOUR, False)
        return Mark("✓ acked", ACKED_COLOUR, False)
    if outcome is Outcome.REDELIVERING:
        return Mark("↻ failed: redelivering", REDELIVERED_COLOUR, True)
    if outcome is Outcome.DEAD_LETTERED:
        tries = f" after {line.attempts} attempts" if line.attempts > 1 else ""
        return Mark(f"☠ dead-lettered{tries}", DEAD_LETTER_COLOUR, False)
    if outcome is Outcome.DROPPED:
        return Mark("✗ dropped: queue full", DROPPED_COLOUR, False)
    if outcome is Outcome.DELIVERED:
        return Mark("… awaiting ack", PENDING_COLOUR, True)
    if outcome is Outcome.QUEUED:
        return Mark("… queued", PENDING_COLOUR, True)
    return Mark("? not on record", PENDING_COLOUR, False)


@dataclass(frozen=True, slots=True)
class MessagePath:
    """The followed message's nodes and edges (source key, target key) -> colour, and each subscription's mark."""

    message: Message
    nodes: frozenset[str]
    edges: dict[tuple[str, str], str] = field(default_factory=dict)
    marks: dict[str, Mark] = field(default_factory=dict)  # subscription key -> its outcome; requester -> its reply
    reply: Message | None = None
    timeline: MessageTimeline | None = None  # None: the backend cannot report deliveries

    @property
    def pending(self) -> bool:
        """Whether an outcome may still change (so it is worth asking again)."""
        return self.timeline is not None and not self.timeline.settled

    @property
    def hint(self) -> str:
        return HINT.format(id=self.message.id, channel=self.message.channel)


def message_path(
    message: Message,
    timeline: MessageTimeline | None,
    command_for: Lookup,
    reply_for: Lookup,
    *,
    presenter: bool = False,
) -> MessagePath:
    """Where ``message`` went: from whoever sent it, through its channel, to each subscription in ``timeline``."""
    if message.kind is Kind.REPLY and presenter:
        command = command_for(message)
        if command is None:  # its command is forgotten: the reply alone, from its responder
            return MessagePath(message, frozenset({f"s:{message.publisher}"}), timeline=timeline)
        nodes, edges = _home(message, command)
        return MessagePath(message, frozenset(nodes), edges, timeline=timeline)
    kind_colour = DEAD_LETTER_COLOUR if message.channel.startswith(DEAD_PREFIX) else KIND_COLOURS[message.kind]
    source = _source(message, presenter)
    channel = f"c:{message.channel}"
    nodes = {source, channel}
    edges = {(source, channel): kind_colour}
    marks: dict[str, Mark] = {}
    for line in timeline.subscriptions if timeline is not None else ():
        key = f"s:{line.subscription}"
        marks[key] = mark(line)
        nodes.add(key)
        edges[(channel, key)] = marks[key].colour
        if line.outcome is Outcome.DEAD_LETTERED:  # and on, as a dead letter, to $dead/<channel>
            dead = f"c:{message.channel if message.channel.startswith(DEAD_PREFIX) else DEAD_PREFIX + message.channel}"
            sender = key if presenter else f"p:{DEAD_LETTERS}"
            nodes.update((sender, dead))
            edges[(sender, dead)] = DEAD_LETTER_COLOUR
    reply = reply_for(message) if message.kind is Kind.COMMAND else None
    if reply is not None:
        reply_nodes, reply_edges = _home(reply, message) if presenter else _wire(reply)
        nodes |= reply_nodes
        edges.update(reply_edges)
        marks[source] = Mark(f"↩ reply after {_latency(reply.timestamp - message.timestamp)}", REPLY_COLOUR, False)
    elif message.kind is Kind.COMMAND and message.reply_to is not None:
        marks[source] = Mark("◷ no reply yet", PENDING_COLOUR, True)
    return MessagePath(message, frozenset(nodes), edges, marks, reply, timeline)


def _latency(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _source(message: Message, presenter: bool) -> str:
    """Who sent it, as drawn: the presenter draws a dead letter coming from the subscription that gave up on it."""
    if message.channel.startswith(DEAD_PREFIX):
        return f"s:{message.headers.get('x-dead-subscription', '')}" if presenter else f"p:{DEAD_LETTERS}"
    return f"p:{message.publisher or UNNAMED}"


Leg = tuple[set[str], dict[tuple[str, str], str]]


def _home(reply: Message, command: Message) -> Leg:
    """A reply's way home, as the presenter draws it: responder -> the command's channel -> the requester."""
    responder, channel, requester = f"s:{reply.publisher}", f"c:{command.channel}", f"p:{command.publisher or UNNAMED}"
    return {responder, channel, requester}, {(responder, channel): REPLY_COLOUR, (channel, requester): REPLY_COLOUR}


def _wire(reply: Message) -> Leg:
    """A reply as the topology draws it: its responder publishing to the requester's ``$reply/...`` channel."""
    responder, channel = f"p:{reply.publisher or UNNAMED}", f"c:{reply.channel}"
    return {responder, channel}, {(responder, channel): REPLY_COLOUR}
