"""Start and stop the window on one qasync loop that drives both Qt and asyncio.

Quitting follows qasync's advice: the app does not quit when the last window
closes; the window's ``closed`` signal sets an asyncio event, the coroutine then
stops the scenario, the bridge and the broker, and returns, so the loop ends
with nothing pending.

The first launch and ``--demo`` run the household scenario, ``--scenario NAME|FILE`` that one;
otherwise the window opens on its start page. A scenario starts once the window has painted its first
frame (reading and checking its document takes a while), the status bar saying so meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import qasync
from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtGui import QGuiApplication, QWindow
from PySide6.QtWidgets import QApplication, QWidget

from eventdeck.core.connectors import ConnectorError
from eventdeck.core.connectors.address import parse_url
from eventdeck.core.gateways.controller import Gateways
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.controllers.broker_data import BrokerDataController, open_broker_data
from eventdeck.gui.controllers.gateways import GatewaysController, listen_address_from_settings
from eventdeck.gui.controllers.heap import HeapKeeper
from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.widgets.icons import icon

log = logging.getLogger("eventdeck")
DEMO_SCENARIO = "household"
PAINT_WAIT_S = 2.0  # a window that is never painted (minimised, say) still starts its scenario


def run_window(args: argparse.Namespace) -> int:
    if args.connect:
        try:  # a URL EventDeck cannot use is refused before any window opens
            parse_url(args.connect)
        except ConnectorError as exc:
            print(f"eventdeck: --connect {args.connect}: {exc}", file=sys.stderr)
            return 2
    QApplication.setApplicationName("EventDeck")
    QApplication.setOrganizationName("EventDeck")
    QGuiApplication.setDesktopFileName("eventdeck")  # groups the window with packaging/eventdeck.desktop
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(icon("app"))
    with asyncio.Runner(loop_factory=lambda: window_loop(app)) as runner:
        return runner.run(open_window(args))


def window_loop(app: QApplication) -> qasync.QEventLoop:
    """One loop for Qt and asyncio. Its worker threads (the broker's store, files read or written) come from a
    standard pool that starts them as needed: qasync's own starts ten QThreads at once, before the store opens."""
    loop = qasync.QEventLoop(app)
    loop.set_default_executor(ThreadPoolExecutor(thread_name_prefix="eventdeck-worker"))
    return loop


async def open_window(args: argparse.Namespace, settings: QSettings | None = None) -> int:
    """Run the window until it is closed (or the screenshot is taken); return the exit code."""
    settings = settings or QSettings()
    # No type=bool here: PySide6 mis-counts references of bools it returns from QSettings.
    first_launch = str(settings.value("app/launched_before", "false")).lower() != "true"
    demo = first_launch if args.demo is None else args.demo
    scenario = args.scenario or (DEMO_SCENARIO if demo else None)
    loop = asyncio.get_running_loop()
    data = await open_broker_data(args.data)
    async with data.broker as broker:
        bridge = Bridge(broker)
        gateways = GatewaysController(
            bridge,
            Gateways(
                broker,
                mqtt=listen_address_from_settings(settings, "MQTT", args.mqtt),
                http=listen_address_from_settings(settings, "HTTP", args.http),
            ),
            settings,
        )
        # A scenario on its way (started once the window has painted): no start page flashes by meanwhile.
        window = MainWindow(bridge, settings, args.ring_size, gateways=gateways, start_page=scenario is None)
        BrokerDataController(window, data)
        loop.set_exception_handler(lambda _loop, context: _report(window, context))
        previous_hook = sys.excepthook  # a Qt slot that raises lands here: log it and show it, carry on
        sys.excepthook = lambda kind, exc, tb: _report(window, {"message": "error in the window", "exception": exc})
        closed = asyncio.Event()
        window.closed.connect(closed.set)
        bridge.start()
        if scenario is not None:
            window.host.say(f"Starting the scenario {scenario}…", 10_000)
        window.show()
        if args.present:
            if args.screenshot is not None:
                window.resize(1920, 1080)  # the picture as a projector shows it
            window.present()
        await first_paint(window)
        collect_garbage_again()
        if scenario is not None:
            starting = window.scenarios.start(scenario)
            if starting is None:
                window.scenario_view.show_start_page()  # it cannot run (the reason is shown): what to do instead
            else:
                await asyncio.wait([starting])
        bridge.spawn(gateways.start(), "starting the gateways")
        if args.fetch_remote_refs:
            window.asyncapi_files.allow_remote_refs_for_session()
        if args.asyncapi is not None:  # in place of the scenario's own document
            window.asyncapi_files.open(str(args.asyncapi))
        if args.connect:
            # the window opens on the embedded broker and switches once connected
            window.connections.connect_url(args.connect, context=f"--connect {args.connect}: ")
        heap = HeapKeeper(bridge)
        loop.call_later(0.5, heap.start)  # after the first paint, not before it
        settings.setValue("app/launched_before", True)
        code = 0
        try:
            if args.screenshot is not None:
                code = await _screenshot(window, args.screenshot, args.screenshot_delay, closed)
                window.close()
            await closed.wait()
        finally:
            await window.connections.disconnect_backend()
            await window.scenarios.stop()
            bridge.stop()
            await gateways.gateways.stop()
            loop.set_exception_handler(None)
            sys.excepthook = previous_hook
    return code


def collect_garbage_again() -> None:
    """Turn the garbage collector back on if the start turned it off (``eventdeck.gui.app.main``), with what the
    start made frozen out of its way: it lives as long as the window, so no collection needs to walk it."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


async def first_paint(window: QWidget) -> None:
    """Return once ``window`` (shown) has painted its first frame (or after ``PAINT_WAIT_S``, if it never does)."""
    painted = asyncio.get_running_loop().create_future()
    surface = window.windowHandle()
    watcher = _ExposeWatcher(window, painted)
    if surface is not None:
        surface.installEventFilter(watcher)  # its own events only: not every event of every widget, as the app's
    try:
        await asyncio.wait_for(painted, PAINT_WAIT_S)
    except TimeoutError:
        log.debug("the window painted nothing in %g s; going on", PAINT_WAIT_S)
    finally:
        if surface is not None:
            surface.removeEventFilter(watcher)


class _ExposeWatcher(QObject):
    """Resolves ``painted`` on the loop turn after the window is first exposed: Qt paints the whole frame while it
    handles that event."""

    def __init__(self, window: QWidget, painted: asyncio.Future[None]) -> None:
        super().__init__(window)
        self._painted = painted

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Expose and isinstance(watched, QWindow) and watched.isExposed():
            asyncio.get_running_loop().call_soon(self._resolve)
        return False

    def _resolve(self) -> None:
        if not self._painted.done():  # not given up on (PAINT_WAIT_S), nor resolved by an earlier expose
            self._painted.set_result(None)


async def _screenshot(window: MainWindow, path: Any, delay: float, closed: asyncio.Event) -> int:
    try:
        await asyncio.wait_for(closed.wait(), timeout=delay)
    except TimeoutError:
        pass
    else:
        return 0  # closed by the user before the delay ran out
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path), "PNG"):
        print(f"eventdeck: could not write the screenshot to {path}", file=sys.stderr)
        return 1
    log.info("screenshot saved to %s", path)
    return 0


def _report(window: MainWindow, context: dict[str, Any]) -> None:
    """The loop's exception handler: log it and show it, never crash the app."""
    exc = context.get("exception")
    message = context.get("message", "unexpected error")
    log.error("%s", message, exc_info=exc)
    window.show_error(f"{message}: {exc}" if exc else str(message))
