"""The inspector dock: every field, header and byte of one message, and its command/reply link.

The payload is shown as plain text only (never HTML): pretty-printed JSON with
colours, the raw text as received, and a hex dump. A command links to its reply
with the latency, and a reply links back to its command. With an AsyncAPI document
loaded, a payload that does not match its schema gets an amber box of reasons. Under the
fields, a table says which subscriptions got the message and what each did with it.
"""

from __future__ import annotations

import json
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QGridLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from eventdeck.core import DEAD_PREFIX, InvalidPayload, Kind, Message
from eventdeck.core.broker.message import is_json_type
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.widgets.icons import icon, kind_colour, kind_icon
from eventdeck.gui.widgets.json_highlighter import JsonHighlighter
from eventdeck.gui.widgets.small import empty_state, format_size, hbox, text_label, tool_button

EMPTY_TEXT = "Select a message in the stream to inspect it"
# Banners: a tinted box whose text colour is chosen for the theme (a style sheet's colours do not follow
# the palette when the theme changes). Each is (background, border, text on light, text on dark).
_BANNERS = {
    "dead": ("rgba(220, 38, 38, 0.12)", "#dc2626", "#7f1d1d", "#fecaca"),
    "schema": ("rgba(217, 119, 6, 0.14)", "#d97706", "#78350f", "#fde68a"),
}
HEX_LIMIT = 64 * 1024
"""Bytes shown in the hex dump; the rest is summarised in one line."""
TEXT_LIMIT = 1024 * 1024
"""Bytes shown as text in the Payload and Raw tabs (Copy payload still copies everything)."""
FIELDS = (
    ("channel", "Channel"),
    ("kind", "Kind"),
    ("id", "Id"),
    ("publisher", "Publisher"),
    ("size", "Size"),
    ("time", "Time"),
    ("content_type", "Content type"),
    ("reply_to", "Reply-to"),
    ("correlation_id", "Correlation id"),
)
# (row, column, span) of each field in the grid; columns are label/value pairs.
_PLACES = {
    "channel": (0, 0, 3),
    "kind": (1, 0, 1),
    "size": (1, 2, 1),
    "id": (2, 0, 3),
    "time": (3, 0, 3),
    "publisher": (4, 0, 1),
    "content_type": (4, 2, 1),
    "reply_to": (5, 0, 3),
    "correlation_id": (6, 0, 3),
}


# What _build_detail makes: reached before the first message, any of them builds the detail.
_DETAIL_PARTS = frozenset(
    {
        "note",
        "kind_icon",
        "title",
        "copy_button",
        "resend_button",
        "dead_banner",
        "schema_banner",
        "link_text",
        "link_button",
        "link_box",
        "fields",
        "payload_edit",
        "raw_edit",
        "hex_edit",
        "highlighter",
        "headers_table",
        "tabs",
        "deliveries",
    }
)


def banner_style(banner: str, dark: bool) -> str:
    """The style sheet of the ``dead`` or ``schema`` banner in the light or dark theme."""
    background, border, on_light, on_dark = _BANNERS[banner]
    colour = on_dark if dark else on_light
    return f"background: {background}; border: 1px solid {border}; border-radius: 3px; padding: 4px; color: {colour};"


def format_time(timestamp: float) -> str:
    """ISO 8601 in local time with milliseconds and the UTC offset."""
    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="milliseconds")


def format_latency(seconds: float) -> str:
    millis = seconds * 1000
    if abs(millis) < 1000:
        return f"{millis:.1f} ms"
    return f"{seconds:.2f} s"


def hex_dump(data: bytes, limit: int = HEX_LIMIT) -> str:
    """Offset, 16 bytes in hex (two groups of 8) and the printable ASCII; at most ``limit`` bytes."""
    lines = []
    shown = data[:limit]
    for offset in range(0, len(shown), 16):
        chunk = shown[offset : offset + 16]
        left = " ".join(f"{b:02x}" for b in chunk[:8])
        right = " ".join(f"{b:02x}" for b in chunk[8:])
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {left:<23}  {right:<23}  |{text}|")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit:,} more bytes not shown (the hex view stops at {format_size(limit)})")
    if not data:
        lines.append("(empty payload)")
    return "\n".join(lines)


class InspectorPanel(QWidget):
    """Shows one message; ``show_message(None)`` returns to the empty state."""

    resend_requested = Signal(object)  # Message: put it in the composer to edit and send again
    select_requested = Signal(object)  # int: a message id to select (the linked command or reply); ids exceed 32 bits

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspectorView")
        self._bridge = bridge
        self._message: Message | None = None
        self._linked_id: int | None = None
        self._awaiting_reply = False
        self._dark = False
        # -- the empty state -------------------------------------------------
        self.empty = empty_state("inspectorEmpty", EMPTY_TEXT)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self._detail: QWidget | None = None  # the fields, tabs and deliveries: built for the first message
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.stack)

        bridge.messages.connect(self._on_batch)
        bridge.validator_changed.connect(self._on_validator_changed)
        bridge.followed.connect(self._on_followed)
        self.show_message(None)

    # -- public API --------------------------------------------------------------

    @property
    def message(self) -> Message | None:
        """The message shown, or None."""
        return self._message

    def show_message(self, message: Message | None) -> None:
        """Show every field, header and byte of ``message``; None returns to the empty state."""
        self._message = message
        self._linked_id = None
        self._awaiting_reply = False
        if message is None:
            self.stack.setCurrentIndex(0)
            if self._detail is not None:
                self.deliveries.show_message(None)
                for edit in (self.payload_edit, self.raw_edit, self.hex_edit):
                    edit.clear()
                self.headers_table.setRowCount(0)
            return
        self.stack.setCurrentWidget(self._build_detail())
        self.deliveries.show_message(message)
        self._show_fields(message)
        self._show_headers(message)
        self._show_payload(message)
        self._show_dead_letter(message)
        self._show_schema(message)
        self._show_link(message)

    def set_dark(self, dark: bool) -> None:
        """Switch the JSON colours and the banners to the dark (or light) palette."""
        self._dark = dark
        if self._detail is None:
            return  # built in these colours
        self.highlighter.set_dark(dark)
        self.dead_banner.setStyleSheet(banner_style("dead", dark))
        if self._message is not None:
            self._show_schema(self._message)

    def copy_payload(self) -> None:
        """Put the whole payload, as text, on the clipboard."""
        if self._message is not None:
            QApplication.clipboard().setText(self._message.text())

    def __getattr__(self, name: str) -> object:  # object: a name made up elsewhere still fails type checks
        # Asked for a part of the detail (the fields, a banner, the tabs…) before any message was shown: build it.
        if name not in _DETAIL_PARTS or "_detail" not in self.__dict__ or self._detail is not None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        self._build_detail()
        return self.__dict__[name]

    def _build_detail(self) -> QWidget:
        """The widgets that show a message, built when the first one is shown: the empty state stays light, and
        the window's first paint does not wait for ~100 widgets it does not show."""
        if self._detail is not None:
            return self._detail
        # Imported with the first message: the delivery timeline module alone costs the first paint ~1.4 ms
        from PySide6.QtWidgets import QTableWidget, QTabWidget  # noqa: PLC0415

        from eventdeck.gui.panels.delivery_timeline import DeliveryTimeline  # noqa: PLC0415

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        # -- title row: kind and channel; actions and notes at the bottom ------
        self.note = text_label("inspectorNote")
        self.note.setStyleSheet("color: palette(placeholder-text);")
        self.kind_icon = QLabel()
        self.kind_icon.setObjectName("inspectorKindIcon")
        self.title = QLabel()
        self.title.setObjectName("inspectorTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bold = QFont(self.title.font())
        bold.setBold(True)
        self.title.setFont(bold)
        self.copy_button = tool_button("inspectorCopy", "Copy payload", "copy", "Copy the payload to the clipboard")
        self.copy_button.clicked.connect(self.copy_payload)
        self.resend_button = tool_button(
            "inspectorResend", "Edit and send again", "send", "Open this message in the composer"
        )
        self.resend_button.clicked.connect(self._on_resend)
        title_row = hbox(self.kind_icon, self.title, stretch=self.title)
        actions = hbox(self.note, self.copy_button, self.resend_button, stretch=self.note)

        # -- dead letter banner and command/reply link ---------------------
        self.dead_banner = text_label("inspectorDeadReason", selectable=True)
        self.dead_banner.setStyleSheet(banner_style("dead", self._dark))
        self.schema_banner = text_label("inspectorSchemaIssues", selectable=True)
        self.link_text = text_label("inspectorLinkText")
        self.link_button = tool_button("inspectorLinked", "Show", "reply", "Select the linked message in the stream")
        self.link_button.clicked.connect(self._on_link)
        self.link_box = QWidget()
        self.link_box.setObjectName("inspectorLink")
        self.link_box.setLayout(hbox(self.link_text, self.link_button, stretch=self.link_text))

        # -- fields --------------------------------------------------------------
        self.fields: dict[str, QLineEdit] = {}
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(1)
        for key, caption in FIELDS:
            label = QLabel(caption + ":")
            label.setStyleSheet("color: palette(placeholder-text);")
            value = QLineEdit()
            value.setObjectName(f"inspectorField_{key}")
            value.setReadOnly(True)
            value.setFrame(False)
            _see_through(value)
            value.setMinimumWidth(40)
            self.fields[key] = value
            row, column, span = _PLACES[key]
            grid.addWidget(label, row, column)
            grid.addWidget(value, row, column + 1, 1, span)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.fields["id"].setFont(mono)
        self.fields["kind"].setFont(bold)
        self.fields["correlation_id"].setFont(mono)

        # -- payload tabs ----------------------------------------------------------
        self.payload_edit = _text_view("inspectorPayload", mono)
        self.payload_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)  # long JSON strings stay visible
        self.raw_edit = _text_view("inspectorRaw", mono)
        small = QFont(mono)
        small.setPointSizeF(max(6.0, mono.pointSizeF() - 1))
        self.hex_edit = _text_view("inspectorHex", small)
        self.highlighter = JsonHighlighter(self.payload_edit.document())
        self.headers_table = QTableWidget(0, 2)
        self.headers_table.setObjectName("inspectorHeaders")
        self.headers_table.setHorizontalHeaderLabels(["Header", "Value"])
        self.headers_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.headers_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.headers_table.setWordWrap(False)
        self.headers_table.verticalHeader().hide()
        self.headers_table.verticalHeader().setDefaultSectionSize(22)
        self.headers_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.headers_table.horizontalHeader().resizeSection(0, 150)
        self.headers_table.horizontalHeader().setStretchLastSection(True)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("inspectorTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.payload_edit, "Payload")
        self.tabs.addTab(self.raw_edit, "Raw")
        self.tabs.addTab(self.hex_edit, "Hex")
        self.tabs.addTab(self.headers_table, "Headers")

        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.setSpacing(4)
        content_layout.addLayout(title_row)
        content_layout.addWidget(self.dead_banner)
        content_layout.addWidget(self.schema_banner)
        content_layout.addWidget(self.link_box)
        content_layout.addLayout(grid)
        self.deliveries = DeliveryTimeline(self._bridge)
        content_layout.addWidget(self.deliveries)
        content_layout.addWidget(self.tabs, 1)
        content_layout.addLayout(actions)

        # In a scroll area: the fields, the deliveries and the tabs together are taller than the dock on a small
        # screen, and the dock must not make the window taller than the screen (it scrolls instead).
        scroller = QScrollArea()
        scroller.setObjectName("inspectorScroll")
        scroller.setWidget(content)
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack.addWidget(scroller)
        self._detail = scroller
        self.set_dark(self._dark)
        return scroller

    # -- filling in ------------------------------------------------------------------

    def _show_fields(self, message: Message) -> None:
        colour = kind_colour(message.kind)
        self.kind_icon.setPixmap(kind_icon(message.kind).pixmap(18, 18))
        self.title.setText(message.channel)
        self.title.setToolTip(message.channel)
        values = {
            "channel": message.channel,
            "kind": message.kind.value,
            "id": str(message.id),
            "publisher": message.publisher or "—",
            "size": format_size(len(message.payload)),
            "time": format_time(message.timestamp),
            "content_type": message.content_type or "—",
            "reply_to": message.reply_to or "—",
            "correlation_id": message.correlation_id or "—",
        }
        for key, value in values.items():
            edit = self.fields[key]
            edit.setText(value)
            edit.setCursorPosition(0)
            edit.setToolTip(value)
        _set_colour(self.fields["kind"], QPalette.ColorRole.Text, colour)

    def _show_headers(self, message: Message) -> None:
        from PySide6.QtWidgets import QTableWidgetItem  # noqa: PLC0415 - see _build_detail

        headers = list(message.headers.items())
        table = self.headers_table
        table.setRowCount(len(headers))
        for row, (name, value) in enumerate(headers):
            table.setItem(row, 0, QTableWidgetItem(name))
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            table.setItem(row, 1, item)
        self.tabs.setTabText(3, f"Headers ({len(headers)})")

    def _show_payload(self, message: Message) -> None:
        payload = message.payload
        notes = []
        cut = payload[:TEXT_LIMIT]
        if len(payload) > TEXT_LIMIT:
            notes.append(
                f"Showing the first {format_size(TEXT_LIMIT)} of {format_size(len(payload))} as text; "
                "Copy payload copies all of it."
            )
        pretty: str | None = None
        if len(payload) <= TEXT_LIMIT and payload.strip():
            try:
                pretty = json.dumps(message.json(), indent=2, ensure_ascii=False)
            except InvalidPayload as exc:
                if is_json_type(message.content_type):
                    notes.append(f"Declared {message.content_type} but {exc}")
        try:
            text = cut.decode("utf-8")
            decodable = True
        except UnicodeDecodeError as exc:
            decodable = exc.start >= len(cut) - 3 and len(payload) > TEXT_LIMIT  # cut inside a character
            text = cut.decode("utf-8", errors="replace")
        self.highlighter.setDocument(self.payload_edit.document() if pretty is not None else None)
        if pretty is not None:
            self.payload_edit.setPlainText(pretty)
        elif decodable:
            self.payload_edit.setPlainText(text if payload else "(empty payload)")
        else:
            self.payload_edit.setPlainText(
                f"This payload is not UTF-8 text ({len(payload):,} bytes of binary data).\n\n"
                "See the Hex tab for its bytes. The Raw tab shows it with undecodable bytes replaced by �."
            )
        self.raw_edit.setPlainText(text)
        self.hex_edit.setPlainText(hex_dump(payload))
        self.note.setText("\n".join(notes))

    def _show_dead_letter(self, message: Message) -> None:
        reason = message.headers.get("x-dead-reason")
        if not message.channel.startswith(DEAD_PREFIX) or reason is None:
            self.dead_banner.hide()
            return
        original = message.headers.get("x-original-channel", message.channel[len(DEAD_PREFIX) :])
        details = [f"from {original}"]
        if "x-dead-subscription" in message.headers:
            details.append(f"subscription {message.headers['x-dead-subscription']}")
        if "x-attempts" in message.headers:
            details.append(f"after {message.headers['x-attempts']} attempt(s)")
        self.dead_banner.setText(f"Dead letter: {reason}\n{', '.join(details)}")
        self.dead_banner.show()

    def _show_schema(self, message: Message) -> None:
        """An amber box of the reasons the payload does not match its AsyncAPI schema, one per JSON path;
        a grey line when the channel's schema is in a format that is not checked."""
        validator = self._bridge.validator
        issues = validator.issues_for(message.id) if validator is not None else ()
        if issues:
            lines = "\n".join(f"• {issue.path}: {issue.message}" for issue in issues)
            self.schema_banner.setText(f"Does not match the AsyncAPI schema:\n{lines}")
            self.schema_banner.setStyleSheet(banner_style("schema", self._dark))
            self.schema_banner.show()
            return
        status = validator.status_for(message.channel) if validator is not None else None
        if status is not None and status.startswith("not validated"):
            self.schema_banner.setText(f"AsyncAPI: payloads on this channel are {status}")
            self.schema_banner.setStyleSheet("color: palette(placeholder-text);")
            self.schema_banner.show()
            return
        self.schema_banner.hide()

    def _show_link(self, message: Message) -> None:
        commands = self._bridge.commands
        self.link_button.hide()
        if message.kind is Kind.COMMAND:
            self.link_box.show()
            if message.reply_to is None or message.correlation_id is None:
                self.link_text.setText("No reply expected: this command has no reply-to")
                return
            reply = commands.reply_for(message)
            if reply is None:
                self._awaiting_reply = True
                self.link_text.setText("No reply yet")
                return
            self._link(
                reply.id,
                f"Reply after {format_latency(reply.timestamp - message.timestamp)}",
                "Show reply",
                "reply",
            )
        elif message.kind is Kind.REPLY:
            self.link_box.show()
            command = commands.command_for(message)
            if command is None:
                self.link_text.setText(
                    f"Answers a command no longer known here (correlation id {message.correlation_id or '—'})"
                )
                return
            self._link(
                command.id,
                f"Answers command {command.id} on {command.channel} "
                f"({format_latency(message.timestamp - command.timestamp)})",
                "Show command",
                "command",
            )
        else:
            self.link_box.hide()

    def _link(self, message_id: int, text: str, button_text: str, icon_name: str) -> None:
        self._linked_id = message_id
        self.link_text.setText(text)
        self.link_button.setText(button_text)
        self.link_button.setIcon(icon(icon_name))
        self.link_button.setToolTip(f"Select message {message_id} in the stream")
        self.link_button.show()

    # -- slots -----------------------------------------------------------------------

    def _on_batch(self, _messages: list[Message]) -> None:
        # One dictionary lookup per batch, and only while a command waits for its reply.
        message = self._message
        if self._awaiting_reply and message is not None and self._bridge.commands.reply_for(message) is not None:
            self._awaiting_reply = False
            self._show_link(message)

    def _on_followed(self, message: Message | None) -> None:
        # A dot clicked in the presenter: shown here too, for when the room is back at the console.
        if message is not None and message is not self._message:
            self.show_message(message)

    def _on_validator_changed(self, _validator: object) -> None:
        if self._message is not None:
            self._show_schema(self._message)

    def _on_link(self) -> None:
        if self._linked_id is not None:
            self.select_requested.emit(self._linked_id)

    def _on_resend(self) -> None:
        if self._message is not None:
            self.resend_requested.emit(self._message)


def _set_colour(widget: QWidget, role: QPalette.ColorRole, colour: QColor) -> None:
    """Set one role of ``widget``'s palette; the other roles keep following the theme."""
    palette = widget.palette()
    palette.setColor(role, colour)
    widget.setPalette(palette)


def _see_through(edit: QLineEdit) -> None:
    """A read-only field that looks like a label: no background of its own (a palette role, not a style
    sheet, so its text colour follows the theme)."""
    _set_colour(edit, QPalette.ColorRole.Base, QColor(Qt.GlobalColor.transparent))


def _text_view(name: str, font: QFont) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setObjectName(name)
    edit.setReadOnly(True)
    edit.setFont(font)
    edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    edit.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    return edit
