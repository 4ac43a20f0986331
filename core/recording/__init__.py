"""Recordings: messages saved as JSON Lines (``format``) and sent again into a backend (``playback``).

The names below load when first used: ``eventdeck.core`` exports ``RecordingError`` (from ``errors``), and
importing it must not bring in the file format and the replay, which the window needs only once it has painted.
"""

from typing import TYPE_CHECKING

from eventdeck.core.lazy import lazy_exports

if TYPE_CHECKING:
    from eventdeck.core.recording.errors import RecordingError
    from eventdeck.core.recording.format import RecordingWriter, read_recording, write_recording
    from eventdeck.core.recording.playback import ReplayPlan, ReplayProgress, is_replayed, plan_replay, replay

SUFFIX = ".jsonl"
"""A recording's file suffix (here, not in ``format``: the window's drop target needs it before any file work)."""

__all__ = [
    "SUFFIX",
    "RecordingError",
    "RecordingWriter",
    "ReplayPlan",
    "ReplayProgress",
    "is_replayed",
    "plan_replay",
    "read_recording",
    "replay",
    "write_recording",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "eventdeck.core.recording.errors": ("RecordingError",),
        "eventdeck.core.recording.format": ("RecordingWriter", "read_recording", "write_recording"),
        "eventdeck.core.recording.playback": ("ReplayPlan", "ReplayProgress", "is_replayed", "plan_replay", "replay"),
    },
)
