"""File > Connections… (``connectionsDialog``): edit, save and pick broker profiles.

Profiles are JSON in the app's config folder without passwords; a password goes to the
system keyring when one is usable, otherwise it is asked each time and kept in memory
for this session only. The dialog is non-modal (``show()``), so the stream keeps flowing.
Loaded when first opened (``ConnectionsController.show_dialog``), not before the window's first paint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from eventdeck.core.connectors import KINDS, ConnectorError
from eventdeck.core.connectors.address import SCHEMES, TLSOptions
from eventdeck.core.connectors.profiles import Profile, ProfileStore

if TYPE_CHECKING:
    from eventdeck.core.connectors.credentials import CredentialStore

DEFAULT_PORTS = {kind: port for _, (kind, port, tls) in SCHEMES.items() if not tls}
KIND_NAMES = {"mqtt": "MQTT", "amqp": "RabbitMQ (AMQP 0-9-1)", "nats": "NATS", "redis": "Redis", "kafka": "Kafka"}
VHOST_LABELS = {"amqp": "Virtual host", "redis": "Database", "mqtt": "", "nats": "", "kafka": ""}


class ConnectionsDialog(QDialog):
    """Edit, save and pick broker profiles; emits what the window should connect to."""

    connect_requested = Signal(object, object)  # Profile, password (str | None)
    embedded_requested = Signal()

    def __init__(self, store: ProfileStore, credentials: CredentialStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionsDialog")
        self.setWindowTitle("Connections")
        self.store = store
        self.credentials = credentials
        self.session_passwords: dict[str, str] = {}  # when there is no keyring: this session only

        self.list = QListWidget()
        self.list.setObjectName("connectionsList")
        self.list.currentTextChanged.connect(self._show_profile)
        new_button = QPushButton("New")
        new_button.setObjectName("connectionsNew")
        new_button.clicked.connect(self.new_profile)
        delete_button = QPushButton("Delete")
        delete_button.setObjectName("connectionsDelete")
        delete_button.clicked.connect(self.delete_profile)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(new_button)
        row.addWidget(delete_button)
        left.addLayout(row)

        self.name = self._edit("connectionName", "e.g. staging RabbitMQ")
        self.kind = QComboBox()
        self.kind.setObjectName("connectionKind")
        for kind in KINDS:
            self.kind.addItem(KIND_NAMES[kind], kind)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.host = self._edit("connectionHost", "127.0.0.1")
        self.port = QSpinBox()
        self.port.setObjectName("connectionPort")
        self.port.setRange(1, 65535)
        self.vhost = self._edit("connectionVhost", "")
        self.vhost_label = QLabel()
        self.username = self._edit("connectionUser", "optional")
        self.password = self._edit("connectionPassword", "optional")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox("Keep the password in the system keyring")
        self.remember.setObjectName("connectionRemember")
        if not credentials.available:
            self.remember.setEnabled(False)
            self.remember.setToolTip(credentials.reason)
            self.remember.setText("Password asked each time (no system keyring)")

        self.tls = QGroupBox("TLS")
        self.tls.setObjectName("connectionTls")
        self.tls.setCheckable(True)
        self.tls.setChecked(False)
        self.ca_file = self._edit("connectionCaFile", "CA certificate file (PEM), optional")
        self.cert_file = self._edit("connectionCertFile", "client certificate (PEM), optional")
        self.key_file = self._edit("connectionKeyFile", "client key (PEM), optional")
        self.verify = QCheckBox("Verify the server's certificate")
        self.verify.setObjectName("connectionVerify")
        self.verify.setChecked(True)
        tls_form = QFormLayout(self.tls)
        tls_form.addRow("CA file", self.ca_file)
        tls_form.addRow("Client cert", self.cert_file)
        tls_form.addRow("Client key", self.key_file)
        tls_form.addRow(self.verify)

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Broker", self.kind)
        form.addRow("Host", self.host)
        form.addRow("Port", self.port)
        form.addRow(self.vhost_label, self.vhost)
        form.addRow("User name", self.username)
        form.addRow("Password", self.password)
        form.addRow(self.remember)
        form.addRow(self.tls)

        self.error = QLabel()
        self.error.setObjectName("connectionError")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #dc2626;")
        save = QPushButton("Save")
        save.setObjectName("connectionSave")
        save.clicked.connect(self.save_profile)
        self.connect_button = QPushButton("Connect")
        self.connect_button.setObjectName("connectionConnect")
        self.connect_button.setDefault(True)
        self.connect_button.clicked.connect(self.connect_profile)
        embedded = QPushButton("Use the embedded broker")
        embedded.setObjectName("connectionEmbedded")
        embedded.clicked.connect(self.embedded_requested.emit)
        buttons = QHBoxLayout()
        buttons.addWidget(embedded)
        buttons.addStretch(1)
        buttons.addWidget(save)
        buttons.addWidget(self.connect_button)

        right = QVBoxLayout()
        right.addLayout(form)
        right.addWidget(self.error)
        right.addStretch(1)
        right.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(right, 2)
        self.resize(720, 460)
        self._kind_changed()
        self.reload()

    @staticmethod
    def _edit(name: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        return edit

    # -- profiles ----------------------------------------------------------

    def reload(self) -> None:
        try:
            names = [profile.name for profile in self.store.load()]
        except ConnectorError as exc:
            self.error.setText(str(exc))
            names = []
        self.list.clear()
        self.list.addItems(names)
        if names:
            self.list.setCurrentRow(0)
        else:
            self.new_profile()

    def new_profile(self) -> None:
        self.list.clearSelection()
        self.name.clear()
        self.host.setText("127.0.0.1")
        self.kind.setCurrentIndex(0)
        self._kind_changed()
        self.vhost.clear()
        self.username.clear()
        self.password.clear()
        self.tls.setChecked(False)
        self.error.clear()
        self.name.setFocus()

    def _show_profile(self, name: str) -> None:
        profile = self.store.get(name) if name else None
        if profile is None:
            return
        self.name.setText(profile.name)
        self.kind.setCurrentIndex(KINDS.index(profile.kind))
        self.host.setText(profile.host)
        self.port.setValue(profile.port)
        self.vhost.setText(profile.vhost)
        self.username.setText(profile.username or "")
        self.password.setText(self._known_password(profile.name) or "")
        self.tls.setChecked(profile.tls.enabled)
        self.ca_file.setText(profile.tls.ca_file or "")
        self.cert_file.setText(profile.tls.cert_file or "")
        self.key_file.setText(profile.tls.key_file or "")
        self.verify.setChecked(profile.tls.verify)
        self.error.clear()

    def _kind_changed(self) -> None:
        kind = str(self.kind.currentData())
        self.port.setValue(DEFAULT_PORTS[kind])
        label = VHOST_LABELS[kind]
        self.vhost_label.setText(label)
        self.vhost_label.setVisible(bool(label))
        self.vhost.setVisible(bool(label))
        self.vhost.setPlaceholderText({"amqp": "/", "redis": "0"}.get(kind, ""))

    def profile(self) -> Profile:
        """The profile as the form says; ``ConnectorError`` naming what is missing or wrong."""
        tls = TLSOptions(
            enabled=self.tls.isChecked(),
            ca_file=self.ca_file.text().strip() or None,
            cert_file=self.cert_file.text().strip() or None,
            key_file=self.key_file.text().strip() or None,
            verify=self.verify.isChecked(),
        )
        return Profile(
            self.name.text().strip() or f"{self.kind.currentData()}://{self.host.text().strip()}",
            str(self.kind.currentData()),
            self.host.text().strip(),
            self.port.value(),
            vhost=self.vhost.text().strip() if self.vhost.isVisible() else "",
            username=self.username.text().strip() or None,
            tls=tls,
        )

    def save_profile(self) -> Profile | None:
        try:
            profile = self.profile()
            self.store.put(profile)
            self._keep_password(profile.name)
        except ConnectorError as exc:
            self.error.setText(str(exc))
            return None
        self.error.clear()
        current = profile.name
        self.reload()
        matches = self.list.findItems(current, Qt.MatchFlag.MatchExactly)
        if matches:
            self.list.setCurrentItem(matches[0])
        return profile

    def delete_profile(self) -> None:
        row = self.list.currentRow()
        if row < 0:
            return
        name = self.list.item(row).text()
        try:
            self.store.remove(name)
            self.credentials.delete(name)
        except ConnectorError as exc:
            self.error.setText(str(exc))
            return
        self.session_passwords.pop(name, None)
        self.reload()

    def connect_profile(self) -> None:
        """Save the form and ask the window to connect to it."""
        profile = self.save_profile()
        if profile is not None:
            self.connect_requested.emit(profile, self.password.text() or self._known_password(profile.name))

    def _keep_password(self, name: str) -> None:
        password = self.password.text()
        if not password:
            return
        if self.remember.isChecked() and self.credentials.available:
            self.credentials.store(name, password)
        else:
            self.session_passwords[name] = password

    def _known_password(self, name: str) -> str | None:
        try:
            return self.session_passwords.get(name) or self.credentials.load(name)
        except ConnectorError:
            return self.session_passwords.get(name)
