"""A broker restart as the window tells it: one row in the live stream, a few words on the broker's box.

On its durable store the broker keeps durable subscriptions with their queues and its retained
messages; whatever lived in memory only is lost. The stream's row names both, queue by queue
(its tooltip lists every queue); the broker's mark says it in a few words a room can read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QColor

from eventdeck.core import Message

if TYPE_CHECKING:  # the simulation loads with the first scenario, after the window's first paint
    from eventdeck.core.simulation.faults import BrokerRestart

RESTART_CHANNEL = "$eventdeck/restart"  # the stream's row for a broker restart; no broker routes it
RESTART_BACKGROUND = QColor(59, 130, 246, 70)  # blue, translucent: neither traffic's colours nor a failure's red
ROW_QUEUES = 4  # queues the row names; its tooltip has them all
_DETAIL = "x-restart-detail"


def restart_notice(restart: BrokerRestart) -> Message:
    """The stream's row for ``restart``: its payload is the row's text, its tooltip's lines a header."""
    return Message.build(
        RESTART_CHANNEL,
        notice_text(restart),
        content_type="text/plain",
        headers={_DETAIL: notice_detail(restart)},
        publisher="eventdeck",
    )


def restart_detail(message: Message) -> str:
    """The tooltip of a restart's row: every queue kept and lost, one a line."""
    return message.headers.get(_DETAIL, "")


def notice_text(restart: BrokerRestart) -> str:
    """Two lines: what came back from the store, then what was lost with the broker's memory (the row's Channel
    column says "broker")."""
    lost = _lost(restart, ROW_QUEUES)
    if restart.on_store:
        back = _queues(restart.kept, ROW_QUEUES) or ["no durable queue"]
        if restart.retained:
            back.append(_count(restart.retained, "retained message"))
        gone = f"lost (not durable): {', '.join(lost)}" if lost else "nothing else was queued"
        return f"⟳ restarted on its store — back: {', '.join(back)}\n{gone}"
    gone = f"lost: {', '.join(lost)}" if lost else "nothing was queued"
    return f"⟳ restarted in memory — nothing survived\n{gone}"


def notice_detail(restart: BrokerRestart) -> str:
    """Every queue, one a line: the row's tooltip."""
    lines = ["Broker restarted on its durable store." if restart.on_store else "Broker restarted in memory."]
    if restart.on_store:
        lines.append("Back from the store:")
        lines += [f"  {line}" for line in _queues(restart.kept)] or ["  no durable queue"]
        lines.append(f"  {_count(restart.retained, 'retained message')}")
    lost = _lost(restart)
    lines.append("Lost with its memory:" if lost else "Nothing was lost.")
    lines += [f"  {line}" for line in lost]
    return "\n".join(lines)


def mark_words(restart: BrokerRestart | None) -> str:
    """A broker restart in a few words for the broker's box (the badge has the fault's whole description)."""
    if restart is None or not restart.on_store:
        return "restarted: nothing survived"
    kept = len(restart.kept)
    return f"restarted: kept {_count(kept, 'queue')} on disk" if kept else "restarted: no durable queue"


def _queues(counts: dict[str, int], limit: int | None = None) -> list[str]:
    """``name (N queued)`` for each queue, the fullest first; past ``limit`` the rest in one item."""
    fullest = sorted(counts.items(), key=lambda item: -item[1])
    shown = fullest if limit is None else fullest[:limit]
    words = [f"{name} ({count:,} queued)" for name, count in shown]
    rest = fullest[len(shown) :]
    if rest:
        words.append(f"{len(rest):,} more ({sum(count for _name, count in rest):,} queued)")
    return words


def _lost(restart: BrokerRestart, limit: int | None = None) -> list[str]:
    """What ``restart`` lost: queues, then commands, delayed messages and (in memory) retained ones, if any."""
    counts = [(restart.requests, "pending command"), (restart.delayed, "delayed message")]
    if not restart.on_store:
        counts.append((restart.retained, "retained message"))
    return _queues(restart.lost, limit) + [_count(count, noun) for count, noun in counts if count]


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"
