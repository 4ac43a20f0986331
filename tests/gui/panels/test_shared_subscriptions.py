"""Shared subscriptions in the Subscribers panel: one row per queue, saying who shares it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from eventdeck.core import Broker
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.models.subscriptions_model import NAME
from eventdeck.gui.panels.subscribers_panel import SubscribersPanel
from tests.gui.gui_support import ShowPanel


@pytest.fixture
def panel(show_panel: ShowPanel) -> SubscribersPanel:
    return show_panel(SubscribersPanel, (640, 360))


def test_a_shared_queue_is_one_row_naming_its_members(panel: SubscribersPanel, bridge: Bridge, broker: Broker) -> None:
    broker.subscribe("jobs/#", name="$share/workers/jobs/#")
    broker.subscribe("jobs/#", name="auditor")
    groups = {"$share/workers/jobs/#": ["client-a", "client-b", "client-c"]}
    panel.members_source = lambda: groups
    bridge.take_snapshot()
    row = panel.model.row_of("$share/workers/jobs/#")
    assert row is not None
    name = panel.model.index(row, NAME)
    assert name.data() == "$share/workers/jobs/# · 3 members"
    tip = str(name.data(Qt.ItemDataRole.ToolTipRole))
    assert "one queue shared by 3 members, each message to one of them: client-a, client-b, client-c" in tip
    auditor = panel.model.row_of("auditor")
    assert auditor is not None
    assert panel.model.index(auditor, NAME).data() == "auditor"  # not shared: just its name

    groups["$share/workers/jobs/#"] = ["client-b"]  # two left the group
    bridge.take_snapshot()
    assert name.data() == "$share/workers/jobs/# · 1 member"
