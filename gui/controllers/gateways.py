"""The gateways in the window: a status-bar summary, a banner when one cannot start, and settings.

A taken port never stops the window from opening: the banner names the reason and
offers a free port nearby (one click), or switching that gateway off.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from eventdeck.core.gateways.controller import Gateways, GatewayState, free_port_near
from eventdeck.core.gateways.listen import DEFAULT_HTTP_PORT, DEFAULT_MQTT_PORT, ListenAddress, parse_listen_address
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.widgets.banner import Banner

DEFAULT_PORTS = {"MQTT": DEFAULT_MQTT_PORT, "HTTP": DEFAULT_HTTP_PORT}
SETTING_KEYS = {"MQTT": "gateways/mqtt", "HTTP": "gateways/http"}


def listen_address_text(address: ListenAddress | None) -> str:
    return "off" if address is None else str(address)


class GatewaysController(QObject):
    """Runs the core ``Gateways`` for the window and tells the widgets what they are doing."""

    changed = Signal(list)  # list[GatewayState]
    client_event = Signal(str)  # "mqtt client 'x' from 127.0.0.1:5000 connected"

    def __init__(self, bridge: Bridge, gateways: Gateways, settings: QSettings) -> None:
        super().__init__(bridge)
        self._bridge = bridge
        self.gateways = gateways
        self.settings = settings
        gateways.on_client = self.client_event.emit

    def states(self) -> list[GatewayState]:
        return self.gateways.states()

    async def start(self) -> None:
        self.changed.emit(await self.gateways.start())

    def move(self, name: str, endpoint: ListenAddress | None) -> None:
        """Restart gateway ``name`` at ``endpoint`` (None: off) and remember the choice."""
        self.settings.setValue(SETTING_KEYS[name], listen_address_text(endpoint))
        self._bridge.spawn(self._move(name, endpoint), f"moving the {name} gateway")

    async def _move(self, name: str, endpoint: ListenAddress | None) -> None:
        await self.gateways.restart(name, endpoint)
        self.changed.emit(self.gateways.states())


class GatewayBanner(Banner):
    """The first gateway that failed to start, with the way out next to it.

    ``has_problem`` says whether there is anything to show; the window shows or hides the
    toolbar that holds the banner (widgets inside a toolbar must not be hidden themselves).
    """

    def __init__(self, controller: GatewaysController, parent: QWidget | None = None) -> None:
        super().__init__("gatewayBanner", parent)
        self._controller = controller
        self.use_port = self.button("gatewayUsePort")
        self.switch_off = self.button("gatewayTurnOff", "Turn it off")
        self._failed: GatewayState | None = None
        self._offer = 0
        self.use_port.clicked.connect(self._use_offer)
        self.switch_off.clicked.connect(self._turn_off)
        controller.changed.connect(self.show_states)

    @property
    def has_problem(self) -> bool:
        return self._failed is not None

    def show_states(self, states: list[GatewayState]) -> None:
        self._failed = next((state for state in states if state.error and state.endpoint is not None), None)
        if self._failed is None or self._failed.endpoint is None:
            return
        endpoint = self._failed.endpoint
        self._offer = free_port_near(endpoint.host, endpoint.port)
        self.message.setText(f"{self._failed.error}. The window works without it; clients cannot connect yet.")
        self.use_port.setText(f"Use port {self._offer}")
        self.use_port.setToolTip(f"Start the {self._failed.name} gateway on {endpoint.host}:{self._offer}")

    def _use_offer(self) -> None:
        if self._failed is not None and self._failed.endpoint is not None:
            self._controller.move(self._failed.name, ListenAddress(self._failed.endpoint.host, self._offer))

    def _turn_off(self) -> None:
        if self._failed is not None:
            self._controller.move(self._failed.name, None)


class GatewaySettings(QDialog):
    """Where the MQTT and HTTP gateways listen ("off" switches one off). Shown with open(), never exec()."""

    def __init__(self, controller: GatewaysController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gatewaySettings")
        self.setWindowTitle("Gateways")
        self._controller = controller
        self.edits: dict[str, QLineEdit] = {}
        form = QFormLayout(self)
        form.addRow(QLabel("Where real clients reach the embedded broker: HOST:PORT, or off."))
        for state in controller.states():
            edit = QLineEdit(listen_address_text(state.endpoint))
            edit.setObjectName(f"gateway{state.name.title()}")
            edit.setPlaceholderText(f"127.0.0.1:{DEFAULT_PORTS[state.name]} or off")
            self.edits[state.name] = edit
            form.addRow(f"{state.name} gateway", edit)
        self.error = QLabel()
        self.error.setObjectName("gatewaySettingsError")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setStyleSheet("color: #dc2626;")
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Apply | QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Apply).setObjectName("gatewayApply")
        buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        buttons.rejected.connect(self.close)
        form.addRow(buttons)

    def apply(self) -> bool:
        """Move every gateway whose endpoint changed; on a typo, say what is wrong and move none."""
        wanted: dict[str, ListenAddress | None] = {}
        for name, edit in self.edits.items():
            try:
                wanted[name] = parse_listen_address(edit.text(), DEFAULT_PORTS[name])
            except ValueError as exc:
                self.error.setText(f"{name}: {exc}")
                return False
        self.error.clear()
        current = {state.name: state for state in self._controller.states()}
        for name, endpoint in wanted.items():
            state = current[name]
            if endpoint != state.endpoint or state.error:
                self._controller.move(name, endpoint)
        return True


def listen_address_from_settings(settings: QSettings, name: str, given: str | None) -> ListenAddress | None:
    """Where gateway ``name`` listens: the command line's ``given`` text wins, then the saved choice."""
    text = given if given is not None else str(settings.value(SETTING_KEYS[name], f"127.0.0.1:{DEFAULT_PORTS[name]}"))
    try:
        return parse_listen_address(text, DEFAULT_PORTS[name])
    except ValueError:  # a hand-edited settings file: fall back to the default
        return ListenAddress("127.0.0.1", DEFAULT_PORTS[name])
