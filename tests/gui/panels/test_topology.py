"""The topology: publishers -> channels -> subscribers, from real traffic through the bridge."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QDockWidget, QMenu
from pytestqt.qtbot import QtBot

from eventdeck.core import Broker, Kind, Message, State
from eventdeck.core.connectors.backend import Capabilities, EmbeddedBackend
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.models.message_path import ACKED_COLOUR
from eventdeck.gui.models.topology import CHANNELS, PUBLISHERS, SUBSCRIBERS, PublisherLedger, build_graph, edge_rates
from eventdeck.gui.panels.topology_panel import EMPTY_TEXT, TopologyPanel
from eventdeck.gui.widgets.icons import KIND_COLOURS
from eventdeck.gui.widgets.theme import DEAD_LETTER_COLOUR
from tests.gui.gui_support import ShowPanel, shown_window

WAIT = 3000


def publish(qtbot: QtBot, bridge: Bridge, channel: str, publisher: str, kind: Kind = Kind.EVENT) -> None:
    task = bridge.spawn(bridge.broker.publish(channel, {"n": 1}, kind=kind, publisher=publisher), "publish")
    qtbot.waitUntil(task.done, timeout=WAIT)
    bridge.flush()


@pytest.fixture
def panel(show_panel: ShowPanel) -> TopologyPanel:
    return show_panel(TopologyPanel, (800, 500))


def test_the_ledger_counts_per_publisher_channel_and_kind_and_stays_bounded() -> None:
    ledger = PublisherLedger(max_edges=2)
    build = Message.build
    ledger.add([build("a", publisher="p"), build("a", publisher="p"), build("b", publisher="q", kind=Kind.COMMAND)])
    ledger.add([build("c", publisher="r")])  # a third edge: counted, not tracked
    assert dict(ledger.counts) == {("p", "a", Kind.EVENT): 2, ("q", "b", Kind.COMMAND): 1}
    assert ledger.untracked == 1
    assert edge_rates({("p", "a", Kind.EVENT): 12}, {("p", "a", Kind.EVENT): 2}, 0.5) == {("p", "a", Kind.EVENT): 20.0}


def test_two_views_of_one_snapshot_read_the_same_rates_from_one_reading() -> None:
    ledger = PublisherLedger()
    edge = ("p", "a", Kind.EVENT)
    ledger.rates_at(1.0)
    ledger.add([Message.build("a", publisher="p")] * 10)
    assert ledger.rates_at(2.0) == {edge: 10.0}
    assert ledger.rates_at(2.0) == {edge: 10.0}  # the presenter's call after the topology's: no second reading
    ledger.add([Message.build("a", publisher="p")] * 10)
    assert ledger.rates_at(3.0) == {edge: 10.0}  # over the two seconds since the first reading


def test_graph_links_publishers_channels_and_matching_subscriptions(qtbot: QtBot, bridge: Bridge) -> None:
    broker: Broker = bridge.broker
    broker.subscribe("user/#", name="analytics")
    broker.subscribe("fridge/level", name="shopping-list").pause()
    broker.subscribe("nothing/+", name="idle")
    ledger = PublisherLedger()
    bridge.messages.connect(ledger.add)
    publish(qtbot, bridge, "user/signedup", "signup-service")
    publish(qtbot, bridge, "user/followed", "social-service")
    publish(qtbot, bridge, "fridge/level", "fridge-sensor")
    graph = build_graph(ledger.counts, {}, bridge.take_snapshot())
    assert [n.label for n in graph.column(CHANNELS)] == ["fridge/level", "user/followed", "user/signedup"]
    assert [n.label for n in graph.column(PUBLISHERS)] == ["fridge-sensor", "social-service", "signup-service"]
    assert [n.label for n in graph.column(SUBSCRIBERS)] == ["shopping-list", "analytics", "idle"]  # idle: no channel
    links = {(e.source, e.target, e.active) for e in graph.edges}
    assert ("p:signup-service", "c:user/signedup", True) in links
    assert ("c:user/signedup", "s:analytics", True) in links
    assert ("c:user/followed", "s:analytics", True) in links
    assert ("c:fridge/level", "s:shopping-list", False) in links  # paused: its queue grows
    assert not any(e.target == "s:idle" for e in graph.edges)
    paused = next(n for n in graph.nodes if n.key == "s:shopping-list")
    assert paused.dimmed
    assert paused.detail == "paused, 1 pending"  # the fridge reading waits in its queue


def test_each_column_draws_only_its_busiest(qtbot: QtBot, bridge: Bridge) -> None:
    ledger = PublisherLedger()
    bridge.messages.connect(ledger.add)
    for index in range(5):
        for _ in range(index + 1):
            publish(qtbot, bridge, f"ch/{index}", f"p{index}")
    for index in range(3):
        bridge.broker.subscribe("ch/#", name=f"s{index}")
    publish(qtbot, bridge, "ch/4", "p4")
    bridge.broker.subscription("s0").pause()
    publish(qtbot, bridge, "ch/4", "p4")  # s0 holds one more (pending) than the others delivered
    graph = build_graph(ledger.counts, {}, bridge.take_snapshot(), limit=2)
    assert [n.label for n in graph.column(CHANNELS)] == ["ch/3", "ch/4"]
    assert [n.label for n in graph.column(PUBLISHERS)] == ["p3", "p4"]
    assert len(graph.column(SUBSCRIBERS)) == 2
    assert graph.hidden == (3, 3, 1)
    assert {(e.source, e.target) for e in graph.edges if e.kind is not None} == {("p:p3", "c:ch/3"), ("p:p4", "c:ch/4")}


def test_panel_draws_boxes_and_a_click_on_a_channel_selects_it(
    qtbot: QtBot, panel: TopologyPanel, bridge: Bridge
) -> None:
    assert [item.text() for item in panel.scene.items() if hasattr(item, "text")] == [EMPTY_TEXT]
    bridge.broker.subscribe("orders/#", name="grocery-service")
    publish(qtbot, bridge, "orders/place", "shop<b>app</b>", Kind.COMMAND)
    bridge.take_snapshot()
    items = panel.node_items()
    assert set(items) == {"p:shop<b>app</b>", "c:orders/place", "s:grocery-service"}
    assert "&lt;b&gt;" in items["p:shop<b>app</b>"].toolTip()  # names are never rendered as HTML
    box = items["c:orders/place"]
    centre = panel.view.mapFromScene(box.sceneBoundingRect().center())
    with qtbot.waitSignal(panel.channel_selected, timeout=WAIT) as selected:
        qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert selected.args == ["orders/place"]
    with qtbot.assertNotEmitted(panel.channel_selected, wait=50):
        qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(2, 2))  # empty space


def test_a_hidden_panel_keeps_counting_but_does_not_draw(qtbot: QtBot, panel: TopologyPanel, bridge: Bridge) -> None:
    panel.hide()
    publish(qtbot, bridge, "a/b", "p")
    bridge.take_snapshot()
    assert not panel.node_items()
    panel.show()
    assert set(panel.node_items()) == {"p:p", "c:a/b"}


@pytest.fixture
def window(qtbot: QtBot, bridge: Bridge, settings: QSettings) -> Iterator[MainWindow]:
    yield from shown_window(qtbot, MainWindow(bridge, settings, ring_size=1_000))


def test_the_window_has_a_topology_tab_beside_rates_that_filters_the_stream(
    qtbot: QtBot, window: MainWindow, bridge: Bridge
) -> None:
    dock = window.findChild(QDockWidget, "topologyDock")
    assert dock is not None
    assert window.tabifiedDockWidgets(window.docks["rates"]) == [dock]
    publish(qtbot, bridge, "user/signedup", "signup-service")
    publish(qtbot, bridge, "fridge/level", "fridge-sensor")
    bridge.take_snapshot()
    dock.raise_()
    qtbot.waitUntil(window.topology.isVisible, timeout=WAIT)
    window.topology.channel_selected.emit("fridge/level")
    qtbot.waitUntil(lambda: window.stream_model.rowCount() == 1, timeout=WAIT)
    assert window.stream_model.message_at(0).channel == "fridge/level"


def test_beneath_the_presenter_the_topology_still_counts_each_message_once_and_shows_it_after(
    qtbot: QtBot, window: MainWindow, bridge: Bridge
) -> None:
    window.present()
    assert not window.topology.isVisible()
    for _ in range(2):
        publish(qtbot, bridge, "user/signedup", "signup-service")
    assert window.presenter.ledger is window.topology.ledger  # one ledger, fed once a batch for both
    assert dict(window.topology.ledger.counts) == {("signup-service", "user/signedup", Kind.EVENT): 2}
    window.leave_presentation()
    dock = window.findChild(QDockWidget, "topologyDock")
    assert dock is not None
    dock.raise_()
    qtbot.waitUntil(window.topology.isVisible, timeout=WAIT)
    bridge.take_snapshot()
    assert {"p:signup-service", "c:user/signedup"} <= set(window.topology.node_items())
    assert window.topology.graph is not None
    publisher = next(node for node in window.topology.graph.nodes if node.key == "p:signup-service")
    assert "events to user/signedup: 2" in publisher.tooltip


def test_dead_letters_come_from_the_broker_not_the_original_publisher(qtbot: QtBot, bridge: Bridge) -> None:
    ledger = PublisherLedger()
    bridge.messages.connect(ledger.add)
    failing = bridge.broker.subscribe("fridge/level", name="shopping-list", ack="manual")
    publish(qtbot, bridge, "fridge/level", "fridge-sensor")
    (delivery,) = failing.take(1)
    task = bridge.spawn(delivery.nack(requeue=False, reason="out of milk"), "nack")
    qtbot.waitUntil(task.done, timeout=WAIT)
    bridge.flush()
    graph = build_graph(ledger.counts, {}, bridge.take_snapshot())
    senders = {(e.source, e.target) for e in graph.edges if e.kind is not None}
    assert senders == {("p:fridge-sensor", "c:fridge/level"), ("p:broker: dead letters", "c:$dead/fridge/level")}


def click_node(qtbot: QtBot, panel: TopologyPanel, key: str) -> None:
    box = panel.node_items()[key]
    qtbot.mouseClick(
        panel.view.viewport(), Qt.MouseButton.LeftButton, pos=panel.view.mapFromScene(box.sceneBoundingRect().center())
    )


def trigger(menu: QMenu, name: str) -> QAction:
    action = menu.findChild(QAction, name)
    assert action is not None, name
    if action.isEnabled():
        action.trigger()
    return action


def test_the_diagram_is_a_place_to_act(qtbot: QtBot, window: MainWindow, bridge: Bridge) -> None:
    bridge.broker.subscribe("fridge/level", name="shopping-list")
    publish(qtbot, bridge, "fridge/level", "fridge-sensor")
    publish(qtbot, bridge, "user/signedup", "signup-service")
    window.docks["topology"].raise_()
    qtbot.waitUntil(window.topology.isVisible, timeout=WAIT)
    bridge.take_snapshot()
    topology = window.topology

    window.channels.select_channel("fridge/level")  # a channel filter set before...
    qtbot.waitUntil(lambda: window.stream_model.rowCount() == 1, timeout=WAIT)
    publish(qtbot, bridge, "user/signedup", "signup-service-2")  # ...and a name that contains another
    click_node(qtbot, topology, "p:signup-service")  # a publisher: exactly its messages, on every channel
    qtbot.waitUntil(lambda: window.stream_model.rowCount() == 1, timeout=WAIT)
    assert window.stream_model.message_at(0).publisher == "signup-service"
    chip = window.stream.publisher_chip
    assert chip.isVisible()
    assert chip.text() == "Publisher: signup-service"
    qtbot.mouseClick(chip, Qt.MouseButton.LeftButton)  # the chip takes the filter away
    qtbot.waitUntil(lambda: window.stream_model.rowCount() == 3, timeout=WAIT)
    assert not chip.isVisible()

    click_node(qtbot, topology, "s:shopping-list")  # a subscription: selected in Subscribers
    assert window.subscribers.selected_name() == "shopping-list"

    menu = topology.menu_for("s:shopping-list")
    assert not menu.findChild(QAction, "topologyResume").isEnabled()  # type: ignore[union-attr]
    trigger(menu, "topologyPause")
    assert bridge.broker.subscription("shopping-list").state is State.PAUSED
    bridge.take_snapshot()
    menu = topology.menu_for("s:shopping-list")
    assert not menu.findChild(QAction, "topologyPause").isEnabled()  # type: ignore[union-attr]
    trigger(menu, "topologyResume")
    assert bridge.broker.subscription("shopping-list").state is State.ACTIVE

    trigger(topology.menu_for("c:fridge/level"), "topologyPublish")
    assert window.composer.channel() == "fridge/level"
    trigger(topology.menu_for("c:fridge/level"), "topologySubscribe")
    assert window.subscribers.form.isVisible()
    assert window.subscribers.form.pattern.text() == "fridge/level"


def test_a_real_brokers_subscriptions_cannot_be_paused_from_here(
    qtbot: QtBot, panel: TopologyPanel, bridge: Bridge
) -> None:
    class Remote(EmbeddedBackend):
        capabilities = Capabilities(virtual_subscribers=False)

    remote = Remote(Broker(), name="a broker you run")
    remote.broker.subscribe("a/b", name="their-client")
    bridge.set_backend(remote)
    bridge.take_snapshot()
    menu = panel.menu_for("s:their-client")
    for name in ("topologyPause", "topologyResume"):
        assert not menu.findChild(QAction, name).isEnabled()  # type: ignore[union-attr]


def test_the_dead_letter_box_shows_the_dead_letters_and_menus_keep_ampersands(
    qtbot: QtBot, window: MainWindow, bridge: Bridge
) -> None:
    failing = bridge.broker.subscribe("a&b/level", name="picky", ack="manual")
    publish(qtbot, bridge, "a&b/level", "sensor")
    (delivery,) = failing.take(1)
    task = bridge.spawn(delivery.nack(requeue=False), "nack")
    qtbot.waitUntil(task.done, timeout=WAIT)
    bridge.flush()
    window.docks["topology"].raise_()
    qtbot.waitUntil(window.topology.isVisible, timeout=WAIT)
    bridge.take_snapshot()
    click_node(qtbot, window.topology, "p:broker: dead letters")
    qtbot.waitUntil(lambda: window.stream.pattern_edit.text() == "$dead/#", timeout=WAIT)
    assert [m.channel for m in map(window.stream_model.message_at, range(window.stream_model.rowCount()))] == [
        "$dead/a&b/level"
    ]
    publish_action = window.topology.menu_for("c:a&b/level").findChild(QAction, "topologyPublish")
    assert publish_action is not None
    assert publish_action.text() == "Publish to a&&b/level…"  # shown as "a&b", not "ab" with a shortcut


def test_the_diagram_fills_a_roomy_panel_and_the_zoom_keys_scale_it(
    qtbot: QtBot, panel: TopologyPanel, bridge: Bridge
) -> None:
    publish(qtbot, bridge, "a/b", "p")
    bridge.take_snapshot()
    fitted = panel.view.transform().m11()
    assert fitted > 1.0  # a small diagram in an 800x500 panel is enlarged, not left at 100 % in a corner
    qtbot.keyClick(panel.view, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert panel.view.transform().m11() > fitted
    qtbot.keyClick(panel.view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(panel.view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert panel.view.transform().m11() < fitted
    qtbot.keyClick(panel.view, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert panel.view.transform().m11() == fitted


def test_dead_letters_look_dead_in_the_diagram(qtbot: QtBot, panel: TopologyPanel, bridge: Bridge) -> None:
    failing = bridge.broker.subscribe("fridge/level", name="shopping-list", ack="manual")
    publish(qtbot, bridge, "fridge/level", "fridge-sensor")
    (delivery,) = failing.take(1)
    qtbot.waitUntil(bridge.spawn(delivery.nack(requeue=False), "nack").done, timeout=WAIT)
    bridge.flush()
    bridge.take_snapshot()
    items = panel.node_items()
    badges = {key: item.data(0) for key, item in items.items()}
    assert badges == {
        "p:fridge-sensor": None,
        "p:broker: dead letters": "dead letter",
        "c:fridge/level": None,
        "c:$dead/fridge/level": "dead letter",
        "s:shopping-list": None,
    }
    assert items["c:$dead/fridge/level"].pen().color() == QColor(DEAD_LETTER_COLOUR)
    assert items["c:$dead/fridge/level"].opacity() == 1.0  # a $-channel, but not dimmed: it matters


def test_following_a_message_highlights_exactly_the_subscriptions_that_got_it(
    qtbot: QtBot, panel: TopologyPanel, bridge: Bridge
) -> None:
    analytics = bridge.broker.subscribe("user/#", name="analytics")
    mailer = bridge.broker.subscribe("user/signedup", name="mailer", ack="manual")
    bridge.broker.subscribe("fridge/#", name="shopping-list")
    publish(qtbot, bridge, "fridge/level", "fridge-sensor")
    task = bridge.spawn(bridge.broker.publish("user/signedup", {"n": 1}, publisher="signup-service"), "publish")
    qtbot.waitUntil(task.done, timeout=WAIT)
    bridge.flush()
    message = task.result().message
    analytics.take()
    (delivery,) = mailer.take()
    qtbot.waitUntil(bridge.spawn(delivery.nack(requeue=False, reason="bounced"), "nack").done, timeout=WAIT)
    bridge.flush()  # the dead letter itself: the line on to $dead/user/signedup is drawn from it
    bridge.take_snapshot()

    bridge.follow(message)
    path = panel.path
    assert path is not None
    assert {key for key in path.marks if key.startswith("s:")} == {"s:analytics", "s:mailer"}
    assert panel.follow_hint.isVisible()
    assert panel.follow_hint.text().startswith(f"Following message #{message.id} on user/signedup")
    items = panel.node_items()
    details = {key: item.childItems()[1].text() for key, item in items.items()}  # type: ignore[attr-defined]
    assert details["s:analytics"] == "✓ acked"
    assert details["s:mailer"] == "☠ dead-lettered"
    assert items["s:shopping-list"].opacity() < 0.5  # not on the path: faded
    assert items["c:fridge/level"].opacity() < 0.5
    assert items["s:analytics"].opacity() == 1.0
    assert items["c:user/signedup"].opacity() == 1.0
    lines = [item for item in panel.scene.items() if item.zValue() == -0.5]  # the path's lines, over the rest
    colours = sorted(line.pen().color().name() for line in lines)  # type: ignore[attr-defined]
    dead = QColor(DEAD_LETTER_COLOUR).name()  # the mailer's line, and the broker's on to $dead/user/signedup
    assert colours == sorted([KIND_COLOURS[Kind.EVENT], ACKED_COLOUR, dead, dead])

    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Escape)
    assert bridge.followed_message is None
    assert panel.path is None
    assert not panel.follow_hint.isVisible()
    assert all(item.opacity() == 1.0 for item in panel.node_items().values())
