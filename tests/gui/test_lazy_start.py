"""What the first frame does not need is not loaded before it: the window paints first. What waits (the
topology tab behind Rates, the presenter) is built when first shown, as it would have been from the start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from eventdeck.core import Message
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.main_window import MainWindow
from tests.benchmarks.startup import FIRST_PAINT_WATCHER
from tests.gui.gui_support import WAIT, publish, shown_window, start_scenario

# Loaded when first used (File > Connections…, a connector, the gateways once the window shows, the
# scenario and its document once it has painted, a virtual subscriber, --version).
DEFERRED = (
    "keyring",
    "aiohttp",
    "eventdeck.core.connectors.credentials",
    "eventdeck.core.connectors.mqtt",
    "eventdeck.core.connectors.amqp",
    "eventdeck.core.connectors.nats",
    "eventdeck.core.connectors.redis",
    "eventdeck.core.connectors.kafka",
    "eventdeck.core.gateways.http.server",
    "eventdeck.core.gateways.mqtt.server",
    "yaml",
    "jsonschema",
    "jsonschema_rs",
    "urllib.request",
    "importlib.metadata",
    "eventdeck.core.asyncapi.loader",
    "eventdeck.core.asyncapi.normalise",
    "eventdeck.core.asyncapi.validate",
    "eventdeck.core.simulation.workspace",
    "eventdeck.core.simulation.simulation",
    "eventdeck.core.simulation.scenario",
    "eventdeck.core.simulation.virtual",
    "eventdeck.gui.panels.topology_panel",  # its dock is a tab behind Rates: built when first shown
    "eventdeck.gui.presenter.view",  # View > Present, F5
    "eventdeck.gui.controllers.broker_data_dialog",  # File > Broker data…
    "eventdeck.gui.controllers.connections_dialog",  # File > Connections…
    "ctypes.util",  # only to name the xcb libraries an X11 display lacks
    "eventdeck.core.recording.format",  # File > Export / Replay recording…
    "eventdeck.core.recording.playback",
    "eventdeck.gui.panels.delivery_timeline",  # the inspector's parts, built for the first message shown
    "eventdeck.gui.widgets.headers_box",  # the composer's headers table, built when first opened
    "eventdeck.gui.scenarios.welcome_view",  # the start page: not while a scenario is on its way
    "eventdeck.core.asyncapi.export",  # what was observed, recorded from the first messages on
    "html",  # rich-text escapes for tooltips, legend labels and the replay dialog
)

# What is loaded when the window first paints, Qt being loaded by the app as when a user starts it.
FIRST_PAINT_PROBE = (
    FIRST_PAINT_WATCHER
    + """
deferred = sys.argv[1:]


def on_first_paint():
    print("LOADED", sorted(name for name in deferred if name in sys.modules), flush=True)
    names = list(sys.modules)
    after_qt = names[names.index("PySide6.QtCore") :]
    print("AFTER_QT", [name for name in after_qt if name.startswith(("eventdeck.core", "numpy"))], flush=True)


from eventdeck.gui.app import main
sys.exit(main([]))
"""
)


def first_paint_probe(tmp_path: Path) -> list[str]:
    """What the probe printed at the first paint of a first launch (the demo scenario on its way, as in
    tests/benchmarks/startup.py)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path))
    probe = subprocess.run(
        [sys.executable, "-c", FIRST_PAINT_PROBE, *DEFERRED],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    return probe.stdout.splitlines()


def test_first_paint_loads_no_connector_gateway_or_scenario_loader(tmp_path: Path) -> None:
    assert "LOADED []" in first_paint_probe(tmp_path)


def test_the_windows_qt_free_modules_are_imported_before_qt(tmp_path: Path) -> None:
    # PySide6 reads the source of every module imported after its QtCore (app.import_before_qt says why)
    assert "AFTER_QT []" in first_paint_probe(tmp_path)


def test_the_topology_tab_is_built_when_first_shown_with_the_traffic_seen_before(
    qtbot: QtBot, bridge: Bridge, settings: QSettings
) -> None:
    window = next(shown_window(qtbot, MainWindow(bridge, settings, ring_size=1_000)))
    assert window.built_topology is None
    publish(qtbot, bridge, "user/signedup", {"name": "Ada"})
    bridge.take_snapshot()
    window.docks["topology"].raise_()
    qtbot.waitUntil(lambda: window.built_topology is not None and window.built_topology.isVisible(), timeout=WAIT)
    # drawn at once from the last snapshot, with the publisher counted before the panel existed
    assert {"p:local", "c:user/signedup"} <= set(window.topology.node_items())
    window.topology.channel_selected.emit("user/signedup")  # wired to the other panels as it was from the start
    assert window.channels.selected_pattern() == "user/signedup"
    window.close()


def test_a_layout_saved_with_the_topology_in_front_opens_with_it_built(
    qtbot: QtBot, bridge: Bridge, settings: QSettings
) -> None:
    first = MainWindow(bridge, settings, ring_size=1_000)
    qtbot.addWidget(first)
    first.show()
    first.docks["topology"].raise_()
    first.close()  # saves the layout
    again = MainWindow(bridge, settings, ring_size=1_000)
    qtbot.addWidget(again)
    again.show()
    assert again.built_topology is not None  # built while the window showed, before its first paint
    assert again.topology.isVisible()
    again.close()


def test_the_presenter_built_on_first_present_shows_the_running_story(
    qtbot: QtBot, scenario_window: MainWindow
) -> None:
    window = scenario_window
    assert window.built_presenter is None
    scenario = start_scenario(qtbot, window, "household")
    assert scenario.player is not None
    window.present()
    presenter = window.presenter
    assert presenter.isVisible()
    assert presenter.caption.story is scenario.player.story
    assert presenter.caption.isVisibleTo(presenter)
    assert presenter.marks.running
    window.leave_presentation()
    assert not presenter.isVisible()


def test_hidden_parts_of_the_shown_panels_are_built_when_first_needed(
    qtbot: QtBot, bridge: Bridge, settings: QSettings
) -> None:
    window = next(shown_window(qtbot, MainWindow(bridge, settings, ring_size=1_000)))
    inspector, composer, subscribers = window.inspector, window.composer, window.subscribers
    # at first paint: the inspector's empty state says what to do; no fields, tabs or deliveries behind it
    assert inspector.empty.isVisible()
    assert inspector.empty.text() == "Select a message in the stream to inspect it"
    assert inspector.findChild(QWidget, "inspectorTabs") is None
    assert composer.findChild(QWidget, "composerHeaders") is None
    assert subscribers.findChild(QWidget, "virtualForm") is None
    assert window.rates.built_plot is None  # made with the first channel's rate; until then it says so
    assert window.rates.empty.isVisible()

    assert not inspector.schema_banner.isVisible()  # reached by its name, a part is built at once (not shown)
    assert inspector.findChild(QWidget, "inspectorSchemaIssues") is inspector.schema_banner
    assert inspector.empty.isVisible()
    inspector.show_message(Message.build("user/signedup", b"{}", headers={"trace": "abc"}))
    assert inspector.findChild(QWidget, "inspectorTabs").isVisible()  # type: ignore[union-attr]
    assert inspector.tabs.tabText(3) == "Headers (1)"
    assert inspector.deliveries.isVisible()
    inspector.show_message(None)
    assert inspector.empty.isVisible()

    composer.headers_toggle.click()  # opening the headers builds the table, under the toggle
    assert composer.headers_table.isVisible()
    assert composer.findChild(QWidget, "composerHeaders") is composer.headers_table
    composer.set_headers({"a": "1"})
    assert composer.headers() == {"a": "1"}

    subscribers.add_button.click()  # the add form opens above the table
    assert subscribers.findChild(QWidget, "virtualForm") is subscribers.form
    assert subscribers.form.isVisible()
    window.close()
