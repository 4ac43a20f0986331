"""AsyncAPI in the window: open a document (channels, templates, live validation) and export traffic.

::

    asyncapi = AsyncApiController(bridge)        # starts recording traffic for an export at once
    document = asyncapi.load(path)               # AsyncApiError (file, line, JSON path); nothing applied yet
    asyncapi.apply(document)                     # declares channels, validates traffic, offers templates
    status_bar.showMessage(asyncapi.summary(document))
    text = asyncapi.export_yaml(redact_values=True)

    files = AsyncApiFiles(asyncapi, host, connect_url)   # the window's menu actions, dialogs and drops
    files.open(path)                                     # a broken document is shown whole; nothing applied

The panels follow the bridge (``Bridge.validator_changed``): the stream flags invalid rows, the
inspector lists the reasons, the channels panel counts them and the composer offers templates.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from eventdeck.core import InvalidChannel, Message, validate_channel
from eventdeck.core.asyncapi import AsyncApiError, Document, TrafficRecorder, load_document, to_yaml
from eventdeck.core.asyncapi.live import LiveValidator
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.controllers.host import WindowHost
from eventdeck.gui.widgets.small import plural


class AsyncApiController(QObject):
    """The loaded AsyncAPI document (at most one) and a recording of the traffic for an export."""

    document_changed = Signal(object)  # Document | None

    def __init__(self, bridge: Bridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self.document: Document | None = None
        self.recorder = TrafficRecorder()  # bounded: counters and the first samples per channel and kind
        self._unrecorded: list[Message] = []
        self._record_timer = QTimer(self)
        self._record_timer.setSingleShot(True)
        self._record_timer.setInterval(0)  # on a loop turn of its own, not inside the bridge's flush
        self._record_timer.timeout.connect(self._record)
        bridge.messages.connect(self._on_messages)

    def load(self, path: str | os.PathLike[str]) -> Document:
        """Read and check the document at ``path``; raises ``AsyncApiError`` and changes nothing on failure."""
        return load_document(path)

    def apply(self, document: Document) -> None:
        """Make ``document`` the loaded one: declare its channels (with their descriptions), validate traffic."""
        for address, description in declarable_channels(document):
            self._bridge.broker.declare_channel(address, description)
        self.document = document
        self._bridge.set_validator(LiveValidator(document))
        self._bridge.take_snapshot()  # the declared channels appear now, not in half a second
        self.document_changed.emit(document)

    def clear(self) -> None:
        """Forget the document: no more validation or templates (declared channels stay, as channels do)."""
        self.document = None
        self._bridge.set_validator(None)
        self.document_changed.emit(None)

    def export_yaml(self, redact_values: bool = False, title: str = "Observed by EventDeck") -> str:
        """An AsyncAPI 3.0.0 document (YAML) of the traffic seen since the start and who subscribes."""
        self._record()  # what arrived since the last loop turn too
        subscriptions = self._bridge.backend.subscriptions() or []
        return to_yaml(self.recorder.document(subscriptions, title=title, redact_values=redact_values))

    @staticmethod
    def summary(document: Document) -> str:
        """One line for the status bar: ``shop.yml: AsyncAPI 3.0.0, 2 channels, 3 messages, 4 operations``."""
        counts = (
            plural(len(document.channels), "channel"),
            plural(len(document.messages), "message"),
            plural(len(document.operations), "operation"),
        )
        return f"{Path(document.source).name}: AsyncAPI {document.version}, {', '.join(counts)}"

    def _on_messages(self, batch: list[Message]) -> None:
        self._unrecorded.extend(batch)
        self._record_timer.start()

    def _record(self) -> None:
        batch, self._unrecorded = self._unrecorded, []
        add = self.recorder.add
        for message in batch:
            add(message)


class AsyncApiFiles(QObject):
    """The window's AsyncAPI commands: open a document (menu, drop, ``--asyncapi``), export what was observed."""

    def __init__(self, asyncapi: AsyncApiController, host: WindowHost, connect_url: Callable[[str], None]) -> None:
        super().__init__(host.window)
        self._asyncapi = asyncapi
        self._host = host
        self._connect_url = connect_url
        self.server_offer: QMessageBox | None = None
        self.open_action = host.action("openAsyncApiAction", "Open AsyncAPI…", "channel", "Ctrl+O")
        self.open_action.triggered.connect(self.ask_file)
        export = host.action("exportAsyncApiAction", "Export AsyncAPI…", "send")
        export.triggered.connect(lambda: self.ask_export_file(redact_values=False))
        export_redacted = host.action("exportAsyncApiRedactedAction", "Export AsyncAPI, values redacted…", "send")
        export_redacted.triggered.connect(lambda: self.ask_export_file(redact_values=True))
        self.actions: tuple[QAction, ...] = (self.open_action, export, export_redacted)

    def ask_file(self) -> None:
        filters = ["AsyncAPI documents (*.yaml *.yml *.json)", "All files (*)"]
        self._host.ask_file("openAsyncApiDialog", "Open an AsyncAPI document", self.open, filters)

    def open(self, path: str) -> bool:
        """Load and apply the document at ``path``; on failure show the specific error, change nothing."""
        try:
            document = self._asyncapi.load(path)
        except AsyncApiError as exc:
            self._host.problem("This AsyncAPI document cannot be used", str(exc))
            return False
        self._asyncapi.apply(document)
        self._host.say(self._asyncapi.summary(document), 10_000)
        self._offer_servers(document)
        return True

    def _offer_servers(self, document: Document) -> None:
        """The document names brokers: offer to connect to the first one EventDeck has a connector for."""
        for server in document.servers:
            url = server_url(server.protocol, server.resolved_host)
            if url is None:
                continue
            box = QMessageBox(self._host.window)
            box.setObjectName("serverOffer")
            box.setWindowTitle("Connect to the document's server?")
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.setText(f"The document describes server {server.name!r} at {url}. Connect to it now?")
            connect = box.addButton("Connect", QMessageBox.ButtonRole.AcceptRole)
            box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
            connect.clicked.connect(lambda _checked=False, target=url: self._connect_url(target))
            box.open()
            self.server_offer = box
            return

    def ask_export_file(self, *, redact_values: bool) -> None:
        self._host.ask_file(
            "exportAsyncApiDialog",
            "Export what was observed as AsyncAPI 3.0",
            lambda path: self.export(path, redact_values=redact_values),
            [],
            save_as="observed-asyncapi.yaml",
        )

    def export(self, path: str, *, redact_values: bool = False) -> bool:
        try:
            Path(path).write_text(self._asyncapi.export_yaml(redact_values=redact_values), encoding="utf-8")
        except OSError as exc:
            self._host.problem("The AsyncAPI export was not written", f"{path}: {exc.strerror or exc}")
            return False
        self._host.say(f"AsyncAPI 3.0 document written to {path}", 10_000)
        return True


CONNECTOR_PROTOCOLS = {"mqtt": "mqtt", "mqtts": "mqtts", "secure-mqtt": "mqtts", "amqp": "amqp", "amqps": "amqps"}
CONNECTOR_PROTOCOLS |= {"nats": "nats", "redis": "redis", "rediss": "rediss"}


def server_url(protocol: str, host: str) -> str | None:
    """A connector URL for an AsyncAPI server, or None when EventDeck has no connector for its protocol."""
    scheme = CONNECTOR_PROTOCOLS.get(protocol.lower())
    if scheme is None or not host or "{" in host:
        return None
    host = host.split("://", 1)[-1]
    return f"{scheme}://{host}"


def declarable_channels(document: Document) -> list[tuple[str, str]]:
    """(address, description) of each channel with a fixed address; ``{parameter}`` addresses are patterns,
    known only once traffic names them."""
    found = []
    for channel in document.channels:
        if channel.address is None or channel.parameters or "{" in channel.address:
            continue
        try:
            validate_channel(channel.address)
        except InvalidChannel:
            continue
        found.append((channel.address, channel.description or channel.summary or channel.title))
    return found
