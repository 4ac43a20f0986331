"""One composed message, the ways to send it through a backend, and what to say about it (no Qt here).

Send and Repeat both go through these, so both reach whatever broker the window shows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from eventdeck.core import EventDeckError, Kind, Message, NoResponderError, RequestTimeout
from eventdeck.core.broker.broker import Receipt
from eventdeck.core.connectors.backend import Backend
from eventdeck.gui.models.payload_check import one_line
from eventdeck.gui.widgets.small import plural

log = logging.getLogger(__name__)

PUBLISHER = "composer"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one send: a line for the composer, and one for the status bar (None: nothing went out)."""

    result: str
    status: str | None = None
    error: bool = False


@dataclass(frozen=True, slots=True)
class Composed:
    """The composer's fields at the moment Send or Repeat was pressed."""

    channel: str
    payload: bytes
    kind: Kind = Kind.EVENT
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    retain: bool = False  # events only
    reply_timeout: float = 5.0  # commands only
    publisher: str = PUBLISHER

    async def publish(self, backend: Backend) -> Receipt | None:
        """Publish as an event; the receipt is None when a real broker does not say who got it."""
        return await backend.publish(
            self.channel,
            self.payload,
            kind=Kind.EVENT,
            headers=self.headers,
            content_type=self.content_type,
            retain=self.retain,
            publisher=self.publisher,
        )

    async def request(self, backend: Backend) -> Message:
        """Send as a command and await its reply (``RequestTimeout``, ``NoResponderError`` otherwise)."""
        return await backend.request(
            self.channel,
            self.payload,
            timeout=self.reply_timeout,
            headers=self.headers,
            content_type=self.content_type,
            publisher=self.publisher,
        )

    async def send(self, backend: Backend) -> Outcome:
        """Publish an event or send a command and await its reply; never raises ``EventDeckError``."""
        if self.kind is Kind.COMMAND:
            return await self._command(backend)
        channel = self.channel
        try:
            receipt = await self.publish(backend)
        except EventDeckError as exc:
            log.warning("composer: publish to %s failed: %s", channel, exc)
            return Outcome(f"Not sent: {exc}", error=True)
        if receipt is None:  # a real broker does not say who got it
            who = "handed to the broker"
        elif receipt.queued == 0:
            who = "nobody is subscribed"
        else:
            who = f"{plural(receipt.queued, 'subscription')} queued it"
        retained = ", retained" if self.retain else ""
        return Outcome(f"Event sent to {channel}{retained}: {who}", f"Event sent to {channel} ({who})")

    async def _command(self, backend: Backend) -> Outcome:
        channel = self.channel
        started = time.perf_counter()
        try:
            reply = await self.request(backend)
        except NoResponderError:
            return Outcome(f"No handler for {channel}", f"Command to {channel}: no handler", error=True)
        except RequestTimeout as exc:
            status = f"Command to {channel}: timed out after {exc.elapsed:.3g} s"
            return Outcome(f"Timed out after {exc.elapsed:.1f} s", status, error=True)
        except EventDeckError as exc:
            log.warning("composer: command to %s failed: %s", channel, exc)
            return Outcome(f"Not sent: {exc}", error=True)
        latency = (time.perf_counter() - started) * 1000
        preview = one_line(reply.text(), 90) or "(empty payload)"
        return Outcome(f"Reply in {latency:.1f} ms: {preview}", f"Command to {channel}: reply in {latency:.1f} ms")
