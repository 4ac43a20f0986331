"""The bundle's entry point: what the ``eventdeck`` console script runs, as a script PyInstaller can freeze."""

import sys

from eventdeck.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
