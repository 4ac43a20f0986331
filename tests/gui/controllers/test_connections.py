"""The connection manager dialog: profiles saved without passwords, keyring or ask-each-time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from keyring.backend import KeyringBackend
from pytestqt.qtbot import QtBot

from eventdeck.core.connectors.credentials import CredentialStore
from eventdeck.core.connectors.profiles import Profile, ProfileStore
from eventdeck.gui.controllers.connections_dialog import ConnectionsDialog
from tests.core.connectors.keyring_support import MemoryKeyring


class NoKeyring(MemoryKeyring):
    priority = 0  # type: ignore[assignment]


@pytest.fixture
def store(tmp_path: Path) -> ProfileStore:
    return ProfileStore(tmp_path / "connections.json")


def make(qtbot: QtBot, store: ProfileStore, keyring: KeyringBackend) -> ConnectionsDialog:
    dialog = ConnectionsDialog(store, CredentialStore(backend=keyring))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_a_profile_is_saved_without_its_password_which_goes_to_the_keyring(
    qtbot: QtBot, store: ProfileStore, tmp_path: Path
) -> None:
    keyring = MemoryKeyring()
    dialog = make(qtbot, store, keyring)
    dialog.name.setText("local rabbit")
    dialog.kind.setCurrentIndex(dialog.kind.findData("amqp"))
    assert dialog.port.value() == 5672
    assert dialog.vhost.isVisible()
    dialog.username.setText("guest")
    dialog.password.setText("s3cret")
    dialog.remember.setChecked(True)
    requested: list[tuple[Any, Any]] = []
    dialog.connect_requested.connect(lambda profile, password: requested.append((profile, password)))
    dialog.connect_button.click()

    saved = json.loads((tmp_path / "connections.json").read_text())
    assert "s3cret" not in json.dumps(saved)
    assert saved["profiles"][0]["username"] == "guest"
    assert list(keyring.secrets.values()) == ["s3cret"]
    profile, password = requested[0]
    assert isinstance(profile, Profile)
    assert (profile.kind, profile.host, profile.port, password) == ("amqp", "127.0.0.1", 5672, "s3cret")

    again = make(qtbot, store, keyring)
    assert again.list.count() == 1
    assert again.password.text() == "s3cret"  # from the keyring


def test_without_a_keyring_passwords_are_asked_each_time(qtbot: QtBot, store: ProfileStore) -> None:
    dialog = make(qtbot, store, NoKeyring())
    assert not dialog.remember.isEnabled()
    assert "no usable system keyring" in dialog.remember.toolTip()
    dialog.name.setText("redis")
    dialog.kind.setCurrentIndex(dialog.kind.findData("redis"))
    dialog.password.setText("pw")
    dialog.save_profile()
    assert dialog.session_passwords == {"redis": "pw"}
    assert "pw" not in Path(store.path).read_text()


def test_bad_input_is_explained_and_nothing_is_saved(qtbot: QtBot, store: ProfileStore) -> None:
    dialog = make(qtbot, store, MemoryKeyring())
    dialog.name.setText("nowhere")
    dialog.host.clear()
    assert dialog.save_profile() is None
    assert "no host" in dialog.error.text()
    assert store.load() == []


def test_delete_and_embedded(qtbot: QtBot, store: ProfileStore) -> None:
    store.put(Profile("nats here", "nats", "127.0.0.1", 4222))
    dialog = make(qtbot, store, MemoryKeyring())
    assert dialog.list.count() == 1
    assert dialog.name.text() == "nats here"
    assert not dialog.vhost.isVisible()
    dialog.delete_profile()
    assert store.load() == []
    with qtbot.waitSignal(dialog.embedded_requested, timeout=1000):
        dialog.findChild(object, "connectionEmbedded").click()  # type: ignore[union-attr]
