"""The connection manager: which broker the window shows, connect, and back to the embedded broker.

``ConnectionsController`` switches the window's broker and keeps its status label current; its dialog
(saved profiles, see ``connections_dialog``) is loaded when first opened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QStandardPaths, Signal
from PySide6.QtWidgets import (
    QLabel,
)

from eventdeck.core.broker.errors import EventDeckError
from eventdeck.core.connectors import ConnectorError, backend_for, backend_from_url
from eventdeck.core.connectors.backend import Backend, ConnectionState, Status
from eventdeck.core.connectors.profiles import Profile, ProfileStore
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.controllers.host import WindowHost
from eventdeck.gui.widgets.banner import Banner

if TYPE_CHECKING:
    from eventdeck.gui.controllers.connections_dialog import ConnectionsDialog

log = logging.getLogger(__name__)


def default_profiles_path() -> Path:
    """Where saved connection profiles live (the user's config folder for this app)."""
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppConfigLocation)
    return Path(folder or Path.home() / ".config" / "EventDeck") / "connections.json"


class ConnectionsController(QObject):
    """Which broker the window shows: the embedded one, or a connector; says so in its status label.

    A connection that fails stays in view on :attr:`banner` (with Retry) until it succeeds or is
    dismissed, and is logged, so a ``--connect`` typo is seen on the terminal too.
    """

    banner_changed = Signal(bool)  # whether the banner has a failure to show

    def __init__(self, bridge: Bridge, host: WindowHost, profiles: ProfileStore) -> None:
        super().__init__(host.window)
        self._bridge = bridge
        self._host = host
        self.profiles = profiles
        self.embedded = bridge.backend  # the in-process broker, kept while another one is shown
        self.dialog: ConnectionsDialog | None = None
        self.label = QLabel()
        self.label.setObjectName("status_connection")
        self.label.setToolTip("Which broker the window shows (File > Connections…)")
        self.action = host.action("connectionsAction", "Connections…", "connect", "Ctrl+K")
        self.action.triggered.connect(self.show_dialog)
        self.banner = Banner("connectionBanner")
        self.retry_button = self.banner.button("connectionRetry", "Retry")
        self.dismiss_button = self.banner.button("connectionDismiss", "Stay on the embedded broker")
        self.retry_button.clicked.connect(self.retry)
        self.dismiss_button.clicked.connect(lambda: self._set_failure(None))
        self.failure: str | None = None
        self._last: Callable[[], Backend] | None = None  # how the last attempt made its backend, for Retry
        bridge.status_changed.connect(self._on_status)
        self._on_status(bridge.backend.status)

    def _set_failure(self, text: str | None) -> None:
        self.failure = text
        self.banner.message.setText(text or "")
        self.banner_changed.emit(text is not None)

    def retry(self) -> None:
        """Try the connection that failed last once more."""
        if self._last is not None:
            self._connect_made(self._last)

    def show_dialog(self) -> None:
        # keyring (and its backends) loads on the first visit to the dialog, not at start; the dialog too
        from eventdeck.core.connectors.credentials import CredentialStore  # noqa: PLC0415
        from eventdeck.gui.controllers.connections_dialog import ConnectionsDialog  # noqa: PLC0415

        dialog = ConnectionsDialog(self.profiles, CredentialStore(), self._host.window)
        dialog.connect_requested.connect(self._connect_profile)
        dialog.embedded_requested.connect(self.use_embedded)
        dialog.show()  # modeless: the stream keeps flowing and stays clickable behind it
        self.dialog = dialog

    def _connect_profile(self, profile: Profile, password: str | None) -> None:
        self._connect_made(lambda: backend_for(profile.endpoint(password)))

    def connect_url(self, url: str, context: str = "") -> None:
        """Connect to ``url``; a URL EventDeck cannot use is said in the status bar after ``context``."""
        self._connect_made(lambda: backend_from_url(url), context)

    def _connect_made(self, make: Callable[[], Backend], context: str = "") -> None:
        self._last = make
        try:
            backend = make()
        except ConnectorError as exc:
            self._fail(f"{context}{exc}")
            return
        self.connect_to(backend)

    def _fail(self, text: str) -> None:
        log.error("%s", text)
        self._host.error(text)
        self._set_failure(f"{text}. The window shows the embedded broker meanwhile.")

    def connect_to(self, backend: Backend) -> None:
        """Connect ``backend`` and show it; on failure say why and stay where we are."""
        self.label.setText(f"connecting to {backend.name}…")
        self._bridge.spawn(self._connect(backend), f"connecting to {backend.name}")

    async def _connect(self, backend: Backend) -> None:
        try:
            await backend.start()
        except EventDeckError as exc:
            self._on_status(self._bridge.backend.status)
            self._fail(f"Cannot connect to {backend.name}: {exc}")
            if self.dialog is not None and self.dialog.isVisible():
                self.dialog.error.setText(str(exc))
            return
        self._set_failure(None)
        await self._show(backend)
        self._host.say(f"Connected to {backend.name}", 5000)

    def use_embedded(self) -> None:
        """Back to the in-process broker (the connector, if any, is disconnected)."""
        self._bridge.spawn(self._show(self.embedded), "switching to the embedded broker")

    async def _show(self, backend: Backend) -> None:
        previous = self._bridge.backend
        self._bridge.set_backend(backend)
        if previous is not self.embedded and previous is not backend:
            await previous.stop()

    async def disconnect_backend(self) -> None:
        """Stop the connector that is shown, if any (the window is closing)."""
        if self._bridge.backend is not self.embedded:
            await self._bridge.backend.stop()

    def _on_status(self, status: Status) -> None:
        backend = self._bridge.backend
        where = "embedded broker" if backend is self.embedded else backend.name
        text = where if status.state is ConnectionState.CONNECTED else f"{where}: {status.state.value}"
        self.label.setText(text)
        self.label.setToolTip(status.detail or text)
        if status.state in (ConnectionState.RECONNECTING, ConnectionState.FAILED) and status.detail:
            self._host.error(status.detail)
