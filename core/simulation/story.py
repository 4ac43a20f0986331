"""Stories: the ``x-eventdeck-story`` of a scenario, ordered steps a presenter walks a room through.

Each step has a caption (a title and one to three sentences) and actions that happen when the
step is reached: publish an event, send a command, pause / resume / crash / restart a subscriber,
make a consumer slow or flaky, scale a pool of consumers, inject a fault, set the speed, highlight
channels or subscribers::

    x-eventdeck-story:
      title: How events flow
      steps:
        - title: An event is a fact
          caption: A user signed up. The sign-up service tells whoever is interested.
          actions:
            - publish: {channel: user/signedup, payload: {name: Ada}, publisher: sign-up service}
            - highlight: [user/signedup]

This module holds the model only; the parser reads it from the document and the player
(:mod:`.story_player`) runs it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

__all__ = ["Action", "ActionKind", "Step", "Story"]


class ActionKind(enum.Enum):
    """What a story step does; the value is the key written in the document."""

    PUBLISH = "publish"
    """Publish an event: ``channel``, ``payload``, ``publisher``."""
    COMMAND = "command"
    """Send a command and wait (in the background) for its reply: ``channel``, ``payload``, ``publisher``, ``seconds``
    (the timeout)."""
    PAUSE = "pause"
    """Pause the subscriber ``target`` (its queue grows)."""
    RESUME = "resume"
    """Resume the subscriber ``target`` (its queue drains)."""
    CRASH = "crash"
    """The subscriber ``target`` crashes: a durable one keeps its queue, a non-durable one loses it."""
    RESTART = "restart"
    """The crashed subscriber ``target`` comes back."""
    SLOW = "slow"
    """The subscriber ``target`` takes ``seconds`` per message."""
    FLAKY = "flaky"
    """The subscriber ``target`` fails ``rate`` (0..1) of its messages."""
    CONSUMERS = "consumers"
    """The subscriber ``target``'s pool is scaled to ``count`` competing consumers sharing its one subscription."""
    DROP = "drop"
    """The broker drops the next ``count`` messages on channel ``target``."""
    DUPLICATE = "duplicate"
    """The broker delivers the next ``count`` messages on channel ``target`` twice."""
    DELAY = "delay"
    """The broker holds each of the next ``count`` messages on channel ``target`` for ``seconds``."""
    BURST = "burst"
    """The simulated publisher ``target`` (every publisher when empty) publishes ``rate`` times faster (default
    10) for ``seconds`` (default 5)."""
    CUT_OFF = "cutOff"
    """The subscriber ``target`` loses its connection to the broker until ``reconnect``."""
    RECONNECT = "reconnect"
    """The cut-off subscriber ``target`` reaches the broker again."""
    RESTART_BROKER = "restartBroker"
    """The broker restarts: what it held in memory is gone."""
    CLEAR_FAULTS = "clearFaults"
    """Every active fault is cleared (subscribers back to their scenario settings)."""
    SPEED = "speed"
    """The whole simulation runs at ``rate`` times its speed (0.1..5)."""
    PUBLISHERS = "publishers"
    """The simulated publishers stop (``rate`` 0) or run (``rate`` 1): a quiet stage for hand-made steps."""
    HIGHLIGHT = "highlight"
    """Draw attention to ``names``: channel addresses and subscriber or publisher names."""


@dataclass(frozen=True)
class Action:
    """One thing a step does; which fields matter depends on ``kind`` (see :class:`ActionKind`)."""

    kind: ActionKind
    target: str = ""
    """A subscriber, publisher or channel name, by kind."""
    channel: str = ""
    payload: Any = None
    publisher: str = ""
    count: int = 1
    seconds: float = 0.0
    rate: float = 0.0
    names: tuple[str, ...] = ()
    line: int | None = None
    """Where the action is written in its document (for errors while running it)."""


@dataclass(frozen=True)
class Step:
    """One step of a story: what the room reads, and what happens."""

    title: str
    caption: str
    actions: tuple[Action, ...] = ()

    @property
    def highlights(self) -> tuple[str, ...]:
        """Every name this step's ``highlight`` actions point at, in order."""
        return tuple(name for action in self.actions if action.kind is ActionKind.HIGHLIGHT for name in action.names)


@dataclass(frozen=True)
class Story:
    """A scenario's story: its steps in order (at least one)."""

    title: str
    steps: tuple[Step, ...]
