"""Recordings: messages saved as JSON Lines (``format``) and sent again into a backend (``playback``)."""

from eventdeck.core.recording.errors import RecordingError
from eventdeck.core.recording.format import SUFFIX, RecordingWriter, read_recording, write_recording
from eventdeck.core.recording.playback import ReplayPlan, ReplayProgress, is_replayed, plan_replay, replay

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
