"""Split AsyncAPI document sets in the window: remote references are not fetched unless File > Fetch Remote
References (a saved setting) or ``--fetch-remote-refs`` (this session) allows it; what is not fetched is
said in the import summary and the channel tooltips, and live validation skips it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from eventdeck.core.asyncapi.remote import NOT_FETCHED
from eventdeck.core.connectors.profiles import ProfileStore
from eventdeck.gui.app import build_parser
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.controllers.asyncapi import FETCH_SETTING, AsyncApiFiles
from eventdeck.gui.controllers.window_runner import open_window
from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.models.channel_tree import ChannelTreeModel
from tests.core.asyncapi.schema_server import SchemaServer, serving, split_set

WAIT = 5000
HEAD = "asyncapi: 3.0.0\ninfo: {title: t, version: '1'}\n"


@pytest.fixture
def server() -> Iterator[SchemaServer]:
    with serving() as running:
        yield running


@pytest.fixture
def orders(tmp_path: Path, server: SchemaServer) -> Path:
    return split_set(tmp_path, server.url) / "orders.yaml"


@pytest.fixture
def window(qtbot: QtBot, bridge: Bridge, settings: QSettings, tmp_path: Path) -> MainWindow:
    win = MainWindow(bridge, settings, profiles=ProfileStore(tmp_path / "connections.json"))
    qtbot.addWidget(win)
    win.show()
    return win


def tooltip(window: MainWindow, channel: str, column: int = ChannelTreeModel.CHANNEL) -> str:
    model = window.channels.model
    index = model.index_for(channel)
    assert index.isValid(), channel
    return str(model.data(index.siblingAtColumn(column), Qt.ItemDataRole.ToolTipRole))


def customer_status(window: MainWindow) -> str:
    document = window.asyncapi.document
    assert document is not None
    return document.channel("customerUpdated").messages[0].schema_status


def test_the_file_menu_offers_fetching_and_it_is_off_at_first(window: MainWindow) -> None:
    action = window.asyncapi_files.fetch_action
    assert action.objectName() == "fetchRemoteRefsAction"
    assert action in window.file_menu.actions()
    assert action.isCheckable()
    assert not action.isChecked()


def test_offline_the_set_opens_and_says_what_was_not_fetched(
    window: MainWindow, orders: Path, server: SchemaServer
) -> None:
    assert window.asyncapi_files.open(str(orders))
    assert window.asyncapi_files.fetching is None
    assert server.requests == []
    assert window.statusBar().currentMessage() == (
        "orders.yaml: AsyncAPI 3.0.0, 3 channels, 3 messages, 3 operations, 4 referenced files; "
        "CustomerUpdated: not available (remote reference, not fetched: File > Fetch Remote References)"
    )
    assert "AsyncAPI: payloads not available (remote reference, not fetched)" in tooltip(
        window, "shop/customers/updated"
    )
    assert tooltip(window, "shop/customers/updated", ChannelTreeModel.INVALID) == (
        "Payloads are not checked: their schema is not available (remote reference, not fetched)"
    )
    assert "AsyncAPI: payloads validated" in tooltip(window, "shop/orders/placed")  # from ../common


def test_turning_fetching_on_fetches_what_the_open_document_left_out_and_is_remembered(
    qtbot: QtBot, window: MainWindow, orders: Path, server: SchemaServer, settings: QSettings
) -> None:
    window.asyncapi_files.open(str(orders))
    window.asyncapi_files.fetch_action.trigger()
    qtbot.waitUntil(lambda: customer_status(window) == "validated", timeout=WAIT)
    assert sorted(server.requests) == ["/address.json", "/customer.json"]
    assert str(settings.value(FETCH_SETTING)).lower() == "true"
    assert "AsyncAPI: payloads validated" in tooltip(window, "shop/customers/updated")
    assert window.statusBar().currentMessage() == (
        "orders.yaml: AsyncAPI 3.0.0, 3 channels, 3 messages, 3 operations, 6 referenced files"
    )
    again = AsyncApiFiles(window.asyncapi, window.host, lambda _url: None, settings)
    assert again.fetch_action.isChecked()


def test_a_schema_that_cannot_be_fetched_says_why(
    qtbot: QtBot, window: MainWindow, orders: Path, server: SchemaServer
) -> None:
    (orders.parent.parent / "web" / "customer.json").unlink()
    orders.write_text(orders.read_text().replace(f"{server.url}customer.json", f"{server.url}gone.json"))
    window.asyncapi_files.fetch_action.trigger()
    assert window.asyncapi_files.open(str(orders))
    task = window.asyncapi_files.fetching
    assert task is not None
    qtbot.waitUntil(task.done, timeout=WAIT)
    status = "not available (remote reference, could not be fetched: HTTP 404 File not found)"
    assert customer_status(window) == status
    assert window.statusBar().currentMessage().endswith(f"; CustomerUpdated: {status}")
    assert f"AsyncAPI: payloads {status}" in tooltip(window, "shop/customers/updated")


def test_a_validated_channel_names_the_messages_it_skips(window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(
        HEAD + "channels:\n  c:\n    address: shop/mixed\n    messages:\n"
        "      local: {name: Local, payload: {type: object}}\n"
        "      remote: {name: Remote, payload: {$ref: 'https://schemas.example.com/remote.json'}}\n"
    )
    assert window.asyncapi_files.open(str(path))
    tip = tooltip(window, "shop/mixed")
    assert f"AsyncAPI: payloads validated<br>Not checked: Remote: {NOT_FETCHED}" in tip


def test_a_document_whose_channels_are_on_the_web_opens_once_they_are_fetched(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    web = tmp_path / "web"
    web.mkdir()
    (web / "channels.yaml").write_text("c: {address: shop/remote, messages: {m: {payload: {type: string}}}}\n")
    with serving(web) as server:
        path = tmp_path / "doc.yaml"
        path.write_text(HEAD + f"channels:\n  c: {{$ref: '{server.url}channels.yaml#/c'}}\n")
        assert not window.asyncapi_files.open(str(path))
        box = window.findChild(QMessageBox, "problemBox")
        assert box is not None
        assert "--fetch-remote-refs, or File > Fetch Remote References" in box.informativeText()
        window.asyncapi_files.fetch_action.trigger()
        assert window.asyncapi_files.open(str(path))
        assert window.asyncapi.document is None  # nothing to show until fetched
        qtbot.waitUntil(lambda: window.asyncapi.document is not None, timeout=WAIT)
    assert tooltip(window, "shop/remote").count("AsyncAPI: payloads validated") == 1


def test_a_fetch_finishing_after_another_document_was_opened_is_dropped(
    qtbot: QtBot, window: MainWindow, orders: Path, tmp_path: Path
) -> None:
    window.asyncapi_files.fetch_action.trigger()
    window.asyncapi_files.open(str(orders))
    task = window.asyncapi_files.fetching
    assert task is not None
    other = tmp_path / "other.yaml"
    other.write_text(HEAD + "channels:\n  c: {address: shop/other}\n")
    window.asyncapi_files.open(str(other))
    qtbot.waitUntil(task.done, timeout=WAIT)
    assert window.asyncapi.document is not None
    assert window.asyncapi.document.source == str(other)


@pytest.mark.qt_no_exception_capture
def test_the_window_flag_fetches_for_this_session_without_changing_the_setting(  # noqa: PLR0917 - fixtures
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    qapp: QApplication,
    settings: QSettings,
    orders: Path,
    server: SchemaServer,
) -> None:
    argv = ["--no-demo", "--mqtt", "off", "--http", "off", "--fetch-remote-refs", "--asyncapi", str(orders)]
    running = asyncio.ensure_future(open_window(build_parser().parse_args(argv), settings), loop=qloop)
    window = None

    def opened() -> bool:
        nonlocal window
        window = next((w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()), None)
        return window is not None and window.asyncapi.document is not None

    qtbot.waitUntil(opened, timeout=10_000)
    assert window is not None
    assert window.asyncapi_files.fetch_action.isChecked()
    qtbot.waitUntil(lambda: customer_status(window) == "validated", timeout=WAIT)
    assert settings.value(FETCH_SETTING) is None
    window.close()
    qtbot.waitUntil(running.done, timeout=10_000)
    assert running.result() == 0
