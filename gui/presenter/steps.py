"""Step mode's hops, exactly one per Next (no Qt).

A new message is held at its channel (the broker does that: published -> in the broker).
Next releases it to its subscriptions (delivered); the Next after shows what each of them did
with it (acked, redelivered, dead-lettered, dropped), as the delivery journal has it then.
If one has not finished yet, that press says who the room is waiting for and a later one
shows the outcome. A subscription may itself wait for something held (a responder's reply
waits at its channel for Next), so while an outcome is overdue, Next releases what is held
before asking again; with nothing held, it shows the outcomes as they stand.
"""

from __future__ import annotations

import enum
import html
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from eventdeck.core import Message
from eventdeck.core.broker.journal import MessageTimeline
from eventdeck.gui.models.message_path import mark


class Hop(enum.Enum):
    RELEASED = "released"  # a held message went on to its subscriptions
    OUTCOME = "outcome"  # what each subscription did with it
    WAITING = "waiting"  # some have not finished: who the room waits for
    NONE = "none"  # nothing held and nothing owed


@dataclass(frozen=True, slots=True)
class Step:
    """What one press did."""

    hop: Hop
    message: Message | None = None
    timeline: MessageTimeline | None = None

    @property
    def waiting_for(self) -> list[str]:
        """The subscriptions that have not reached an outcome yet."""
        lines = self.timeline.subscriptions if self.timeline is not None else ()
        return [line.subscription for line in lines if not line.outcome.settled]


class StepPlan:
    """The released messages whose outcome hop is still owed, oldest first."""

    def __init__(self) -> None:
        self._owed: deque[tuple[Message, bool]] = deque()  # message, already said who it waits for

    @property
    def owed(self) -> list[Message]:
        return [message for message, _asked in self._owed]

    def clear(self) -> None:
        self._owed.clear()

    def press(
        self, release: Callable[[], Message | None], timeline: Callable[[Message], MessageTimeline | None]
    ) -> Step:
        """One Next: the oldest owed outcome if it is known (or say who it waits for), else release one message."""
        while self._owed:
            message, asked = self._owed[0]
            story = timeline(message)
            if story is None or not story.subscriptions:  # nobody got it (or nobody can say): no outcome to show
                self._owed.popleft()
                continue
            if story.settled:
                self._owed.popleft()
                return Step(Hop.OUTCOME, message, story)
            if not asked:
                self._owed[0] = (message, True)
                return Step(Hop.WAITING, message, story)
            break  # still not known: perhaps it waits for what is held
        released = release()
        if released is not None:
            self._owed.append((released, False))
            return Step(Hop.RELEASED, released)
        if self._owed:
            message, _asked = self._owed.popleft()
            return Step(Hop.OUTCOME, message, timeline(message))
        return Step(Hop.NONE)


def step_status(held: int, hop: str = "") -> str:
    """What the bar says in step mode: what the last Next did, if anything, then what waits."""
    if hop:
        return f"<b>Step mode:</b> {hop}" + (f" · {held} held" if held else "")
    if not held:
        return "<b>Step mode:</b> the next message will wait in the broker"
    waiting = "1 message waits" if held == 1 else f"{held} messages wait"
    return f"<b>Step mode:</b> {waiting} in the broker; Next (Space) moves one on"


def hop_text(step: Step, reached: list[str]) -> str:
    """What one Next did, in words for the bar (names are escaped: they come from the traffic)."""
    names = ", ".join(html.escape(name) for name in reached)
    if step.hop is Hop.RELEASED and step.message is not None:
        if not reached:
            return f"nobody shown subscribes to {html.escape(step.message.channel)}"
        return f"delivered to {names} · Next: what they did"
    if step.hop is Hop.WAITING:
        return f"waiting for {', '.join(html.escape(name) for name in step.waiting_for)} · Next: what they did"
    if step.hop is Hop.OUTCOME and step.timeline is not None:
        return " · ".join(
            f"{html.escape(line.subscription)}: {mark(line).text}" for line in step.timeline.subscriptions
        )
    return ""
