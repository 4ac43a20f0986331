"""The story player: walks a room through a :class:`~eventdeck.core.simulation.story.Story`, step by step.

The player stands before the story (``index`` -1: the scenario runs on its own, so the window is
alive the second it opens) until it is started; then at a step (``index``, from 0), and reaching a
step runs its actions, in order::

    player = StoryPlayer(simulation, faults, story)
    await player.start()      # step 0, its actions run (Next from before the story does the same)
    await player.next()       # step 1 (False at the last step: nothing happens)
    await player.back()       # step 0 again: its actions run again
    player.step.caption, player.highlights, player.errors

Going back does not undo what later steps did (a crashed subscriber stays crashed until a step
restarts it or Reset); it shows the earlier caption and runs that step's actions again. An action
that fails (an unknown subscriber, a closed broker) is reported in ``errors`` with the step, the
action and the reason, and the story carries on with the next action. A command is sent in the
background: its reply, or its timeout, shows in the stream like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, assert_never

from eventdeck.core.broker.errors import EventDeckError, NoResponderError, RequestTimeout
from eventdeck.core.broker.subscription import Subscription
from eventdeck.core.simulation.faults import Faults
from eventdeck.core.simulation.simulation import Simulation, UnknownName
from eventdeck.core.simulation.story import Action, ActionKind, Step, Story

__all__ = ["COMMAND_TIMEOUT", "STORY_PUBLISHER", "StoryPlayer"]

logger = logging.getLogger(__name__)

STORY_PUBLISHER = "story"
"""Who publishes a story's events and commands unless the action names a publisher."""
COMMAND_TIMEOUT = 5.0
"""Seconds (scenario time) a story's command waits for its reply unless the action gives ``seconds``."""
DEFAULT_BURST = (10.0, 5.0)
"""A burst's factor and seconds unless the action gives ``rate`` and ``seconds``."""
_FAILURES = (EventDeckError, ValueError, LookupError)
"""What an action may fail with for a reason the story's author can act on (anything else is a bug)."""


class StoryPlayer:
    """Plays ``story`` on ``simulation`` with ``faults``: Next, Back, Go to, Restart."""

    def __init__(self, simulation: Simulation, faults: Faults, story: Story) -> None:
        if not story.steps:
            raise ValueError(f"story {story.title!r} has no steps; a story needs at least one")
        self.simulation = simulation
        self.faults = faults
        self.story = story
        self.index = -1
        """The step the player stands at (0 is the first; -1 before the story is started)."""
        self.errors: list[str] = []
        """Actions that failed, oldest first, each with its step, the action and the reason (cleared by the caller)."""
        self.on_change: list[Callable[[], None]] = []
        """Called when the player moved to a step, and again once its actions ran."""
        self._moving = asyncio.Lock()  # one step at a time, even if Next is clicked twice
        self._commands: set[asyncio.Task[None]] = set()

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.story.steps

    @property
    def count(self) -> int:
        return len(self.story.steps)

    @property
    def started(self) -> bool:
        """Whether the story has begun (Next, ``start()`` or ``go_to``)."""
        return self.index >= 0

    @property
    def step(self) -> Step | None:
        """The step the player stands at; None before the story is started."""
        return self.story.steps[self.index] if self.started else None

    @property
    def highlights(self) -> tuple[str, ...]:
        """The channels and subscribers or publishers the current step draws attention to."""
        return self.story.steps[self.index].highlights if self.started else ()

    # -- moving ----------------------------------------------------------------

    async def start(self) -> None:
        """Stand at step 0 and run its actions."""
        await self.go_to(0)

    async def restart(self) -> None:
        """Back to step 0, its actions run again (what later steps did is not undone: Reset does that)."""
        await self.go_to(0)

    def rewind(self) -> None:
        """Before the story again, running nothing (the scenario's Reset, when the story had not begun)."""
        self.index = -1
        self._notify()

    async def next(self) -> bool:
        """To the next step, running its actions; False (and nothing happens) at the last step."""
        return await self._move_by(1)

    async def back(self) -> bool:
        """To the previous step, running its actions again (nothing is undone); False at the first step."""
        return await self._move_by(-1)

    async def go_to(self, index: int) -> None:
        """To step ``index`` (0 to ``count - 1``), running its actions; ``IndexError`` outside the story."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.count:
            raise IndexError(f"story {self.story.title!r} has steps 0 to {self.count - 1}; there is no step {index!r}")
        async with self._moving:
            await self._enter(index)

    async def _move_by(self, steps: int) -> bool:
        async with self._moving:  # counted from where the previous move ended: two clicks on Next go two steps
            index = self.index + steps
            if not 0 <= index < self.count:
                return False
            await self._enter(index)
            return True

    async def _enter(self, index: int) -> None:
        self.index = index
        self._notify()
        step = self.story.steps[index]
        for number, action in enumerate(step.actions, start=1):
            where = _where(index, step, number, action)
            try:
                await self._run(action, where)
            except _FAILURES as exc:
                self._fail(where, exc)
        self._notify()

    async def stop(self) -> None:
        """Cancel the commands still waiting for their replies."""
        tasks, self._commands = list(self._commands), set()  # a list: a finishing task discards itself from the set
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- actions ---------------------------------------------------------------

    async def _run(self, action: Action, where: str) -> None:
        """Do ``action`` (``where`` names it in the errors of a command that fails later)."""
        faults, simulation = self.faults, self.simulation
        kind, target = action.kind, action.target
        if kind is ActionKind.PUBLISH:
            channel = action.channel or target
            await simulation.broker.publish(
                channel, self._payload(action, channel), publisher=action.publisher or STORY_PUBLISHER
            )
        elif kind is ActionKind.COMMAND:
            self._send_command(action, where)
        elif kind is ActionKind.PAUSE:
            self._subscription(target).pause()
        elif kind is ActionKind.RESUME:
            self._subscription(target).resume()
        elif kind is ActionKind.CRASH:
            faults.crash(target)
        elif kind is ActionKind.RESTART:
            faults.restart(target)
        elif kind is ActionKind.SLOW:
            faults.slow(target, action.seconds)
        elif kind is ActionKind.FLAKY:
            faults.flaky(target, action.rate)
        elif kind is ActionKind.CONSUMERS:
            simulation.set_consumers(target, action.count)
        elif kind is ActionKind.DROP:
            faults.drop(action.channel or target, action.count)
        elif kind is ActionKind.DUPLICATE:
            faults.duplicate(action.channel or target, action.count)
        elif kind is ActionKind.DELAY:
            faults.delay(action.channel or target, action.count, action.seconds)
        elif kind is ActionKind.BURST:
            factor, seconds = DEFAULT_BURST
            faults.burst(target or None, action.rate or factor, action.seconds or seconds)
        elif kind is ActionKind.CUT_OFF:
            faults.cut_off(target)
        elif kind is ActionKind.RECONNECT:
            faults.reconnect(target)
        elif kind is ActionKind.RESTART_BROKER:
            await faults.restart_broker()
        elif kind is ActionKind.CLEAR_FAULTS:
            faults.clear_all()
        elif kind is ActionKind.SPEED:
            simulation.set_speed(action.rate)
        elif kind is ActionKind.PUBLISHERS:
            if action.rate:
                simulation.resume()
            else:
                simulation.pause()
        elif kind is ActionKind.HIGHLIGHT:
            pass  # read from the step by ``highlights``
        else:
            assert_never(kind)

    def _payload(self, action: Action, channel: str) -> Any:
        """The action's payload, or one like the simulation's for ``channel`` when the action gives none."""
        return action.payload if action.payload is not None else self.simulation.sample_payload(channel)

    def _subscription(self, name: str) -> Subscription:
        """The subscription of the simulation's consumer ``name``, or else the broker's subscription of that name."""
        try:
            consumer = self.simulation.consumer(name)
        except UnknownName:
            try:
                return self.simulation.broker.subscription(name)
            except KeyError:
                known = ", ".join(info.name for info in self.simulation.broker.subscriptions()) or "none"
                raise UnknownName(f"no subscriber named {name!r}; the broker's subscriptions: {known}") from None
        if consumer is None:
            raise ValueError(f"subscriber {name!r} is not running: the simulation is stopped")
        return consumer.subscription

    def _send_command(self, action: Action, where: str) -> None:
        channel = action.channel or action.target
        payload = self._payload(action, channel)

        async def send() -> None:
            simulation = self.simulation
            timeout = (action.seconds or COMMAND_TIMEOUT) / simulation.speed
            try:
                await simulation.broker.request(
                    channel, payload, timeout=timeout, publisher=action.publisher or STORY_PUBLISHER
                )
            except (NoResponderError, RequestTimeout):
                pass  # an outcome the room sees in the stream, not a mistake in the story
            except _FAILURES as exc:
                self._fail(where, exc)
                self._notify()

        task = asyncio.get_running_loop().create_task(send(), name=f"story:command:{channel}")
        self._commands.add(task)
        task.add_done_callback(self._commands.discard)

    # -- reporting -------------------------------------------------------------

    def _fail(self, where: str, exc: BaseException) -> None:
        self.errors.append(f"{where}: {exc}")

    def _notify(self) -> None:
        for callback in list(self.on_change):
            try:
                callback()
            except Exception:  # a listener's bug must not stop the story
                logger.exception("a StoryPlayer.on_change callback failed")


def _where(index: int, step: Step, number: int, action: Action) -> str:
    """Where an action is, for its author: ``step 2 (A crash), action 1 (crash mailer) (line 40)``."""
    what = " ".join(part for part in (action.kind.value, action.target or action.channel) if part)
    line = f" (line {action.line})" if action.line is not None else ""
    return f"step {index + 1} ({step.title}), action {number} ({what}){line}"
