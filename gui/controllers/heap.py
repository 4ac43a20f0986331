"""Keeping Python's garbage collector from freezing the window under heavy traffic.

The stream holds up to 100,000 messages, and every message record is one the cyclic
collector must walk (its kind and headers are objects the collector tracks). A full
collection then walks the whole heap: 50-60 ms at 20,000 msg/s, long enough for
Mosquitto to drop QoS 1 messages to a monitor that stopped acknowledging.

So the window freezes what is alive every few seconds: frozen objects are still
freed when nothing refers to them (messages are, as the ring evicts them), the
collector just stops re-walking them. What frozen objects cannot have collected is
reference cycles; those are reclaimed by a full collection at a quiet moment
(``collect_when_quiet``), when a pause of that length harms nobody.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

from eventdeck.gui.bridge import Bridge, Snapshot

FREEZE_EVERY_MS = 500
FULL_COLLECTION_EVERY = 60.0  # seconds between cycle clean-ups, when the broker is quiet
QUIET_RATE = 2_000.0  # msg/s below which a full collection is harmless


def freeze_now() -> None:
    """Collect once, then hide everything alive from future collections (after start-up, say)."""
    gc.collect()
    gc.freeze()


class HeapKeeper(QObject):
    """Freezes survivors every 2 s; unfreezes and collects everything once a minute when traffic is low."""

    def __init__(self, bridge: Bridge) -> None:
        super().__init__(bridge)
        self._since_full = 0.0
        self._last_time: float | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(FREEZE_EVERY_MS)
        self._timer.timeout.connect(gc.freeze)
        bridge.snapshot.connect(self.collect_when_quiet)

    def start(self) -> None:
        freeze_now()
        self._timer.start()

    def collect_when_quiet(self, snapshot: Snapshot) -> None:
        if self._last_time is not None:
            self._since_full += snapshot.time - self._last_time
        self._last_time = snapshot.time
        if self._since_full >= FULL_COLLECTION_EVERY and snapshot.publish_rate < QUIET_RATE:
            self._since_full = 0.0
            gc.unfreeze()
            freeze_now()
