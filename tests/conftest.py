"""Shared test setup: Qt runs offscreen everywhere, so the suite needs no display."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
