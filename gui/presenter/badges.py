"""What changes by the second on the presenter's boxes: commands waiting for replies, requests that timed out,
and a running scenario's marks (the story step's highlights, the active faults).

A wait's badge takes over a box's last line (a subscription's counts, a publisher's rate) for as
long as it lasts: the line is blanked and the badge written in its place, so no text is ever
drawn over text. A fault is a tag at the end of the box's name line, so the counts it changes
stay in sight. A waiting responder, and whatever the story points at, also get a ring that
pulses around the box. They are painted each frame over the still picture, only where the
frame repaints. A broker restart is written under the broker's own box.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPalette, QPen

from eventdeck.gui.models.topology import BROKER_KEY, ScenarioMarks
from eventdeck.gui.presenter.canvas import font
from eventdeck.gui.presenter.flow import requester_key
from eventdeck.gui.presenter.layout import Box, Placement
from eventdeck.gui.presenter.waits import CommandWaits

WAITING_COLOUR = "#f59e0b"  # the commands' orange: it is a command that waits
TIMED_OUT_COLOUR = "#dc2626"
FAULT_COLOUR = "#dc2626"  # a fault is something gone wrong, on purpose: the colour of a failure
HIGHLIGHT_COLOUR = "#8b5cf6"  # violet: no kind of message has it, so a ring never reads as traffic
PULSE_SECONDS = 1.2
RING_GAP = 6  # px between a box and its pulsing ring
BELOW_BROKER = 1.3  # lines under the broker's box for its badge


@dataclass(frozen=True, slots=True)
class Badge:
    key: str  # the node key of the box it sits on (BROKER_KEY: the broker's box)
    text: str  # empty: a ring only
    colour: str
    ring: bool = False  # pulse around the box (a responder at work, what the story points at)
    tag: bool = False  # at the end of the name line, instead of over the last line (a fault)


def wait_badges(waits: CommandWaits, responders: dict[str, list[str]], now: float) -> list[Badge]:
    """Badges for every wait: at each responder (subscription keys by command channel) and at each requester."""
    badges: list[Badge] = []
    for channel, (count, longest) in waits.by_channel(now).items():
        what = "a command" if count == 1 else f"{count} commands"
        badges.extend(
            Badge(key, f"◷ {what} · {longest:.1f} s", WAITING_COLOUR, ring=True) for key in responders.get(channel, ())
        )
    for key, (count, longest) in waits.by_requester(now).items():
        what = "reply" if count == 1 else f"{count} replies"
        badges.append(Badge(key, f"◷ waiting for {what} · {longest:.1f} s", WAITING_COLOUR))
    waiting = {badge.key for badge in badges if not badge.ring}
    for mark in waits.timed_out:
        key = requester_key(mark.command)
        if key not in waiting:  # a fresh wait there says more than an old timeout
            badges.append(Badge(key, f"✗ timed out after {mark.waited:.1f} s", TIMED_OUT_COLOUR))
    return badges


def mark_badges(marks: ScenarioMarks, placement: Placement) -> list[Badge]:
    """A ring on each box the story's step points at, and each fault's words on the box it hits."""
    badges = [Badge(key, "", HIGHLIGHT_COLOUR, ring=True) for key in placement.boxes if marks.highlighted(key)]
    for key in (*placement.boxes, BROKER_KEY):
        text = marks.fault_text(key)
        if text:
            badges.append(Badge(key, text, FAULT_COLOUR, ring=key == BROKER_KEY, tag=True))
    return badges


def _box(placement: Placement, key: str) -> Box | None:
    return placement.broker if key == BROKER_KEY else placement.boxes.get(key)


def badge_area(placement: Placement, badge: Badge) -> QRectF | None:
    """What a frame must repaint for ``badge``: its box and the ring around it."""
    box = _box(placement, badge.key)
    if box is None:
        return None
    grow = RING_GAP + 4
    below = (BELOW_BROKER + 0.2) * placement.unit if badge.key == BROKER_KEY else 0.0
    return QRectF(box.x - grow, box.y - grow, box.width + 2 * grow, box.height + 2 * grow + below)


def paint_badges(
    painter: QPainter, placement: Placement, badges: Iterable[Badge], clock: float, palette: QPalette
) -> None:
    """Each badge on its box's last line; a ring pulsing around the boxes that are at work."""
    unit = placement.unit
    phase = 0.5 + 0.5 * math.sin(2 * math.pi * clock / PULSE_SECONDS)
    for badge in badges:
        box = _box(placement, badge.key)
        if box is None:
            continue
        colour = QColor(badge.colour)
        if badge.ring:
            ring = QColor(colour)
            ring.setAlphaF(0.3 + 0.7 * phase)
            outline = QPainterPath()
            outline.addRoundedRect(
                QRectF(box.x - RING_GAP, box.y - RING_GAP, box.width + 2 * RING_GAP, box.height + 2 * RING_GAP),
                0.4 * unit + RING_GAP,
                0.4 * unit + RING_GAP,
            )
            painter.setPen(QPen(ring, 3))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(outline)
        if badge.key == BROKER_KEY:
            _bottom_line(painter, box, unit, badge)
        elif badge.tag:
            _name_tag(painter, box, unit, badge, palette)
        elif badge.text:
            _last_line(painter, box, unit, badge, palette)


def _name_tag(painter: QPainter, box: Box, unit: float, badge: Badge, palette: QPalette) -> None:
    """The badge at the right end of the box's name line, over the end of a long name (which it hides)."""
    text_font = font(unit, 0.95, bold=True)
    metrics = QFontMetrics(text_font)
    room = box.width - 0.6 * unit
    text = metrics.elidedText(badge.text, Qt.TextElideMode.ElideRight, int(0.6 * room))
    width = metrics.horizontalAdvance(text) + 0.6 * unit
    tag = QRectF(box.x + box.width - 0.3 * unit - width, box.y + 0.15 * unit, width, 1.3 * unit)
    painter.fillRect(tag, palette.color(QPalette.ColorRole.Base))
    painter.setFont(text_font)
    painter.setPen(QColor(badge.colour))
    painter.drawText(tag, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)


def _bottom_line(painter: QPainter, box: Box, unit: float, badge: Badge) -> None:
    """The broker's box: the badge just below it, where nothing else is written."""
    text_font = font(unit, 0.95, bold=True)
    line = QRectF(box.x, box.y + box.height + RING_GAP + 0.2 * unit, box.width, BELOW_BROKER * unit)
    painter.setFont(text_font)
    painter.setPen(QColor(badge.colour))
    elided = QFontMetrics(text_font).elidedText(badge.text, Qt.TextElideMode.ElideRight, int(line.width()))
    painter.drawText(line, int(Qt.AlignmentFlag.AlignCenter), elided)


def _last_line(painter: QPainter, box: Box, unit: float, badge: Badge, palette: QPalette) -> None:
    """Blank the box's last line and write the badge there (a subscription's 4th line, a publisher's 2nd)."""
    subscription = box.height > 3 * unit
    top = box.y + (3.1 if subscription else 1.35) * unit  # below the name line, whose descenders stay whole
    text_font = font(unit, 1.0 if subscription else 0.95, bold=True)
    line = QRectF(box.x + 0.3 * unit, top, box.width - 0.6 * unit, box.y + box.height - 0.15 * unit - top)
    painter.fillRect(line, palette.color(QPalette.ColorRole.Base))
    painter.setFont(text_font)
    painter.setPen(QColor(badge.colour))
    inner = line.adjusted(0.2 * unit, 0, 0, 0)
    elided = QFontMetrics(text_font).elidedText(badge.text, Qt.TextElideMode.ElideRight, int(inner.width()))
    painter.drawText(inner, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), elided)
