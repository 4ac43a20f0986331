"""AsyncAPI in the window: open a document (channels, templates, live validation) and export traffic.

::

    asyncapi = AsyncApiController(bridge)        # starts recording traffic for an export at once
    document = asyncapi.load(path)               # AsyncApiError (file, line, JSON path); nothing applied yet
    asyncapi.apply(document)                     # declares channels, validates traffic, offers templates
    status_bar.showMessage(asyncapi.summary(document))
    text = asyncapi.export_yaml(redact_values=True)

The panels follow the bridge (``Bridge.validator_changed``): the stream flags invalid rows, the
inspector lists the reasons, the channels panel counts them and the composer offers templates.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from eventdeck.core import InvalidChannel, Message, validate_channel
from eventdeck.core.asyncapi import Document, TrafficRecorder, load_document, to_yaml
from eventdeck.core.asyncapi.live import LiveValidator
from eventdeck.gui.bridge import Bridge
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
