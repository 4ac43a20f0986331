"""``eventdeck serve --data DIR``: the broker on a durable store in DIR, or in memory (as said at start-up)."""

from __future__ import annotations

import logging
from pathlib import Path

from eventdeck.core.broker.broker import Broker
from eventdeck.core.store import StoreError, Synchronous

log = logging.getLogger("eventdeck.serve")


async def open_broker(data: Path | None, synchronous: Synchronous = "full") -> Broker | None:
    """The broker ``serve`` runs: on the store in ``data`` (None, logged, if it cannot be used), or in memory."""
    if data is None:
        log.info("no --data directory: the broker keeps everything in memory (gone when serve stops)")
        return Broker()
    try:
        broker = await Broker.on_store(data, synchronous=synchronous)
    except StoreError as exc:
        log.error("cannot start: %s", exc)
        return None
    kept = broker.subscriptions()
    log.info(
        "broker data in %s (synchronous=%s): %d durable subscriptions with %s queued messages brought back",
        broker.store.path if broker.store else data,
        synchronous,
        len(kept),
        f"{sum(info.pending for info in kept):,}",
    )
    return broker
