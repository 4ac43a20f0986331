"""The error of recordings: a file that cannot be used, or a replay that had to stop."""

from __future__ import annotations

from eventdeck.core.broker.errors import EventDeckError


class RecordingError(EventDeckError, ValueError):
    """A recording cannot be used (the message names the file, the line and the reason), or its
    replay had to stop (the message says after what)."""
