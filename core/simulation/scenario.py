"""A scenario: a workspace's simulation, its faults and its story, started, stopped and reset as one.

::

    async with Scenario(broker, load_workspace("scenarios/lossy.yaml"), seed=7) as scenario:
        scenario.faults.crash("welcome-mailer")
        await scenario.player.next()          # None when the document has no story
        seconds = await scenario.reset()      # back to the start: empty broker, counters zero, step 0

The story is the document's ``x-eventdeck-story`` (``workspace.story``) unless ``story=`` is given.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from eventdeck.core.simulation.faults import Faults
from eventdeck.core.simulation.lifecycle import StartStop
from eventdeck.core.simulation.simulation import Simulation
from eventdeck.core.simulation.story import Story
from eventdeck.core.simulation.story_player import StoryPlayer
from eventdeck.core.simulation.workspace import Workspace

if TYPE_CHECKING:
    from eventdeck.core.broker.broker import Broker

__all__ = ["Scenario"]


class Scenario(StartStop):
    """``simulation`` + ``faults`` + ``player`` (a :class:`StoryPlayer`, None without a story) for ``workspace``.

    ``start()`` starts the simulation; the story waits for its first Next (``player.next()``), so the
    scenario is alive before anyone tells it. ``await stop()`` clears the faults and stops the story's
    commands and the simulation; ``await reset()`` returns to the start. ``speed`` (0.1 to 5) is the
    pace at the start.
    """

    def __init__(
        self,
        broker: Broker,
        workspace: Workspace,
        *,
        story: Story | None = None,
        seed: int | None = None,
        speed: float = 1.0,
    ) -> None:
        self.broker = broker
        self.workspace = workspace
        self.simulation = Simulation(broker, workspace, seed=seed)
        self.simulation.set_speed(speed)  # the same range as the toolbar's
        self.faults = Faults(self.simulation)
        story = story if story is not None else getattr(workspace, "story", None)
        self.player = StoryPlayer(self.simulation, self.faults, story) if story is not None else None
        self._start_speed = speed

    def __repr__(self) -> str:
        return f"<Scenario {self.title!r} {self.simulation!r}>"

    @property
    def title(self) -> str:
        """The document's title."""
        return self.workspace.title

    # -- pace --------------------------------------------------------------------

    @property
    def speed(self) -> float:
        return self.simulation.speed

    def set_speed(self, factor: float) -> None:
        """Everything at ``factor`` times the workspace's pace (0.1 to 5; ``ValueError`` outside)."""
        self.simulation.set_speed(factor)

    @property
    def paused(self) -> bool:
        return self.simulation.paused

    def pause(self) -> None:
        """Stop the publishers (consumers go on draining their queues)."""
        self.simulation.pause()

    def resume(self) -> None:
        self.simulation.resume()

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        """Start the simulation (nothing if running); the story waits for its first Next."""
        self.simulation.start()

    async def stop(self) -> None:
        """Clear every fault, and stop the story's commands and the simulation."""
        self.faults.clear_all()  # first: a burst's timer is cancelled, and ends while the simulation stops
        if self.player is not None:
            await self.player.stop()
        await self.simulation.stop()

    async def reset(self) -> float:
        """Back to the start and return the seconds it took: stop, clear the faults, ``Broker.reset()`` (an empty
        broker, counters zero), the pace, publishers and pools of consumers as at the start, the simulation started
        again and the story at step 0 with its actions run (or, if it had not begun, still waiting for its first
        Next)."""
        started = time.perf_counter()
        await self.stop()
        self.broker.reset()
        self.simulation.clear_counters()
        self.simulation.set_speed(self._start_speed)
        self.simulation.restore_consumers()
        self.simulation.resume()
        self.simulation.start()
        if self.player is not None:
            self.player.errors.clear()
            if self.player.started:
                await self.player.restart()
            else:
                self.player.rewind()
        return time.perf_counter() - started
