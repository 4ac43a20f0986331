"""Guard against the PySide6 6.12.0 bug that made every Signal.emit() steal a reference to True.

On Python 3.11 that aborts the process after enough signals ("bool_dealloc"); the
dependency pin excludes that release, and this test fails if a bad one comes back.
"""

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal()


def test_emitting_signals_keeps_reference_counts() -> None:
    emitter = _Emitter()
    before = sys.getrefcount(True)
    for _ in range(1_000):
        emitter.fired.emit()
    # The bug lowers the count by one per emit; allow a little unrelated noise.
    assert abs(sys.getrefcount(True) - before) < 50
