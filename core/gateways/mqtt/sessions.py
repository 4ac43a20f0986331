"""The gateway's sessions: the persistent ones kept while their clients are away, and delayed wills.

A persistent session outlives its connection until it expires, or until too many others are
away too (``MqttLimits.max_offline_sessions``: the oldest goes first). A will with a Will Delay
Interval is published when the delay has passed or when the session ends, whichever comes first,
and not at all if the client is back on its session in time (MQTT 5 3.1.3.2.2).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from eventdeck.core.gateways.mqtt.actions import PublishToBroker
from eventdeck.core.gateways.mqtt.limits import MqttLimits
from eventdeck.core.gateways.mqtt.session import SessionState
from eventdeck.core.gateways.mqtt.session_records import SessionImage, restored_session

if TYPE_CHECKING:
    from eventdeck.core.store import SessionWrite, Store, StoredState

log = logging.getLogger("eventdeck.mqtt")


class SessionStore:
    """Every session by client id; ``release`` gives up a dropped session's subscriptions in the broker.

    With a ``durable`` store the persistent sessions are written there (``keep``) and come back
    from it (``restore``) when a gateway starts on a broker opened on the same data directory.
    """

    def __init__(
        self,
        limits: MqttLimits,
        release: Callable[[SessionState], None],
        publish_will: Callable[[PublishToBroker], None],
        durable: Store | None = None,
    ) -> None:
        self.limits = limits
        self.sessions: dict[str, SessionState] = {}
        self.offline: dict[str, SessionState] = {}  # persistent sessions without a connection, oldest first
        self.offline_dropped = 0  # offline sessions dropped to stay within max_offline_sessions
        self._release = release
        self._publish_will = publish_will
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self._wills: dict[str, tuple[PublishToBroker, asyncio.TimerHandle]] = {}
        self._durable = durable
        self._kept: dict[str, SessionImage] = {}  # client ids with a session in the durable store: what it holds
        self._away_since: dict[str, float] = {}  # client id -> when its client left (wall clock, for the store)

    def keep(self, session: SessionState) -> None:
        """Write ``session`` to the durable store with this loop turn's changes (nothing without a store,
        or for a session that ends with its connection)."""
        if self._durable is None or session.expiry <= 0:
            return
        client_id = session.client_id
        image = self._kept.get(client_id)
        if image is None:
            image = self._kept[client_id] = SessionImage()
        self._durable.put_session_later(client_id, partial(self._changes, image, session))

    def _changes(self, image: SessionImage, session: SessionState) -> SessionWrite:
        return image.changes(session, self._away_since.get(session.client_id))

    def restore(self, stored: StoredState, attach: Callable[[SessionState], None]) -> None:
        """Bring back the persistent sessions a durable store kept: away (their expiry counted from when
        their client left), ``attach`` giving each its broker subscriptions. One past its expiry ends."""
        now = time.time()
        for client_id, record in stored.sessions.items():
            items = stored.session_items.get(client_id, {})
            try:
                session = restored_session(client_id, record, items)
            except ValueError as exc:
                log.error("MQTT gateway: %s; the client starts on a new session", exc)
                continue
            attach(session)
            self.sessions[client_id] = session
            self._kept[client_id] = SessionImage(session.inflight)
            away_since = record.get("away_since")
            if not isinstance(away_since, (int, float)):  # connected when the broker stopped: it left then, unknown
                away_since = now
            left = session.expiry - (now - away_since)
            if left <= 0:
                self.drop(session)
            else:
                self._away_since[client_id] = away_since
                self.away(session, left)

    def back(self, client_id: str) -> None:
        """The client is back on its session: it no longer expires, and its delayed will is not sent."""
        handle = self._expiry.pop(client_id, None)
        if handle is not None:
            handle.cancel()
        will = self._wills.pop(client_id, None)
        if will is not None:
            will[1].cancel()
        self.offline.pop(client_id, None)
        self._away_since.pop(client_id, None)

    def away(self, session: SessionState, left: float | None = None) -> None:
        """``session`` lives on without a connection until it expires (in ``left`` seconds, by default its
        expiry), or until too many others do too."""
        client_id = session.client_id
        loop = asyncio.get_running_loop()
        self._expiry[client_id] = loop.call_later(session.expiry if left is None else left, self._expire, session)
        self._away_since.setdefault(client_id, time.time())
        self.keep(session)
        self.offline.pop(client_id, None)
        self.offline[client_id] = session
        if len(self.offline) > self.limits.max_offline_sessions:
            oldest = next(iter(self.offline.values()))
            self.drop(oldest)
            self.offline_dropped += 1
            if self.offline_dropped == 1:  # once: a client farm would otherwise log a line per session
                log.warning(
                    "MQTT gateway: more than %d offline sessions; dropping the oldest ones (first: %r)",
                    self.limits.max_offline_sessions,
                    oldest.client_id,
                )

    def will_later(self, client_id: str, will: PublishToBroker, delay: float) -> None:
        """Publish ``will`` after ``delay`` seconds unless the client is back (or sooner, if its session ends)."""
        handle = asyncio.get_running_loop().call_later(delay, self._will_due, client_id)
        self._wills[client_id] = (will, handle)

    def drop(self, session: SessionState) -> None:
        """``session`` ends: its subscriptions go, and a will still waiting for its delay is published now."""
        client_id = session.client_id
        self._release(session)
        if self._durable is not None and client_id in self._kept:
            del self._kept[client_id]
            self._away_since.pop(client_id, None)
            self._durable.drop_session(client_id)
        if self.sessions.get(client_id) is session:
            del self.sessions[client_id]
        if self.offline.get(client_id) is session:
            del self.offline[client_id]
            handle = self._expiry.pop(client_id, None)
            if handle is not None:
                handle.cancel()
        self._will_due(client_id)

    def close(self) -> None:
        """The gateway stops: timers end, and the wills still waiting for their delay go out now."""
        for handle in self._expiry.values():
            handle.cancel()
        self._expiry.clear()
        for client_id in list(self._wills):
            self._will_due(client_id)

    def _expire(self, session: SessionState) -> None:
        self._expiry.pop(session.client_id, None)
        if session.owner is None:
            self.drop(session)

    def _will_due(self, client_id: str) -> None:
        will = self._wills.pop(client_id, None)
        if will is not None:
            will[1].cancel()
            self._publish_will(will[0])
