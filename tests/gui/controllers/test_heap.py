"""HeapKeeper: frozen survivors, and a full collection (cycles reclaimed) only when traffic is quiet."""

from __future__ import annotations

import gc
import weakref

from eventdeck.core import BrokerStats
from eventdeck.gui.bridge import Bridge, Snapshot
from eventdeck.gui.controllers.heap import FULL_COLLECTION_EVERY, QUIET_RATE, HeapKeeper


class Cycle:
    def __init__(self) -> None:
        self.me = self


def snapshot_at(time: float, rate: float) -> Snapshot:
    return Snapshot(time, [], [], BrokerStats(time, 0, 0, 0, 0, 0, 0), publish_rate=rate)


def test_cycles_frozen_under_load_are_reclaimed_once_it_is_quiet(bridge: Bridge) -> None:
    keeper = HeapKeeper(bridge)
    keeper.start()
    try:
        cycle = Cycle()
        gone = weakref.ref(cycle)
        del cycle
        gc.freeze()  # as the 2 s timer does: the cycle is now out of the collector's sight
        gc.collect()
        assert gone() is not None  # frozen: not collected
        keeper.collect_when_quiet(snapshot_at(0.0, QUIET_RATE * 10))
        keeper.collect_when_quiet(snapshot_at(FULL_COLLECTION_EVERY + 1, QUIET_RATE * 10))
        assert gone() is not None  # a minute passed, but traffic is heavy: no full pause now
        keeper.collect_when_quiet(snapshot_at(FULL_COLLECTION_EVERY + 2, 0.0))
        assert gone() is None  # quiet: unfrozen, collected, frozen again
    finally:
        gc.unfreeze()
