"""The broker's durable store (SQLite, WAL): durable subscriptions and their messages, retained messages,
declared channels and MQTT persistent sessions, kept under a data directory across restarts and crashes."""

from eventdeck.core.store.errors import StoreError, StoreFull, StoreLocked, StoreRefused
from eventdeck.core.store.pages import StoredState, StoredSubscription
from eventdeck.core.store.store import FILE_NAME, SessionWrite, Store, StoredCounts, Synchronous

__all__ = [
    "FILE_NAME",
    "SessionWrite",
    "Store",
    "StoreError",
    "StoreFull",
    "StoreLocked",
    "StoreRefused",
    "StoredCounts",
    "StoredState",
    "StoredSubscription",
    "Synchronous",
]
