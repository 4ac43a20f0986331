"""AsyncAPI in the window: open a document (channels, templates, live validation) and export traffic.

::

    asyncapi = AsyncApiController(bridge)        # starts recording traffic for an export at once
    document = asyncapi.load(path)               # AsyncApiError (file, line, JSON path); nothing applied yet
    asyncapi.apply(document)                     # declares channels, validates traffic, offers templates
    status_bar.showMessage(asyncapi.summary(document))
    text = asyncapi.export_yaml(redact_values=True)

    files = AsyncApiFiles(asyncapi, host, connect_url)   # the window's menu actions, dialogs and drops
    files.open(path)                                     # a broken document is shown whole; nothing applied

Remote ``$ref``s (``https://...``) are not fetched unless File > Fetch Remote References is checked
(saved in the settings) or the window was started with ``--fetch-remote-refs`` (this session only);
then a document that names some opens at once without them and again, off the window's thread,
once they are fetched.

The panels follow the bridge (``Bridge.validator_changed``): the stream flags invalid rows, the
inspector lists the reasons, the channels panel counts them and the composer offers templates.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from eventdeck.core import InvalidChannel, Message, validate_channel
from eventdeck.core.asyncapi.errors import AsyncApiError
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.controllers.host import WindowHost
from eventdeck.gui.widgets.small import plural

if TYPE_CHECKING:  # the loader (YAML, JSON Schema, the web) loads with the first document, after the first paint
    from eventdeck.core.asyncapi.export import TrafficRecorder
    from eventdeck.core.asyncapi.model import Document


RECORD_CHUNK = 1_000
"""Messages recorded for the export per loop turn: 0.3-0.6 ms (Kafka records carry headers)."""


class AsyncApiController(QObject):
    """The loaded AsyncAPI document (at most one) and a recording of the traffic for an export."""

    document_changed = Signal(object)  # Document | None

    def __init__(self, bridge: Bridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self.document: Document | None = None
        self._recorder: TrafficRecorder | None = None  # see recorder
        self._unrecorded: list[Message] = []
        self._record_timer = QTimer(self)
        self._record_timer.setSingleShot(True)
        self._record_timer.setInterval(0)  # on a loop turn of its own, not inside the bridge's flush
        self._record_timer.timeout.connect(self._record)
        bridge.messages.connect(self._on_messages)

    @property
    def recorder(self) -> TrafficRecorder:
        """What was observed, for an export (bounded: counters and the first samples per channel and kind); made with
        the first messages, as its module (~5 ms) is not needed for the window's first paint."""
        if self._recorder is None:
            from eventdeck.core.asyncapi.export import TrafficRecorder  # noqa: PLC0415 - see above

            self._recorder = TrafficRecorder()
        return self._recorder

    def load(self, path: str | os.PathLike[str], *, fetch_remote_refs: bool = False) -> Document:
        """Read and check the document at ``path`` and the files it references (the web's too when
        ``fetch_remote_refs``: it may wait on the network); raises ``AsyncApiError`` and changes nothing on failure."""
        from eventdeck.core.asyncapi.normalise import load_document  # noqa: PLC0415 - see TYPE_CHECKING above

        return load_document(path, fetch_remote_refs=fetch_remote_refs)

    async def load_fetching(self, path: str | os.PathLike[str]) -> Document:
        """``load`` with the remote references fetched, on a worker thread so that the window stays responsive."""
        return await asyncio.to_thread(self.load, path, fetch_remote_refs=True)

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        return self._bridge.spawn(coro, what)

    def apply(self, document: Document) -> None:
        """Make ``document`` the loaded one: declare its channels (with their descriptions), validate traffic."""
        for address, description in declarable_channels(document):
            self._bridge.broker.declare_channel(address, description)
        from eventdeck.core.asyncapi.live import LiveValidator  # noqa: PLC0415 - see TYPE_CHECKING above

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
        from eventdeck.core.asyncapi.export import to_yaml  # noqa: PLC0415 - see recorder

        self._record_all()  # what arrived since the last loop turn too
        subscriptions = self._bridge.backend.subscriptions() or []
        return to_yaml(self.recorder.document(subscriptions, title=title, redact_values=redact_values))

    @staticmethod
    def summary(document: Document) -> str:
        """One line for the status bar: ``shop.yml: AsyncAPI 3.0.0, 2 channels, 3 messages, 4 operations``,
        then the files it references and the payloads that are not validated, and why."""
        counts = [
            plural(len(document.channels), "channel"),
            plural(len(document.messages), "message"),
            plural(len(document.operations), "operation"),
        ]
        if document.files:
            counts.append(f"{plural(len(document.files), 'referenced file')}")
        line = f"{Path(document.source).name}: AsyncAPI {document.version}, {', '.join(counts)}"
        return "; ".join([line, *unchecked_schemas(document)])

    def _on_messages(self, batch: list[Message]) -> None:
        self._unrecorded.extend(batch)
        self._record_timer.start()

    def _record(self) -> None:
        """Record at most ``RECORD_CHUNK`` messages a loop turn: a Kafka fetch's burst is spread over a few."""
        batch, self._unrecorded = self._unrecorded[:RECORD_CHUNK], self._unrecorded[RECORD_CHUNK:]
        self.recorder.add_all(batch)
        if self._unrecorded:
            self._record_timer.start()

    def _record_all(self) -> None:
        self.recorder.add_all(self._unrecorded)
        self._unrecorded = []


class AsyncApiFiles(QObject):
    """The window's AsyncAPI commands: open a document (menu, drop, ``--asyncapi``), export what was observed,
    and whether documents' remote references are fetched (``fetch_action``, kept in ``settings``; by default
    the window's)."""

    def __init__(
        self,
        asyncapi: AsyncApiController,
        host: WindowHost,
        connect_url: Callable[[str], None],
        settings: QSettings | None = None,
    ) -> None:
        super().__init__(host.window)
        self._asyncapi = asyncapi
        self._host = host
        self._connect_url = connect_url
        self._settings = settings if settings is not None else _settings_of(host)
        self._opened = 0  # counts opens, so that a fetch finishing after another open is dropped
        self.server_offer: QMessageBox | None = None
        self.fetching: asyncio.Task[None] | None = None
        """The load that is fetching remote references, while one runs."""
        self.open_action = host.action("openAsyncApiAction", "Open AsyncAPI…", "channel", "Ctrl+O")
        self.open_action.triggered.connect(self.ask_file)
        self.fetch_action = host.action("fetchRemoteRefsAction", "Fetch Remote References", "connect")
        self.fetch_action.setCheckable(True)
        self.fetch_action.setChecked(str(self._settings.value(FETCH_SETTING, "false")).lower() == "true")
        self.fetch_action.setToolTip(
            "Fetch the https:// (and http://) documents an AsyncAPI document's $refs name. Off, EventDeck "
            "does not call out: the schemas that need them are not validated."
        )
        self.fetch_action.toggled.connect(self._on_fetch_toggled)
        export = host.action("exportAsyncApiAction", "Export AsyncAPI…", "send")
        export.triggered.connect(lambda: self.ask_export_file(redact_values=False))
        export_redacted = host.action("exportAsyncApiRedactedAction", "Export AsyncAPI, values redacted…", "send")
        export_redacted.triggered.connect(lambda: self.ask_export_file(redact_values=True))
        self.actions: tuple[QAction, ...] = (self.open_action, self.fetch_action, export, export_redacted)

    def allow_remote_refs_for_session(self) -> None:
        """Fetch remote references until the window closes, without changing the setting (``--fetch-remote-refs``)."""
        with QSignalBlocker(self.fetch_action):
            self.fetch_action.setChecked(True)

    def ask_file(self) -> None:
        filters = ["AsyncAPI documents (*.yaml *.yml *.json)", "All files (*)"]
        self._host.ask_file("openAsyncApiDialog", "Open an AsyncAPI document", self.open, filters)

    def open(self, path: str) -> bool:
        """Load and apply the document at ``path``; on failure show the specific error, change nothing.

        Remote references are never fetched here: with fetching allowed, the document is applied without
        them, then ``fetching`` loads it again with them off the window's thread and applies that.
        """
        from eventdeck.core.asyncapi.loader import RemoteRefError  # noqa: PLC0415 - see TYPE_CHECKING above
        from eventdeck.core.asyncapi.remote import NOT_FETCHED  # noqa: PLC0415

        self._opened += 1
        fetch = self.fetch_action.isChecked()
        try:
            document: Document | None = self._asyncapi.load(path)
        except RemoteRefError as exc:
            if not fetch:
                self._host.problem("This AsyncAPI document cannot be used", str(exc))
                return False
            document = None  # its channels or messages themselves are on the web: nothing to show until fetched
        except AsyncApiError as exc:
            self._host.problem("This AsyncAPI document cannot be used", str(exc))
            return False
        if document is not None:
            self._apply(document, offer_servers=True)
        if fetch and (document is None or NOT_FETCHED in document.remote_refs.values()):
            self.fetching = self._asyncapi.spawn(
                self._fetch(path, self._opened, offer_servers=document is None), f"opening {path}"
            )
        return True

    async def _fetch(self, path: str, opened: int, *, offer_servers: bool) -> None:
        self._host.say(f"{Path(path).name}: fetching its remote references…", 0)
        try:
            document = await self._asyncapi.load_fetching(path)
        except AsyncApiError as exc:
            if opened == self._opened:
                self._host.problem("This AsyncAPI document cannot be used", str(exc))
            return
        finally:
            if self.fetching is asyncio.current_task():
                self.fetching = None
        if opened == self._opened:  # else another document was opened meanwhile
            self._apply(document, offer_servers=offer_servers)

    def _apply(self, document: Document, *, offer_servers: bool) -> None:
        self._asyncapi.apply(document)
        self._host.say(self._asyncapi.summary(document), 30_000 if unchecked_schemas(document) else 10_000)
        if offer_servers:
            self._offer_servers(document)

    def _on_fetch_toggled(self, checked: bool) -> None:
        """Remember the choice; turned on, fetch what the open document left out."""
        from eventdeck.core.asyncapi.remote import NOT_FETCHED  # noqa: PLC0415 - see TYPE_CHECKING above

        self._settings.setValue(FETCH_SETTING, checked)
        document = self._asyncapi.document
        if checked and document is not None and NOT_FETCHED in document.remote_refs.values():
            self.fetching = self._asyncapi.spawn(
                self._fetch(document.source, self._opened, offer_servers=False), f"opening {document.source}"
            )

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


FETCH_SETTING = "asyncapi/fetch_remote_refs"
"""The settings key of File > Fetch Remote References."""


def _settings_of(host: WindowHost) -> QSettings:
    """The window's settings (the main window keeps them as ``settings``), else the application's."""
    settings = getattr(host.window, "settings", None)
    return settings if isinstance(settings, QSettings) else QSettings()


def unchecked_schemas(document: Document) -> list[str]:
    """What the summary says of payloads that are not validated: ``CustomerUpdated: not available
    (remote reference, not fetched: File > Fetch Remote References)``, ``ParcelScanned: not validated: avro``."""
    from eventdeck.core.asyncapi.live import short_status  # noqa: PLC0415 - see TYPE_CHECKING above
    from eventdeck.core.asyncapi.remote import NOT_FETCHED  # noqa: PLC0415

    fetch_hint = f"{NOT_FETCHED.removesuffix(')')}: File > Fetch Remote References)"
    return [
        f"{message.label}: {fetch_hint if status == NOT_FETCHED else short_status(status)}"
        for message, status in document.unchecked
    ]


CONNECTOR_PROTOCOLS = {"mqtt": "mqtt", "mqtts": "mqtts", "secure-mqtt": "mqtts", "amqp": "amqp", "amqps": "amqps"}
CONNECTOR_PROTOCOLS |= {
    "nats": "nats",
    "redis": "redis",
    "rediss": "rediss",
    "kafka": "kafka",
    "kafka-secure": "kafkas",
}


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
