"""Which of a session's topic filters can match the same channel (MQTT 5: one copy for all of them).

Kept up to date at SUBSCRIBE and UNSUBSCRIBE, so a delivery pays only when its subscription
overlaps another one of the same client (``ClientSubscription.overlaps`` is empty otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable

from eventdeck.core.gateways.mqtt.session import ClientSubscription


def filters_overlap(first: str, second: str) -> bool:
    """Whether some channel matches both topic filters."""
    a, b = first.split("/"), second.split("/")
    if (a[0][:1] == "$") != (b[0][:1] == "$") and {a[0], b[0]} & {"+", "#"}:
        return False  # a filter starting with a wildcard never matches a $ channel
    for left, right in zip(a, b, strict=False):
        if left == "#" or right == "#":
            return True
        if right not in (left, "+") and left != "+":
            return False
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    # "a" and "a/#" overlap ("#" matches its parent level too); "a" and "a/b" do not.
    return len(longer) == len(shorter) or (len(longer) == len(shorter) + 1 and longer[-1] == "#")


def link(added: ClientSubscription, replaced: ClientSubscription | None, others: Iterable[ClientSubscription]) -> None:
    """``added`` joins ``others`` (taking the place of ``replaced``, the same filter subscribed before)."""
    overlaps = []
    for other in others:
        if other.share is not None or other is added:
            continue
        if replaced is not None and replaced in other.overlaps:
            other.overlaps = tuple(o for o in other.overlaps if o is not replaced)
        if filters_overlap(added.pattern, other.pattern):
            other.overlaps += (added,)
            overlaps.append(other)
    added.overlaps = tuple(overlaps)


def unlink(removed: ClientSubscription) -> None:
    """``removed`` was unsubscribed: the subscriptions it overlapped forget it."""
    for other in removed.overlaps:
        other.overlaps = tuple(o for o in other.overlaps if o is not removed)
    removed.overlaps = ()
