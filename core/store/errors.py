"""The store's errors: each names the file or directory and says why, and what to do about it."""

from __future__ import annotations

from eventdeck.core.broker.errors import EventDeckError


class StoreError(EventDeckError, RuntimeError):
    """The broker's data directory cannot be used (base of the errors below)."""


class StoreLocked(StoreError):  # noqa: N818 - named like the broker's PayloadTooLarge
    """Another process has the data directory open."""


class StoreRefused(StoreError):  # noqa: N818
    """The database file is corrupt, foreign (not EventDeck's) or from a newer EventDeck: left untouched."""


class StoreFull(StoreError):  # noqa: N818
    """The database reached its size cap: durable messages are refused until consumers catch up."""

    def __init__(self, path: str, size: int, limit: int) -> None:
        super().__init__(
            f"the broker's store {path} is full ({size:,} of {limit:,} bytes): durable messages are refused "
            "until their consumers catch up, or start with a larger cap"
        )
        self.size = size
        self.limit = limit
