"""What the first frame does not need is not loaded before it: the window paints first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Loaded when first used (File > Connections…, a connector, the gateways once the window shows, the
# scenario and its document once it has painted, a virtual subscriber, --version).
DEFERRED = (
    "keyring",
    "aiohttp",
    "eventdeck.core.connectors.credentials",
    "eventdeck.core.connectors.mqtt",
    "eventdeck.core.connectors.amqp",
    "eventdeck.core.connectors.nats",
    "eventdeck.core.connectors.redis",
    "eventdeck.core.connectors.kafka",
    "eventdeck.core.gateways.http.server",
    "eventdeck.core.gateways.mqtt.server",
    "yaml",
    "jsonschema",
    "jsonschema_rs",
    "urllib.request",
    "importlib.metadata",
    "eventdeck.core.asyncapi.loader",
    "eventdeck.core.asyncapi.normalise",
    "eventdeck.core.asyncapi.validate",
    "eventdeck.core.simulation.workspace",
    "eventdeck.core.simulation.simulation",
    "eventdeck.core.simulation.scenario",
    "eventdeck.core.simulation.virtual",
)

FIRST_PAINT_PROBE = """
import os, sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget

app = QApplication(sys.argv[:1])
deferred = sys.argv[1:]

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and isinstance(obj, QWidget) and isinstance(obj.window(), QMainWindow):
            print("LOADED", sorted(name for name in deferred if name in sys.modules), flush=True)
            os._exit(0)
        return False

watcher = FirstPaint()
app.installEventFilter(watcher)
from eventdeck.gui.app import main
sys.exit(main([]))
"""


def test_first_paint_loads_no_connector_gateway_or_scenario_loader(tmp_path: Path) -> None:
    # a first launch: the demo scenario runs, as in tests/benchmarks/startup.py
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path))
    probe = subprocess.run(
        [sys.executable, "-c", FIRST_PAINT_PROBE, *DEFERRED],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    assert "LOADED []" in probe.stdout.splitlines(), probe.stdout
