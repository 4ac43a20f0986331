"""The channels dock: a live tree by '/' levels, selection as a stream filter, a context menu."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from eventdeck.core import Broker, ChannelInfo
from eventdeck.gui.bridge import RATE_WINDOW, Bridge
from eventdeck.gui.models.channel_tree import PATTERN_ROLE, ChannelTreeModel
from eventdeck.gui.panels.channels_panel import ChannelsPanel
from tests.gui.gui_support import ShowPanel


@pytest.fixture
def panel(show_panel: ShowPanel) -> ChannelsPanel:
    return show_panel(ChannelsPanel, (420, 360))


def publish(qtbot: QtBot, bridge: Bridge, channels: Iterable[str], times: int = 1, *, retain: bool = False) -> None:
    """Publish through the bridge as the app does, wait for it, then take a snapshot at once."""

    async def send() -> None:
        for channel in channels:
            for number in range(times):
                await bridge.broker.publish(channel, {"n": number}, retain=retain)

    task = bridge.spawn(send(), "publish")
    qtbot.waitUntil(task.done, timeout=3000)
    assert task.exception() is None
    bridge.take_snapshot()


def cell(model: ChannelTreeModel, path: str, column: int, role: int = Qt.ItemDataRole.DisplayRole) -> object:
    index = model.index_for(path)
    assert index.isValid(), path
    return model.data(index.siblingAtColumn(column), role)


def names(model: ChannelTreeModel, parent: QModelIndex | None = None) -> list[str]:
    parent = parent or QModelIndex()
    return [str(model.data(model.index(row, 0, parent))) for row in range(model.rowCount(parent))]


def test_channels_appear_as_a_tree(qtbot: QtBot, bridge: Bridge, panel: ChannelsPanel) -> None:
    view = panel.findChild(type(panel.view), "channelsView")
    assert view is panel.view
    publish(qtbot, bridge, ["user/signedup", "user/followed", "fridge/level", "$reply/composer"])
    model = panel.model
    assert names(model) == ["fridge", "user", "$reply"]  # system channels go last
    assert names(model, model.index_for("user")) == ["followed", "signedup"]
    assert names(model, model.index_for("$reply")) == ["composer"]
    assert cell(model, "$reply", 0, Qt.ItemDataRole.ForegroundRole) is not None  # greyed
    assert cell(model, "user", 0, Qt.ItemDataRole.ForegroundRole) is None
    assert view.isExpanded(model.index_for("user"))  # new top-level nodes open
    assert not view.isExpanded(model.index_for("$reply"))  # system ones stay folded


def test_counters_subscribers_and_parent_sums(qtbot: QtBot, bridge: Bridge, panel: ChannelsPanel) -> None:
    model = panel.model
    publish(qtbot, bridge, ["user/signedup"], times=3)
    publish(qtbot, bridge, ["user/followed"], times=1200)
    assert cell(model, "user/signedup", ChannelTreeModel.MESSAGES) == "3"
    assert cell(model, "user/followed", ChannelTreeModel.MESSAGES) == "1,200"
    assert cell(model, "user", ChannelTreeModel.MESSAGES) == "1,203"  # the subtree's sum
    assert cell(model, "user/signedup", ChannelTreeModel.SUBSCRIBERS) == "0"
    assert cell(model, "user", ChannelTreeModel.SUBSCRIBERS) == ""  # a prefix, not a channel
    assert cell(model, "user", ChannelTreeModel.MESSAGES, Qt.ItemDataRole.TextAlignmentRole) == (
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    )

    bridge.broker.subscribe("user/#", name="mailer")
    bridge.broker.subscribe("user/signedup", name="welcome")
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda first, last: changed.append((first.row(), last.row())))
    bridge.take_snapshot()
    assert cell(model, "user/signedup", ChannelTreeModel.SUBSCRIBERS) == "2"
    assert cell(model, "user/followed", ChannelTreeModel.SUBSCRIBERS) == "1"
    assert changed  # announced in place, no reset

    for _ in range(RATE_WINDOW):  # rates average over the last RATE_WINDOW snapshots
        bridge.take_snapshot()
    rate = float(str(cell(model, "user/followed", ChannelTreeModel.RATE)).replace(",", ""))
    assert rate == 0.0  # nothing published within the rate window
    publish(qtbot, bridge, ["user/followed"], times=10)
    assert float(str(cell(model, "user/followed", ChannelTreeModel.RATE)).replace(",", "")) > 0
    assert cell(model, "user", ChannelTreeModel.RATE) == cell(model, "user/followed", ChannelTreeModel.RATE)
    assert cell(model, "user", ChannelTreeModel.MESSAGES) == "1,213"


def test_counters_follow_the_bridge_timer(qtbot: QtBot, bridge: Bridge, panel: ChannelsPanel) -> None:
    bridge.spawn(bridge.broker.publish("fridge/level", {"percent": 23}), "publish")
    qtbot.waitUntil(lambda: panel.model.channel_node("fridge/level") is not None, timeout=3000)
    bridge.spawn(bridge.broker.publish("fridge/level", {"percent": 22}), "publish")
    qtbot.waitUntil(lambda: cell(panel.model, "fridge/level", 1) == "2", timeout=3000)


def test_retained_marker_and_clear_retained(qtbot: QtBot, bridge: Bridge, panel: ChannelsPanel) -> None:
    broker: Broker = bridge.broker
    publish(qtbot, bridge, ["fridge/level"], retain=True)
    publish(qtbot, bridge, ["user/signedup"])
    model = panel.model
    assert cell(model, "fridge/level", 0, Qt.ItemDataRole.DecorationRole) is not None
    assert cell(model, "user/signedup", 0, Qt.ItemDataRole.DecorationRole) is None

    plain = panel.context_menu_for(model.index_for("user/signedup"))
    clear = plain.findChild(type(plain.actions()[0]), "channelsClearRetained")
    assert clear is not None
    assert not clear.isEnabled()

    menu = panel.context_menu_for(model.index_for("fridge/level"))
    clear = menu.findChild(type(menu.actions()[0]), "channelsClearRetained")
    assert clear is not None
    assert clear.isEnabled()
    clear.trigger()
    assert broker.retained("fridge/level") is None
    assert cell(model, "fridge/level", 0, Qt.ItemDataRole.DecorationRole) is None  # at once
    bridge.take_snapshot()
    assert cell(model, "fridge/level", 0, Qt.ItemDataRole.DecorationRole) is None


def test_tooltip_shows_the_declared_description_as_escaped_text(
    qtbot: QtBot, bridge: Bridge, panel: ChannelsPanel
) -> None:
    bridge.broker.declare_channel("user/signedup", "A user signed up <name, email, age>")
    bridge.take_snapshot()
    tip = str(cell(panel.model, "user/signedup", 0, Qt.ItemDataRole.ToolTipRole))
    assert "A user signed up &lt;name, email, age&gt;" in tip


def test_selection_emits_the_exact_channel_or_a_subtree_pattern(
    qtbot: QtBot, bridge: Bridge, panel: ChannelsPanel
) -> None:
    publish(qtbot, bridge, ["user/signedup", "user/followed", "fridge/level"])
    model = panel.model
    with qtbot.waitSignal(panel.pattern_selected) as leaf:
        panel.view.setCurrentIndex(model.index_for("user/signedup"))
    assert leaf.args == ["user/signedup"]
    with qtbot.waitSignal(panel.pattern_selected) as node:
        panel.view.setCurrentIndex(model.index_for("user"))
    assert node.args == ["user/#"]
    assert model.data(model.index_for("user"), PATTERN_ROLE) == "user/#"

    show_all = panel.findChild(type(panel.show_all), "channelsShowAll")
    assert show_all is panel.show_all
    with qtbot.waitSignal(panel.pattern_selected) as cleared:
        qtbot.mouseClick(show_all, Qt.MouseButton.LeftButton)
    assert cleared.args == [""]
    assert not panel.view.selectionModel().hasSelection()


def test_clicking_a_row_selects_it(qtbot: QtBot, bridge: Bridge, panel: ChannelsPanel) -> None:
    publish(qtbot, bridge, ["fridge/level"])
    index = panel.model.index_for("fridge/level")
    qtbot.waitUntil(lambda: panel.view.visualRect(index).isValid(), timeout=3000)
    with qtbot.waitSignal(panel.pattern_selected) as blocker:
        qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=panel.view.visualRect(index).center())
    assert blocker.args == ["fridge/level"]


def test_a_selected_leaf_that_grows_children_selects_its_subtree(
    qtbot: QtBot, bridge: Bridge, panel: ChannelsPanel
) -> None:
    publish(qtbot, bridge, ["fridge"])
    panel.view.setCurrentIndex(panel.model.index_for("fridge"))
    with qtbot.waitSignal(panel.pattern_selected) as blocker:
        publish(qtbot, bridge, ["fridge/level"])
    assert blocker.args == ["fridge/#"]
    assert panel.selected_pattern() == "fridge/#"


def test_context_menu_actions_emit_requests(qtbot: QtBot, bridge: Bridge, panel: ChannelsPanel) -> None:
    publish(qtbot, bridge, ["user/signedup", "user/followed"])
    model = panel.model

    leaf_menu = panel.context_menu_for(model.index_for("user/signedup"))
    texts = [action.text() for action in leaf_menu.actions() if not action.isSeparator()]
    assert texts[0] == "Publish to user/signedup…"
    assert texts[1].startswith("Add virtual subscriber")
    actions = {action.objectName(): action for action in leaf_menu.actions()}
    with qtbot.waitSignal(panel.publish_requested) as published:
        actions["channelsPublish"].trigger()
    assert published.args == ["user/signedup"]
    with qtbot.waitSignal(panel.subscribe_requested) as subscribed:
        actions["channelsSubscribe"].trigger()
    assert subscribed.args == ["user/signedup"]

    node_menu = panel.context_menu_for(model.index_for("user"))
    actions = {action.objectName(): action for action in node_menu.actions()}
    with qtbot.waitSignal(panel.subscribe_requested) as subscribed:
        actions["channelsSubscribe"].trigger()
    assert subscribed.args == ["user/#"]
    with qtbot.waitSignal(panel.publish_requested) as published:
        actions["channelsPublish"].trigger()
    assert published.args == ["user"]
    assert not actions["channelsClearRetained"].isEnabled()


def test_model_passes_the_model_tester_through_updates(
    qtbot: QtBot, bridge: Bridge, panel: ChannelsPanel, qtmodeltester: ModelTester
) -> None:
    publish(qtbot, bridge, ["user/signedup", "$dead/user/signedup"])
    qtmodeltester.check(panel.model)
    publish(qtbot, bridge, ["user/followed", "a/b/c/d", "a/b/e", "zeta", "Alpha", "$reply/x"], times=2)
    publish(qtbot, bridge, ["user"], retain=True)
    qtmodeltester.check(panel.model)
    assert names(panel.model) == ["a", "Alpha", "user", "zeta", "$dead", "$reply"]


def test_vanished_channels_are_removed(qtmodeltester: ModelTester) -> None:
    def info(name: str, messages: int) -> ChannelInfo:
        return ChannelInfo(name, messages, 0, None, False, 0, False, "")

    model = ChannelTreeModel()
    qtmodeltester.check(model, force_py=True)
    model.update([info("a/b", 1), info("a/c", 2), info("d", 3)], {})
    model.update([info("a/c", 5)], {"a/c": 1.25})
    assert names(model) == ["a"]
    assert names(model, model.index_for("a")) == ["c"]
    assert model.data(model.index_for("a").siblingAtColumn(2)) == "1.2"
    assert model.data(model.index_for("a").siblingAtColumn(1)) == "5"


def test_a_broker_that_does_not_say_who_subscribes_shows_a_dash_not_zero() -> None:
    model = ChannelTreeModel()
    model.update([ChannelInfo("fridge/level", 3, 0, None, False, 0, False, "")], {}, subscribers_known=False)
    cell = model.index_for("fridge/level").siblingAtColumn(ChannelTreeModel.SUBSCRIBERS)
    assert model.data(cell) == "—"


def test_expansion_and_selection_survive_updates(qtbot: QtBot, bridge: Bridge, panel: ChannelsPanel) -> None:
    publish(qtbot, bridge, ["sensors/kitchen/temp", "sensors/garage/door", "user/signedup"])
    model = panel.model
    kitchen = model.index_for("sensors/kitchen")
    panel.view.expand(kitchen)
    panel.view.collapse(model.index_for("user"))
    panel.view.setCurrentIndex(model.index_for("sensors/kitchen/temp"))
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    for _ in range(3):
        publish(qtbot, bridge, ["sensors/kitchen/temp", "sensors/attic/fan", "aaa/first", "user/followed"], times=5)
    assert not resets
    assert panel.view.isExpanded(model.index_for("sensors/kitchen"))
    assert not panel.view.isExpanded(model.index_for("user"))
    assert panel.selected_pattern() == "sensors/kitchen/temp"
    assert panel.view.isExpanded(model.index_for("aaa"))  # a later top-level node opens too


def test_filter_hides_channels_without_the_text(qtbot: QtBot, bridge: Bridge, panel: ChannelsPanel) -> None:
    publish(qtbot, bridge, ["user/signedup", "user/followed", "fridge/level"])
    model = panel.model
    view = panel.view
    edit = panel.findChild(type(panel.filter_edit), "channelsFilter")
    assert edit is panel.filter_edit
    qtbot.keyClicks(edit, "follow")
    user = model.index_for("user")
    assert view.isRowHidden(model.index_for("fridge").row(), QModelIndex())
    assert not view.isRowHidden(user.row(), QModelIndex())
    assert view.isRowHidden(model.index_for("user/signedup").row(), user)
    assert not view.isRowHidden(model.index_for("user/followed").row(), user)
    publish(qtbot, bridge, ["garden/follower"])  # new rows obey the filter too
    assert not view.isRowHidden(model.index_for("garden").row(), QModelIndex())
    assert view.isRowHidden(model.index_for("fridge").row(), QModelIndex())
    edit.clear()
    assert not view.isRowHidden(model.index_for("fridge").row(), QModelIndex())
    assert not view.isRowHidden(model.index_for("user/signedup").row(), user)
