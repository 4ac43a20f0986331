"""The bundle's entry point: what the ``eventdeck`` console script runs, as a script PyInstaller can freeze."""

import os
import sys
from pathlib import Path

from eventdeck.gui.app import main

if __name__ == "__main__":
    probe = os.environ.get("EVENTDECK_STARTUP_PROBE")
    if probe:  # tests/benchmarks/startup.py --binary: its first-paint watcher, as it runs around the source
        exec(compile(Path(probe).read_text(encoding="utf-8"), probe, "exec"), {"__name__": "startup_probe"})
    sys.exit(main())
