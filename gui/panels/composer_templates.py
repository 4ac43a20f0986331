"""The composer's Template row and schema check: the channel's messages in the loaded AsyncAPI document.

A payload that fits none of them is a warning (amber), never a reason not to send.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QLabel

from eventdeck.core.broker.message import is_json_type
from eventdeck.gui.widgets.small import plural, stretchy_combo

if TYPE_CHECKING:
    from eventdeck.core.asyncapi import MessageSpec, ValidationIssue
    from eventdeck.core.asyncapi.live import LiveValidator

SHOWN_ISSUES = 5


class TemplatePicker:
    """The Template label and combo (hidden while the channel has no messages in a document)."""

    def __init__(self) -> None:
        self.combo = stretchy_combo(
            "composerTemplate", "This channel's messages in the AsyncAPI document: pick one to load its example", 12
        )
        self.label = QLabel("T&emplate")
        self.label.setBuddy(self.combo)
        self.label.hide()
        self.combo.hide()
        self.templates: tuple[MessageSpec, ...] = ()
        self._looked_up: str | None = None  # the channel the templates were looked up for

    def refresh(self, channel: str, validator: LiveValidator | None) -> None:
        """Look ``channel`` up in ``validator``'s document, unless it was the last one looked up."""
        if channel == self._looked_up:
            return
        self._looked_up = channel
        templates = validator.messages_for(channel) if validator is not None and channel else ()
        if templates == self.templates:
            return
        self.templates = templates
        with QSignalBlocker(self.combo):
            self.combo.clear()
            for spec in templates:
                self.combo.addItem(spec.label)
                tip = spec.summary or spec.description or spec.name
                self.combo.setItemData(self.combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
            self.combo.setCurrentIndex(-1)
        self.combo.setPlaceholderText(plural(len(templates), "message"))
        self.label.setVisible(bool(templates))
        self.combo.setVisible(bool(templates))

    def forget(self) -> None:
        """Another document: look the channel up again on the next refresh."""
        self._looked_up = None

    def pick(self, index: int) -> MessageSpec | None:
        """Make the ``index``-th template the chosen one; None if there is no such template."""
        if not 0 <= index < len(self.templates):
            return None
        with QSignalBlocker(self.combo):
            self.combo.setCurrentIndex(index)
        return self.templates[index]

    def issues(self, validator: LiveValidator | None, text: str, content_type: str) -> tuple[ValidationIssue, ...]:
        """Why JSON ``text`` fits none of the chosen (else the channel's) messages; empty if it fits."""
        if validator is None or not self.templates or not is_json_type(content_type):
            return ()
        chosen = self.combo.currentIndex()
        specs = [self.templates[chosen]] if 0 <= chosen < len(self.templates) else self.templates
        value: Any = json.loads(text)
        return validator.check_value(value, specs)


def template_text(spec: MessageSpec) -> str:
    """The payload a template starts from: its example, or one made from its schema; empty without either."""
    from eventdeck.core.asyncapi import example_payload  # noqa: PLC0415 - loaded already: a document is open

    example = example_payload(spec)
    if example is None:
        return ""
    if isinstance(example, str) and not is_json_type(spec.content_type):
        return example
    return json.dumps(example, indent=2, ensure_ascii=False)


def schema_warning(issues: tuple[ValidationIssue, ...]) -> str:
    """The first few issues as lines under one sentence that says it can still be sent."""
    lines = "\n".join(f"{issue.path}: {issue.message}" for issue in issues[:SHOWN_ISSUES])
    more = f"\n… and {len(issues) - SHOWN_ISSUES} more" if len(issues) > SHOWN_ISSUES else ""
    return f"Does not match the AsyncAPI schema (it can still be sent):\n{lines}{more}"
