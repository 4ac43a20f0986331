"""The running scenario in the window: started by name or file, switched, reset, paced, told and broken on purpose.

::

    scenarios = ScenarioController(bridge, host, RecentFiles(settings), embedded_backend)
    scenarios.start("household")               # a built-in or a file; a bad file shows its file, line and reason
    scenarios.next(); scenarios.back()         # the story, when the scenario tells one
    scenarios.request_fault("crash", "welcome-mailer")
    scenarios.reset()                          # empty broker, counters zero, stream cleared: "Reset in 12 ms"

Coroutines run through ``bridge.spawn``, so a failure is shown and never fatal; the window and the
presenter follow the signals. Scenarios run on the embedded broker: while a connector is shown
(``available`` False) nothing here starts or changes one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from eventdeck.core.asyncapi.errors import AsyncApiError
from eventdeck.core.broker.errors import EventDeckError
from eventdeck.core.connectors.backend import Backend
from eventdeck.core.simulation.catalogue import BUILT_IN, load_scenario
from eventdeck.core.simulation.story import ActionKind
from eventdeck.gui.bridge import Bridge, Snapshot
from eventdeck.gui.controllers.host import WindowHost
from eventdeck.gui.models.topology import ActiveFault
from eventdeck.gui.scenarios.fault_widgets import (
    BURST_RATE,
    BURST_SECONDS,
    DELAY_SECONDS,
    FLAKY_RATE,
    NEXT_COUNT,
    SLOW_SECONDS,
)
from eventdeck.gui.scenarios.recent_files import RecentFiles
from eventdeck.gui.scenarios.story_controls import BEFORE

if TYPE_CHECKING:  # the simulation and its loader load with the first scenario, after the window's first paint
    from eventdeck.core.simulation.faults import BrokerRestart, Faults
    from eventdeck.core.simulation.scenario import Scenario
    from eventdeck.core.simulation.workspace import Workspace

UNAVAILABLE = "Scenarios run on the embedded broker: go back to it (File > Connections…) to start, pace or break one"
NO_SCENARIO = "Start a scenario first (File > Scenarios): faults act on its simulated publishers and subscribers"
_FAILURES = (EventDeckError, ValueError, LookupError)  # what a fault or a pace can be refused with, in words

_INJECT: dict[ActionKind, Callable[[Faults, str], object]] = {
    ActionKind.CRASH: lambda faults, name: faults.crash(name),
    ActionKind.CUT_OFF: lambda faults, name: faults.cut_off(name),
    ActionKind.SLOW: lambda faults, name: faults.slow(name, SLOW_SECONDS),
    ActionKind.FLAKY: lambda faults, name: faults.flaky(name, FLAKY_RATE),
    ActionKind.DROP: lambda faults, channel: faults.drop(channel, NEXT_COUNT),
    ActionKind.DUPLICATE: lambda faults, channel: faults.duplicate(channel, NEXT_COUNT),
    ActionKind.DELAY: lambda faults, channel: faults.delay(channel, NEXT_COUNT, DELAY_SECONDS),
    ActionKind.BURST: lambda faults, publisher: faults.burst(publisher or None, BURST_RATE, BURST_SECONDS),
}
"""The Faults menu's kinds (a story's action names) as calls, with the numbers the menu's wording promises."""


def built_in_cards() -> list[tuple[str, str, str]]:
    """The built-in scenarios as the start page and the Scenarios menu list them: name, title, summary."""
    return [(info.name, info.title, info.summary) for info in BUILT_IN]


def has_scenario_fields(path: str) -> bool | None:
    """Whether the YAML or JSON document at ``path`` has ``x-eventdeck-*`` fields; None when it cannot be read."""
    from eventdeck.core.asyncapi.loader import read_file  # noqa: PLC0415 - see TYPE_CHECKING above
    from eventdeck.core.simulation.extension_schema import extension_fields  # noqa: PLC0415

    try:
        source = read_file(Path(path), path)
    except (AsyncApiError, OSError):
        return None
    return next(extension_fields(source.data), None) is not None


class ScenarioController(QObject):
    """Owns the running :class:`Scenario` (or none) on the embedded broker ``embedded``."""

    started = Signal(object)  # Scenario: it runs now
    stopped = Signal()  # none runs any more
    cleared = Signal()  # the broker was emptied (a switch or a reset): what the window showed of it goes too
    story_changed = Signal()  # the story moved to a step, ran its actions, or an action failed
    faults_changed = Signal(list)  # list[ActiveFault]
    broker_restarted = Signal(object)  # BrokerRestart: what came back and what was lost, before new traffic
    pace_changed = Signal(float, bool)  # speed, paused
    reset_done = Signal(float)  # the seconds a reset took, the window's part included
    availability_changed = Signal(bool)  # False while a connector is shown

    def __init__(
        self, bridge: Bridge, host: WindowHost, recent: RecentFiles, embedded: Backend, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._host = host
        self._embedded = embedded
        self.recent = recent
        self.seed: int | None = None
        """Makes payloads, timing and failures repeatable (tests)."""
        self.start_speed = 1.0
        """The pace a scenario starts at, and its Reset returns to."""
        self.scenario: Scenario | None = None
        self.source = ""
        """The running scenario's built-in name or file."""
        self.faults: list[ActiveFault] = []
        self.restart: BrokerRestart | None = None
        """What the running scenario's last broker restart kept and lost."""
        self.last_reset: float | None = None
        self._lock = asyncio.Lock()  # a switch, a reset and a stop one at a time
        self._shown_step = BEFORE
        self._resetting = False
        bridge.backend_changed.connect(self._on_backend)
        bridge.snapshot.connect(self._on_snapshot)

    @property
    def available(self) -> bool:
        """Whether the embedded broker is shown: scenarios are its own."""
        return self._bridge.backend is self._embedded

    # -- starting and stopping ---------------------------------------------------

    def start(self, name_or_path: str) -> asyncio.Task[Any] | None:
        """Start a built-in scenario by name, or the document at a path, in place of the running one.

        A document that cannot be run is shown whole (file, line, reason) and nothing changes; the
        task switching scenarios is returned (None when nothing was started)."""
        if not self.available:
            self._host.error(UNAVAILABLE)
            return None
        from eventdeck.core.simulation.workspace import WorkspaceError  # noqa: PLC0415 - see TYPE_CHECKING above

        try:
            workspace = load_scenario(name_or_path)
        except WorkspaceError as exc:
            self._host.problem("This scenario cannot run", str(exc))
            return None
        is_file = all(info.name != name_or_path for info in BUILT_IN)
        return self._bridge.spawn(self._switch(workspace, name_or_path, is_file), f"starting {workspace.title!r}")

    async def _switch(self, workspace: Workspace, source: str, is_file: bool) -> None:
        async with self._lock:
            await self._stop_running()
            broker = self._embedded.broker
            broker.reset()
            self._clear()  # before the new one publishes anything: the old one's last messages go with it
            from eventdeck.core.simulation.scenario import Scenario  # noqa: PLC0415 - see TYPE_CHECKING above

            scenario = Scenario(broker, workspace, seed=self.seed, speed=self.start_speed)
            try:
                scenario.start()
            except EventDeckError as exc:  # a name taken by a hand-made subscriber, say
                self._host.problem("This scenario cannot start", f"{workspace.source}: {exc}")
                self.stopped.emit()
                return
            self.scenario, self.source = scenario, source
            self._shown_step = BEFORE
            scenario.faults.on_change.append(self._on_faults)
            scenario.faults.on_restart.append(self._on_restart)
            scenario.simulation.on_speed.append(self._on_speed)
            if scenario.player is not None:
                scenario.player.on_change.append(self._on_story)
            if is_file:
                self.recent.add(source)
            self.started.emit(scenario)
            self._emit_pace()
            self._host.say(f"Scenario: {scenario.title}", 5000)

    async def stop(self) -> None:
        """Stop the running scenario, if any (the broker keeps what it holds)."""
        async with self._lock:
            if self.scenario is not None:
                await self._stop_running()
                self.stopped.emit()

    async def _stop_running(self) -> None:
        scenario, self.scenario, self.source = self.scenario, None, ""
        if scenario is None:
            return
        scenario.faults.on_change.remove(self._on_faults)
        scenario.faults.on_restart.remove(self._on_restart)
        self.restart = None
        scenario.simulation.on_speed.remove(self._on_speed)
        if scenario.player is not None:
            scenario.player.on_change.remove(self._on_story)
        await scenario.stop()
        self._on_faults()

    # -- reset -----------------------------------------------------------------------

    def reset(self) -> asyncio.Task[Any] | None:
        """Back to the scenario's start: an empty broker, counters zero, the stream cleared, the story as it began."""
        if self.scenario is None:
            self._host.say("No scenario runs: there is nothing to reset", 5000)
            return None
        return self._bridge.spawn(self._reset(), "resetting the scenario")

    async def _reset(self) -> None:
        async with self._lock:
            scenario = self.scenario
            if scenario is None:
                return
            began = time.perf_counter()
            # The story tells its player's listeners first, after the broker was emptied and before step 1 acts:
            # the window clears then, so step 1's messages stay in the stream (see _on_story).
            self._resetting = True
            await scenario.reset()
            if self._resetting:  # no story: nothing was published since the broker was emptied
                self._clear()
            seconds = time.perf_counter() - began
        self.last_reset = seconds
        self._emit_pace()
        self._host.say(f"Reset in {seconds * 1000:,.0f} ms", 10_000)
        self.reset_done.emit(seconds)

    def empty_broker(self) -> asyncio.Task[Any]:
        """Empty the embedded broker and its store (File > Broker data… > Clear): a running scenario begins
        again, as its Reset does; the window clears when it shows that broker."""
        if self.scenario is not None:
            return self._bridge.spawn(self._reset(), "clearing the broker")
        return self._bridge.spawn(self._empty(), "clearing the broker")

    async def _empty(self) -> None:
        async with self._lock:
            self._embedded.broker.reset()
            if self.available:
                self._clear()

    def _clear(self) -> None:
        self._resetting = False
        self.restart = None
        self._bridge.flush()  # what the emptied broker still had on its way goes now, then is cleared with the rest
        self.cleared.emit()

    # -- pace --------------------------------------------------------------------------

    def set_speed(self, factor: float) -> None:
        """The whole simulation at ``factor`` (0.1 to 5) times its pace; paused publishers stay paused."""
        if self.scenario is not None and self.available:
            try:
                self.scenario.set_speed(factor)
            except ValueError as exc:
                self._host.error(str(exc))
            self._emit_pace()

    def set_paused(self, paused: bool) -> None:
        """Stop (or let go on) the simulated publishers; consumers go on draining their queues."""
        if self.scenario is not None and self.available:
            if paused:
                self.scenario.pause()
            else:
                self.scenario.resume()
            self._emit_pace()

    def choose_speed(self, factor: float) -> None:
        """The toolbar's choice: 0 pauses, any other speed runs the publishers at it."""
        if factor == 0:
            self.set_paused(True)
        else:
            self.set_speed(factor)
            self.set_paused(False)

    def _on_speed(self, _factor: float) -> None:
        self._emit_pace()

    def _emit_pace(self) -> None:
        if self.scenario is not None:
            self.pace_changed.emit(self.scenario.speed, self.scenario.paused)

    # -- the story ------------------------------------------------------------------------

    def next(self) -> asyncio.Task[Any] | None:
        """The story's next step (its first, before the story began); nothing at the last step."""
        player = self.scenario.player if self.scenario is not None else None
        return None if player is None else self._bridge.spawn(player.next(), "the story's next step")

    def back(self) -> asyncio.Task[Any] | None:
        player = self.scenario.player if self.scenario is not None else None
        return None if player is None else self._bridge.spawn(player.back(), "the story's previous step")

    def _on_story(self) -> None:
        player = self.scenario.player if self.scenario is not None else None
        if player is None:
            return
        if self._resetting:
            self._clear()
        if player.index != self._shown_step:
            self._shown_step = player.index
            player.errors.clear()  # what the step shown before got wrong goes with it
        self.story_changed.emit()
        self._emit_pace()  # a step may set the speed or quiet the publishers

    # -- faults -------------------------------------------------------------------------------

    def pools(self) -> dict[str, list[str]]:
        """The running scenario's consumer pools: each shared subscription's name and its consumers' names."""
        if self.scenario is None:
            return {}
        return {
            pool.name: [pool.consumer_name(number) for number in range(1, pool.consumers + 1)]
            for pool in self.scenario.simulation.subscribers
            if pool.consumers > 1
        }

    def fault_targets(self) -> tuple[list[str], list[str], list[str]]:
        """What faults can hit in the running scenario: its subscribers and responders, channels and publishers."""
        if self.scenario is None:
            return [], [], []
        workspace = self.scenario.workspace
        consumers = [op.subscriber.name for op in workspace.subscribers if op.subscriber is not None]
        consumers += [op.responder.name for op in workspace.responders if op.responder is not None]
        publishers = list(dict.fromkeys(self.scenario.simulation.publisher_names))
        return list(dict.fromkeys(consumers)), workspace.addresses, publishers

    def consumer_patterns(self) -> list[tuple[str, str]]:
        """Each simulated subscriber and responder of the running scenario with what it subscribes to."""
        if self.scenario is None:
            return []
        workspace = self.scenario.workspace
        subscribers = [(op.subscriber.name, op.subscriber.pattern) for op in workspace.subscribers if op.subscriber]
        responders = [(op.responder.name, op.channel.pattern or "") for op in workspace.responders if op.responder]
        return subscribers + responders

    def request_fault(self, kind: str, target: str) -> None:
        """Inject the fault ``kind`` (a story's action name: ``crash``, ``drop``, ...) into ``target``."""
        scenario = self.scenario
        if not self.available:
            self._host.error(UNAVAILABLE)
            return
        if scenario is None:
            self._host.error(NO_SCENARIO)
            return
        what = " ".join(part for part in (kind, target) if part)
        try:
            action = ActionKind(kind)
            if action is ActionKind.RESTART_BROKER:
                self._bridge.spawn(scenario.faults.restart_broker(), "restarting the broker")
            elif action in _INJECT:
                _INJECT[action](scenario.faults, target)
            else:
                raise ValueError(f"{kind!r} is a story action, not a fault")
        except _FAILURES as exc:
            self._host.error(f"{what}: {exc}")

    def clear_fault(self, ident: int) -> None:
        if self.scenario is not None:
            self.scenario.faults.clear(ident)

    def clear_all_faults(self) -> None:
        if self.scenario is not None:
            self.scenario.faults.clear_all()

    def _on_faults(self) -> None:
        scenario = self.scenario
        active = scenario.faults.active if scenario is not None else []
        faults = [(fault.ident, fault.kind.value, fault.target, fault.description) for fault in active]
        if faults != self.faults:
            self.faults = faults
            self.faults_changed.emit(faults)

    def _on_restart(self, restart: BrokerRestart) -> None:
        self.restart = restart
        if self.available:
            self._bridge.flush()  # what the broker routed before it restarted shows before the restart does
            self.broker_restarted.emit(restart)

    def _on_snapshot(self, _snapshot: Snapshot) -> None:
        if self.faults:  # a crashed durable subscriber's "N waiting" moves on
            self._on_faults()

    def _on_backend(self, _backend: Backend) -> None:
        self.availability_changed.emit(self.available)
