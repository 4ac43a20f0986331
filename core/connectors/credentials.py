"""Connection passwords in the system keyring (the ``keyring`` package), keyed by profile name.

Never in plain files. When no usable keyring exists (e.g. a headless session with
no Secret Service), ``available`` is False, ``reason`` says why, and callers fall
back to asking for the password each time it is needed.
"""

from __future__ import annotations

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from eventdeck.core.connectors.errors import ConnectorError

SERVICE = "eventdeck"


class CredentialStore:
    """Store, load and delete passwords by profile name."""

    def __init__(self, service: str = SERVICE, backend: KeyringBackend | None = None) -> None:
        self.service = service
        self._backend = backend or keyring.get_keyring()

    @property
    def available(self) -> bool:
        """True when a real keyring can keep passwords; otherwise ask each time."""
        return self._backend.priority > 0 and not _is_placeholder(self._backend)

    @property
    def ask_each_time(self) -> bool:
        return not self.available

    @property
    def reason(self) -> str:
        """Why passwords cannot be kept (empty when they can)."""
        if self.available:
            return ""
        name = type(self._backend).__module__ + "." + type(self._backend).__name__
        return (
            f"no usable system keyring (keyring backend {name}); passwords are not saved and will be asked "
            "each time. Install and unlock a keyring (e.g. GNOME Keyring, KWallet) to keep them."
        )

    def store(self, profile: str, password: str) -> None:
        if not self.available:
            raise ConnectorError(f"cannot save the password of {profile!r}: {self.reason}")
        try:
            self._backend.set_password(self.service, profile, password)
        except keyring.errors.KeyringError as exc:
            raise ConnectorError(f"the keyring did not save the password of {profile!r}: {exc}") from exc

    def load(self, profile: str) -> str | None:
        """The saved password, or None (none saved, or no keyring: ask the user)."""
        if not self.available:
            return None
        try:
            return self._backend.get_password(self.service, profile)
        except keyring.errors.KeyringError as exc:
            raise ConnectorError(f"the keyring did not give the password of {profile!r}: {exc}") from exc

    def delete(self, profile: str) -> bool:
        """Forget the saved password; False if there was none (or no keyring)."""
        if not self.available:
            return False
        try:
            self._backend.delete_password(self.service, profile)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringError as exc:
            raise ConnectorError(f"the keyring did not delete the password of {profile!r}: {exc}") from exc
        return True


def _is_placeholder(backend: KeyringBackend) -> bool:
    """keyring's 'fail' and 'null' backends stand in when nothing real is installed."""
    return type(backend).__module__ in ("keyring.backends.fail", "keyring.backends.null")
